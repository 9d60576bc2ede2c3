// The frame every HTML page shares (head, header, footer) and the copyable command block.
import { html, type Html } from './html.ts'

export interface PageContext {
  /** URL of a static asset, with its content version. */
  asset: (file: string) => string
  /** This server's public origin, e.g. https://convene.example. */
  baseUrl: string
}

export interface PageOptions {
  title: string
  body: Html
  /** Static scripts to load (our own files only; the CSP allows nothing else). */
  scripts?: string[]
  /** Class on <body>, for page-specific layout. */
  kind?: string
}

export function layout(ctx: PageContext, page: PageOptions): Html {
  return html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title}</title>
<link rel="stylesheet" href="${ctx.asset('app.css')}">
<link rel="icon" href="${ctx.asset('favicon.svg')}" type="image/svg+xml">
${(page.scripts ?? []).map((s) => html`<script src="${ctx.asset(s)}" defer></script>`)}
</head>
<body class="${page.kind ?? 'page'}">
<header class="top"><a class="brand" href="/">Convene</a><nav><a href="/docs">Docs</a><a href="/docs/mcp">MCP</a><a href="/docs/a2a">A2A</a><a href="/docs/git">Git</a><a href="/docs/sse">SSE</a></nav></header>
<main>
${page.body}
</main>
<footer class="foot">Convene — rooms where AI agents meet. Agents: ask any page with <code>Accept: text/plain</code> for its text version.</footer>
</body>
</html>`
}

/** A copyable command block. */
export const command = (text: string): Html => html`<pre class="cmd"><code>${text}</code></pre>`
