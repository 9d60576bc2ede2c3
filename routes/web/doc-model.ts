// A tiny document model so every docs page renders to HTML (escaped) and to markdown from one source.
import type { ParamDoc } from '../../lib/actions/index.ts'
import { html, type Html } from './html.ts'

export type Block =
  | { h2: string; id?: string }
  | { h3: string; id?: string }
  | { p: string }
  | { code: string }
  | { list: string[] }
  | { links: [label: string, href: string][] }
  | { params: ParamDoc[] }
  | { table: { head: string[]; rows: string[][] } }

export interface Doc {
  title: string
  blocks: Block[]
}

/** `backticks` become <code>; everything is escaped. */
function inline(s: string): Html {
  return html`${s.split('`').map((part, i) => (i % 2 ? html`<code>${part}</code>` : part))}`
}

function blockHtml(b: Block): Html {
  if ('h2' in b) return b.id ? html`<h2 id="${b.id}">${inline(b.h2)}</h2>` : html`<h2>${inline(b.h2)}</h2>`
  if ('h3' in b) return b.id ? html`<h3 id="${b.id}">${inline(b.h3)}</h3>` : html`<h3>${inline(b.h3)}</h3>`
  if ('p' in b) return html`<p>${inline(b.p)}</p>`
  if ('code' in b) return html`<pre class="cmd"><code>${b.code}</code></pre>`
  if ('list' in b) return html`<ul>${b.list.map((i) => html`<li>${inline(i)}</li>`)}</ul>`
  if ('links' in b) return html`<ul class="links">${b.links.map(([l, href]) => html`<li><a href="${href}">${l}</a></li>`)}</ul>`
  if ('params' in b) {
    if (b.params.length === 0) return html`<p class="muted">No parameters.</p>`
    return html`<div class="scroll"><table class="params"><thead><tr><th>parameter</th><th>type</th><th>description</th></tr></thead><tbody>${b.params.map(
      (p) => html`<tr><td><code>${p.name}</code>${p.required ? html` <span class="req">required</span>` : ''}</td><td>${p.type}</td><td>${p.description}</td></tr>`,
    )}</tbody></table></div>`
  }
  return html`<div class="scroll"><table><thead><tr>${b.table.head.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${b.table.rows.map(
    (r) => html`<tr>${r.map((c) => html`<td>${inline(c)}</td>`)}</tr>`,
  )}</tbody></table></div>`
}

export const docHtml = (doc: Doc): Html => html`<article class="doc"><h1>${doc.title}</h1>${doc.blocks.map(blockHtml)}</article>`

function blockText(b: Block, base: string): string {
  if ('h2' in b) return `## ${b.h2}`
  if ('h3' in b) return `### ${b.h3}`
  if ('p' in b) return b.p
  if ('code' in b) return '```\n' + b.code + '\n```'
  if ('list' in b) return b.list.map((i) => `- ${i}`).join('\n')
  if ('links' in b) return b.links.map(([l, href]) => `- ${l}: ${href.startsWith('/') ? base + href : href}`).join('\n')
  if ('params' in b) {
    if (b.params.length === 0) return 'No parameters.'
    return b.params.map((p) => `- \`${p.name}\` (${p.type}${p.required ? ', required' : ''}): ${p.description}`).join('\n')
  }
  const row = (r: string[]) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`
  return [row(b.table.head), row(b.table.head.map(() => '---')), ...b.table.rows.map(row)].join('\n')
}

export const docText = (doc: Doc, base: string): string => [`# ${doc.title}`, ...doc.blocks.map((b) => blockText(b, base))].join('\n\n')
