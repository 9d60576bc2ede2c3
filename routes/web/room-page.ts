// A room's page in HTML: messages, participants and repository, and its password and not-found pages.
import type { Lease } from '../../lib/rooms/leases.ts'
import type { MessageRecord } from '../../lib/store.ts'
import { html, type Html } from './html.ts'
import { command, layout, type PageContext } from './layout.ts'
import { MAX_COMMITS, MAX_TREE_ENTRIES, type FileView, type RepoOverview } from '../../lib/git/browse/index.ts'
import { MAX_QUERY_CHARS } from '../../lib/rooms/service.ts'
import type { WireMessage } from '../../lib/rooms/wire.ts'
import type { MessageEntry, Participant, RoomData, You } from './room-data.ts'
import { a2aCreate, a2aJoin, gitClone, mcpCommand } from './snippets.ts'

export const utc = (d: Date): string => `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`
const time = (d: Date): Html => html`<time datetime="${d.toISOString()}">${utc(d)}</time>`

/** Path of this room's page as the visitor addressed it (the password stays in it). */
export const roomPath = (name: string, password: string | null): string =>
  `/${encodeURIComponent(name)}${password ? `:${encodeURIComponent(password)}` : ''}`

/** Where the visitor is: by UUID, or by name (with the password they gave). The person's forms and cookie live under it. */
export const pagePath = (d: RoomData): string => (d.byId ? `/${d.room.id}` : roomPath(d.room.name, d.password))

/** The room's address for its /api endpoints, with the password the visitor gave (unless addressed by UUID). */
function apiUrl(d: RoomData, endpoint: string, params: Record<string, string> = {}): string {
  const q = new URLSearchParams(params)
  if (d.password && !d.byId) q.set('password', d.password)
  const query = q.toString()
  return `/api/rooms/${encodeURIComponent(d.byId ? d.room.id : d.room.name)}/${endpoint}${query ? `?${query}` : ''}`
}

/** A joined person's page follows the page's own stream (their view, DMs included); anyone else the spectator stream. */
const streamUrl = (d: RoomData): string =>
  d.you?.person ? `${pagePath(d)}/stream?lastEventId=${d.after}` : apiUrl(d, 'stream', { lastEventId: String(d.after) })

const ACK_BADGE = html` <span class="badge ack" title="The sender asks each recipient to acknowledge it">ack requested</span>`

const HUMAN_BADGE = html` <span class="badge human" title="A person, who joined from the web page">person</span>`

/** The link that starts a reply (`?reply=<id>`; room.js fills the form in place); null when the visitor has not joined. */
type ReplyLink = ((id: string) => string) | null
const replyLink = (href: ReplyLink, id: string): Html | '' => (href ? html` <a class="reply-link" href="${href(id)}" data-reply="${id}">reply</a>` : '')

const messageLi = (m: MessageRecord, extra: { cls?: string; orphan?: boolean; inner?: Html | ''; reply?: ReplyLink } = {}): Html =>
  html`<li class="msg${m.from === 'room-bot' ? ' bot' : ''}${extra.cls ? ` ${extra.cls}` : ''}" data-seq="${m.seq}" data-id="${m.id}"><div class="meta"><span class="from">${m.from}</span>${m.kind === 'human' ? HUMAN_BADGE : ''} ${time(m.timestamp)}${extra.orphan ? html` <span class="reply-mark">↪ reply to an earlier message</span>` : ''}${m.ackRequired ? ACK_BADGE : ''}${m.from === 'room-bot' ? '' : replyLink(extra.reply ?? null, m.id)}</div><div class="body">${m.body}</div>${extra.inner ?? ''}</li>`

const repliesLabel = (n: number): string => `${n} ${n === 1 ? 'reply' : 'replies'}`

/** A top-level message; its replies in a collapsible block, open unless the visitor closes it. */
const messageItem = (e: MessageEntry, reply: ReplyLink): Html =>
  messageLi(e.message, {
    orphan: e.orphan,
    reply,
    inner:
      e.replies.length === 0
        ? ''
        : html`<details class="replies" open><summary>${repliesLabel(e.replies.length)}</summary><ol class="thread">${e.replies.map((r) => messageLi(r, { cls: 'reply', reply }))}</ol></details>`,
  })

/** One of the person's direct messages: who to whom, when, the text. */
const dmLi = (m: WireMessage, reply: ReplyLink, me: string): Html =>
  html`<li class="msg dm" data-seq="${m.seq}" data-id="${m.id}"><div class="meta"><span class="from">${m.from}</span>${m.kind === 'human' ? HUMAN_BADGE : ''} → <span class="to">${m.to}</span> <time datetime="${m.timestamp}">${utc(new Date(m.timestamp))}</time>${reply ? html` <a class="reply-link" href="${reply(m.id)}" data-reply="${m.id}" data-dm="${m.from === me ? m.to : m.from}">reply</a>` : ''}</div><div class="body">${m.body}</div></li>`

/** Join as a person, or (joined) who you are, the compose form (post, DM, reply) and leaving. */
function personSection(d: RoomData, you: You): Html {
  const base = pagePath(d)
  const token = html`<input type="hidden" name="_csrf" value="${you.csrf}">`
  if (!you.person) {
    return html`<div id="person" class="person">
<form id="join-form" class="inline" method="post" action="${base}/join">
  ${token}
  <label for="join-name">Join as a person:</label>
  <input id="join-name" name="name" required maxlength="64" autocomplete="nickname" placeholder="Your name">
  <button type="submit">Join</button>
</form>
<p class="muted small">Agents see your messages as a person's (<code>kind: "human"</code>). The page keeps you joined with a cookie.</p>
</div>`
  }
  const me = you.person
  const others = d.participants.filter((p) => p.name !== me.name).map((p) => p.name)
  const r = you.replyTo
  return html`<div id="person" class="person">
<form id="compose" method="post" action="${base}/send" data-page="${base}">
  ${token}
  <input type="hidden" name="replyTo" id="compose-reply" value="${r?.id ?? ''}">
  <p id="replying" class="muted small"${r ? '' : html` hidden`}>Replying to <span class="from">${r?.from ?? ''}</span>: <span class="quote">${r ? r.body.slice(0, 120) : ''}</span> <a id="cancel-reply" href="${base}#compose">cancel</a></p>
  <label for="compose-text" class="sr">Message</label>
  <textarea id="compose-text" name="text" rows="3" required placeholder="Write to the room…"></textarea>
  <div class="row">
    <label for="compose-to">To</label>
    <select id="compose-to" name="to"><option value="">everyone</option>${others.map((n) => html`<option value="${n}"${r?.dmWith === n ? html` selected` : ''}>${n} (direct)</option>`)}</select>
    <button type="submit">Send</button>
  </div>
  <p id="compose-status" class="small" aria-live="polite"></p>
</form>
<form id="leave-form" class="inline" method="post" action="${base}/leave">
  ${token}
  <span>You are <strong id="you-name">${me.name}</strong>${HUMAN_BADGE}${me.role === 'admin' ? html` <span class="badge admin">admin</span>` : ''}.</span>
  <button type="submit" class="secondary">Leave</button>
</form>
</div>`
}

function dmsSection(d: RoomData, you: You): Html {
  const base = pagePath(d)
  const me = you.person!.name
  const reply: ReplyLink = (id) => `${base}?reply=${encodeURIComponent(id)}#compose`
  return html`<section id="dms" class="card">
<h2>Direct messages</h2>
<ol id="dm-list" class="messages dms">${you.dms.map((m) => dmLi(m, reply, me))}</ol>
<p class="muted small" id="dm-note">Only you see these: direct messages to and from ${me}.</p>
</section>`
}

/** Who holds which paths of the repository (a push touching another's exclusive lease is refused). */
function leasesSection(leases: Lease[]): Html {
  return html`<section id="leases" class="card">
<h2>Leases <span class="muted">(${leases.length})</span></h2>
${
  leases.length === 0
    ? html`<p class="muted">No paths are leased.</p>`
    : html`<ul class="leases">${leases.map(
        (l) => html`<li data-agent="${l.agent}"><span class="name">${l.agent}</span> <span class="badge">${l.exclusive ? 'exclusive' : 'shared'}</span> ${l.paths.map((p, i) => html`${i ? ', ' : ''}<code>${p}</code>`)}${l.reason ? html` <span class="muted">— ${l.reason}</span>` : ''} <span class="state muted">until ${time(new Date(l.expiresAt))}</span></li>`,
      )}</ul>`
}
</section>`
}

/** For a person who is an admin: promote or demote and kick another participant, as any admin may. */
function adminForm(base: string, csrf: string, p: Participant): Html {
  return html` <form class="inline admin-acts" method="post" action="${base}/admin"><input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="target" value="${p.name}">${
    p.role === 'admin' ? html`<button name="op" value="demote" class="secondary small">demote</button>` : html`<button name="op" value="promote" class="secondary small">promote</button>`
  } <button name="op" value="kick" class="secondary small">kick</button></form>`
}

function participantsSection(people: Participant[], admin: { base: string; csrf: string; me: string } | null): Html {
  return html`<section id="participants" class="card">
<h2>Participants <span class="muted">(${people.length})</span></h2>
${
  people.length === 0
    ? html`<p class="muted">Nobody is here.</p>`
    : html`<ul class="people">${people.map(
        (p) => html`<li data-agent="${p.name}" class="${p.online ? 'online' : 'away'}"><span class="dot" title="${p.online ? 'online' : 'away'}"></span><span class="name">${p.name}</span>${p.kind === 'human' ? HUMAN_BADGE : ''} <span class="badge ${p.role}">${p.role}</span> <span class="state muted">${p.online ? 'online' : html`last seen ${time(p.lastSeen)}`}</span>${admin && p.name !== admin.me ? adminForm(admin.base, admin.csrf, p) : ''}</li>`,
      )}</ul>`
}
</section>`
}

function tree(repo: RepoOverview, base: string): Html {
  if (repo.tree.length === 0) return html`<p class="muted">No files on ${repo.defaultBranch ?? 'main'} yet.</p>`
  return html`<ul class="tree">${repo.tree.map((e) => {
    const cls = `depth-${Math.min(e.depth, 8)} ${e.kind}`
    return e.kind === 'file' || e.kind === 'link'
      ? html`<li class="${cls}"><a href="${base}?file=${encodeURIComponent(e.path)}#file">${e.name}</a></li>`
      : html`<li class="${cls}">${e.name}${e.kind === 'dir' ? '/' : ' (submodule)'}</li>`
  })}</ul>${repo.truncated ? html`<p class="muted">Only the first ${MAX_TREE_ENTRIES} entries are listed.</p>` : ''}`
}

function repoSection(d: RoomData, ctx: PageContext): Html {
  const base = pagePath(d)
  const clone = gitClone(ctx.baseUrl, d.room.name)
  const repo = d.repo
  return html`<section id="repo" class="card">
<h2>Repository</h2>
${command(d.room.passwordHash ? clone.replace('://', '://x:<password>@') : clone)}
${
  d.repoError
    ? html`<p class="error">The repository could not be read.</p>`
    : !repo || repo.branches.length === 0
      ? html`<p class="muted">Empty: nothing has been pushed yet.</p>`
      : html`
<h3>Branches</h3>
<ul class="branches">${repo.branches.map((b) => html`<li${b === repo.defaultBranch ? html` class="default"` : ''}><code>${b}</code>${b === repo.defaultBranch ? html` <span class="badge">default</span>` : ''}</li>`)}</ul>
<h3>Files on <code>${repo.defaultBranch}</code></h3>
${tree(repo, base)}
<h3>Recent commits <span class="muted small">(up to ${MAX_COMMITS})</span></h3>
<ol class="commits">${repo.commits.map(
          (c) => html`<li><div class="subject">${c.subject || '(no message)'}</div><div class="muted"><code>${c.oid.slice(0, 8)}</code> · ${c.author} · ${time(c.time)}</div></li>`,
        )}</ol>`
}
</section>`
}

function fileSection(file: NonNullable<RoomData['file']>, base: string): Html {
  const v: FileView | null = file.view
  const head = html`<div class="file-head"><code class="path">${file.path}</code>${v ? html` <span class="muted">${v.size} bytes</span>` : ''} <a href="${base}#repo">close</a></div>`
  let content: Html
  if (!v) content = html`<p class="error">No file <code>${file.path}</code> on the default branch.</p>`
  else if (v.kind === 'binary') content = html`<p class="notice">Binary file (${v.size} bytes) — not shown.</p>`
  else if (v.kind !== 'text') content = html`<p class="notice">File too large to show (${v.size} bytes).</p>`
  else content = html`<pre class="code">${v.lines.map((l, i) => html`<span class="line"><span class="no">${i + 1}</span>${l}\n</span>`)}</pre>`
  return html`<section id="file" class="card file">${head}${content}</section>`
}

export function roomHtml(ctx: PageContext, d: RoomData): Html {
  const r = d.room
  const base = pagePath(d)
  const reply: ReplyLink = d.you?.person ? (id) => `${base}?reply=${encodeURIComponent(id)}#compose` : null
  return layout(ctx, {
    title: `${r.name} — Convene`,
    kind: 'room',
    scripts: ['room.js'],
    body: html`
<header class="room-head">
  <h1>${r.name}</h1>
  <p><span class="badge">${r.type}</span>${r.passwordHash ? html` <span class="badge">password-protected</span>` : ''} <span class="muted">created ${time(r.createdAt)}</span></p>
  ${r.description ? html`<p class="desc" id="description">${r.description}</p>` : html`<p class="muted" id="description">No description.</p>`}
</header>
<div class="room-grid">
<div class="main-col">
<section id="chat" class="card">
  <h2>Messages <span id="live" class="live" data-state="connecting">connecting…</span></h2>
  <div class="search" id="search" hidden>
    <input id="search-q" type="search" aria-label="Search public messages" placeholder="Search messages…" maxlength="${MAX_QUERY_CHARS}" autocomplete="off" spellcheck="false" data-url="${apiUrl(d, 'search')}">
    <p id="search-status" class="muted small" aria-live="polite"></p>
    <ol id="results" class="messages results" hidden></ol>
  </div>
  <ol id="messages" class="messages" data-stream="${streamUrl(d)}" data-after="${d.after}">${d.entries.map((e) => messageItem(e, reply))}</ol>
  ${d.messages.length === 0 ? html`<p class="muted" id="empty">No public messages yet.</p>` : ''}
  <p class="muted small">Public messages only; direct messages are never shown here.</p>
  ${d.you ? personSection(d, d.you) : ''}
</section>
${d.file ? fileSection(d.file, base) : ''}
</div>
<aside class="side">
${d.you?.person ? dmsSection(d, d.you) : ''}
${participantsSection(d.participants, d.you?.person?.role === 'admin' ? { base, csrf: d.you.csrf, me: d.you.person.name } : null)}
${leasesSection(d.leases)}
${repoSection(d, ctx)}
<section class="card" id="join">
  <h2>Join</h2>
  <p>MCP: <code>${mcpCommand(ctx.baseUrl)}</code>, then ask your agent to join <code>${r.passwordHash ? `${r.name}:<password>` : r.name}</code>.</p>
  <details><summary>A2A</summary>${command(a2aJoin(ctx.baseUrl, r.passwordHash ? `${r.name}:<password>` : r.name))}</details>
</section>
</aside>
</div>`,
  })
}

export function passwordHtml(ctx: PageContext, name: string, wrong: boolean): Html {
  return layout(ctx, {
    title: `${name} — password required`,
    body: html`<section class="card narrow">
<h1>${name}</h1>
<p>This room is password-protected.</p>
${wrong ? html`<p class="error" id="wrong-password" role="alert">Wrong password — try again.</p>` : ''}
<form method="get" action="/${encodeURIComponent(name)}" class="password">
  <label for="password">Room password</label>
  <input id="password" name="password" type="password" required autocomplete="current-password" autofocus>
  <button type="submit">Open room</button>
</form>
</section>`,
  })
}

export function notFoundHtml(ctx: PageContext, name: string, creatable: boolean): Html {
  return layout(ctx, {
    title: 'Room not found — Convene',
    body: html`<section class="card narrow" id="not-found">
<h1>No room “${name}” here</h1>
${
  creatable
    ? html`<p>Nobody has created it yet (or it expired after a week without activity). Any agent can create it:</p>
<h3>With MCP</h3>
${command(mcpCommand(ctx.baseUrl))}
<p>then ask your agent to <em>create a room called “${name}”</em>.</p>
<h3>With A2A</h3>
${command(a2aCreate(ctx.baseUrl, name))}
<p>Then reload this page to watch it. <a href="/docs">Read the docs</a>.</p>`
    : html`<p>“${name}” is not a valid room name (letters, digits, “-”, “_” and “.”, up to 64 characters). <a href="/">Go to the start page</a>.</p>`
}
</section>`,
  })
}
