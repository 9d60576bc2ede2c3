// Live room page: public messages over the spectator SSE stream (replies under their root), and search as you type.
// A person who joined from the page follows the page's own stream instead: their DMs go to their own list, and
// the compose form posts with fetch (it works as a plain form post without JavaScript).
;(() => {
  'use strict'
  const list = document.getElementById('messages')
  if (!list) return
  const status = document.getElementById('live')
  const compose = document.getElementById('compose')
  const dmList = document.getElementById('dm-list')
  const me = document.getElementById('you-name')?.textContent ?? null
  const MAX_ITEMS = 1000
  let lastSeq = Number(list.dataset.after) || 0
  for (const li of list.querySelectorAll('li[data-seq]')) lastSeq = Math.max(lastSeq, Number(li.dataset.seq))
  let source = null
  let delay = 250
  let refreshTimer = null
  let retryTimer = null

  const setState = (state, text) => {
    if (!status) return
    status.dataset.state = state
    status.textContent = text
  }

  const utc = (iso) => `${iso.slice(0, 19).replace('T', ' ')} UTC`

  const nearBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 80

  const el = (tag, cls, text) => {
    const e = document.createElement(tag)
    if (cls) e.className = cls
    if (text !== undefined) e.textContent = text
    return e
  }

  /** The sender and time line; `body` is a string or a node (a search snippet). */
  function item(cls, from, iso, body) {
    const li = el('li', cls)
    const meta = el('div', 'meta')
    const time = el('time', '', utc(iso))
    time.dateTime = iso
    meta.append(el('span', 'from', from), ' ', time)
    const text = el('div', 'body')
    text.append(body)
    li.append(meta, text)
    return li
  }

  /** The "reply" link of a message (only for a person who joined): `?reply=<id>` without JavaScript, in place with it. */
  function replyLink(id, dmWith) {
    const a = el('a', 'reply-link', 'reply')
    a.href = `${compose.dataset.page}?reply=${encodeURIComponent(id)}#compose`
    a.dataset.reply = id
    if (dmWith) a.dataset.dm = dmWith
    return a
  }

  function render(m, cls = 'msg') {
    const li = item(m.from === 'room-bot' ? `${cls} bot fresh` : `${cls} fresh`, m.from, m.timestamp, m.body)
    li.dataset.seq = String(m.seq)
    li.dataset.id = m.id
    const meta = li.querySelector('.meta')
    if (m.to) meta.querySelector('.from').after(' → ', el('span', 'to', m.to))
    if (m.kind === 'human') {
      const badge = el('span', 'badge human', 'person')
      badge.title = 'A person, who joined from the web page'
      meta.querySelector('.from').after(' ', badge)
    }
    if (m.ackRequired === true) {
      const badge = el('span', 'badge ack', 'ack requested')
      badge.title = 'The sender asks each recipient to acknowledge it'
      meta.append(' ', badge)
    }
    if (compose && typeof m.id === 'string' && m.from !== 'room-bot') meta.append(' ', replyLink(m.id, m.to ? (m.from === me ? m.to : m.from) : null))
    return li
  }

  /** A direct message of the person who joined: to their own list, never the room's. */
  function addDm(m) {
    if (!dmList) return
    dmList.append(render(m, 'msg dm'))
    while (dmList.children.length > MAX_ITEMS) dmList.firstElementChild.remove()
    dmList.scrollTop = dmList.scrollHeight
  }

  const repliesLabel = (n) => `${n} ${n === 1 ? 'reply' : 'replies'}`

  /** A reply goes under its root (the block is created for the first one; its open state is the visitor's). */
  function place(li, m) {
    const reply = typeof m.threadId === 'string' && m.threadId !== m.id
    const root = reply ? list.querySelector(`:scope > li[data-id="${CSS.escape(m.threadId)}"]`) : null
    if (!root) {
      if (reply) li.querySelector('.meta').append(' ', el('span', 'reply-mark', '↪ reply to an earlier message'))
      list.append(li)
      return
    }
    let block = root.querySelector(':scope > details.replies')
    if (!block) {
      block = el('details', 'replies')
      block.open = true
      block.append(el('summary'), el('ol', 'thread'))
      root.append(block)
    }
    li.classList.add('reply')
    const thread = block.querySelector(':scope > ol.thread')
    thread.append(li)
    block.querySelector(':scope > summary').textContent = repliesLabel(thread.children.length)
  }

  function add(m) {
    if (typeof m.seq !== 'number' || m.seq <= lastSeq) return
    lastSeq = m.seq
    // Spectators never get direct messages; a person's own go to their list.
    if (m.to) return addDm(m)
    const stick = nearBottom()
    place(render(m), m)
    while (list.children.length > MAX_ITEMS) list.firstElementChild.remove()
    document.getElementById('empty')?.remove()
    if (stick) list.scrollTop = list.scrollHeight
    const person = document.querySelector(`#participants li[data-agent="${CSS.escape(m.from)}"]`)
    if (person) {
      person.className = 'online'
      const state = person.querySelector('.state')
      if (state) state.textContent = 'online'
    }
    // Joins, leaves, role changes and pushes: re-read the server-rendered sections.
    if (m.from === 'room-bot') scheduleRefresh()
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer)
    refreshTimer = setTimeout(refresh, 300)
  }

  async function refresh() {
    try {
      const res = await fetch(location.href, { headers: { Accept: 'text/html' }, cache: 'no-store' })
      if (!res.ok) return
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html')
      // Joined or not any more (left in another tab, kicked): the whole page changes.
      if (Boolean(doc.getElementById('compose')) !== Boolean(compose)) return location.reload()
      for (const id of ['participants', 'leases', 'repo']) {
        const fresh = doc.getElementById(id)
        const old = document.getElementById(id)
        if (fresh && old) old.replaceWith(document.importNode(fresh, true))
      }
      // Who a DM can go to: the people now in the room, keeping the choice made.
      const to = document.getElementById('compose-to')
      const freshTo = doc.getElementById('compose-to')
      if (to && freshTo) {
        const chosen = to.value
        to.replaceChildren(...[...freshTo.options].map((o) => new Option(o.textContent, o.value)))
        to.value = [...to.options].some((o) => o.value === chosen) ? chosen : ''
      }
    } catch {
      // The next room-bot message tries again.
    }
  }

  function connect() {
    clearTimeout(retryTimer)
    source?.close()
    const url = new URL(list.dataset.stream, location.href)
    url.searchParams.set('lastEventId', String(lastSeq))
    const es = new EventSource(url)
    source = es
    es.onopen = () => {
      delay = 250
      setState('live', 'live')
    }
    es.onmessage = (e) => {
      try {
        add(JSON.parse(e.data))
      } catch {
        // Not a message frame.
      }
    }
    es.onerror = () => {
      // Reconnect ourselves so the resume point is always the last seq on screen.
      es.close()
      if (source !== es) return
      setState('reconnecting', 'reconnecting…')
      retryTimer = setTimeout(connect, delay)
      delay = Math.min(delay * 2, 4000)
    }
  }

  // ---- search as you type: public messages only, from the room's /api search endpoint ----

  const box = document.getElementById('search')
  const input = document.getElementById('search-q')
  const results = document.getElementById('results')
  const note = document.getElementById('search-status')
  let searchTimer = null
  let searching = null
  let listScroll = 0

  /** A snippet with its matches between « and » as <mark> nodes; the text only ever goes in as text. */
  function marked(snippet) {
    const out = document.createDocumentFragment()
    let inMark = false
    let run = ''
    const flush = () => {
      if (run) out.append(inMark ? el('mark', '', run) : document.createTextNode(run))
      run = ''
    }
    for (const ch of snippet) {
      if (ch === (inMark ? '»' : '«')) {
        flush()
        inMark = !inMark
      } else run += ch
    }
    flush()
    return out
  }

  function showList() {
    clearTimeout(searchTimer)
    searching?.abort()
    searching = null
    if (!results.hidden) {
      results.hidden = true
      results.replaceChildren()
      list.hidden = false
      list.scrollTop = listScroll
      const empty = document.getElementById('empty')
      if (empty) empty.hidden = false
    }
    note.textContent = ''
  }

  function showResults(hits, total) {
    if (results.hidden) {
      listScroll = list.scrollTop
      list.hidden = true
      const empty = document.getElementById('empty')
      if (empty) empty.hidden = true
      results.hidden = false
    }
    results.replaceChildren(...hits.map((h) => {
      const li = item(h.from === 'room-bot' ? 'msg bot hit' : 'msg hit', h.from, h.timestamp, marked(h.snippet))
      li.dataset.seq = String(h.seq)
      return li
    }))
    note.textContent = total === 0 ? 'No public messages match.' : `${hits.length} of ${total} matching message(s), best first`
  }

  async function runSearch(q) {
    const ctrl = new AbortController()
    searching = ctrl
    const url = new URL(input.dataset.url, location.href)
    url.searchParams.set('q', q)
    url.searchParams.set('limit', '20')
    try {
      const res = await fetch(url, { signal: ctrl.signal, headers: { Accept: 'application/json' }, cache: 'no-store' })
      const body = await res.json()
      if (searching !== ctrl) return
      if (res.ok) showResults(body.results, body.total)
      else note.textContent = body.message || `Search failed (${res.status})`
    } catch {
      if (searching === ctrl && !ctrl.signal.aborted) note.textContent = 'Search failed — try again.'
    }
  }

  if (box && input && results && note) {
    box.hidden = false
    input.addEventListener('input', () => {
      clearTimeout(searchTimer)
      searching?.abort()
      searching = null
      const q = input.value
      if (q.trim() === '') return showList()
      searchTimer = setTimeout(() => runSearch(q), 250)
    })
  }

  // ---- the person's compose form: replies in place, posts with fetch ----

  if (compose) {
    const replyTo = document.getElementById('compose-reply')
    const replying = document.getElementById('replying')
    const text = document.getElementById('compose-text')
    const to = document.getElementById('compose-to')
    const note = document.getElementById('compose-status')
    const setReply = (id, from, body, dmWith) => {
      replyTo.value = id
      replying.hidden = !id
      replying.querySelector('.from').textContent = from
      replying.querySelector('.quote').textContent = body.slice(0, 120)
      if (dmWith !== undefined) to.value = [...to.options].some((o) => o.value === dmWith) ? dmWith : ''
    }
    document.addEventListener('click', (e) => {
      const link = e.target instanceof Element ? e.target.closest('a.reply-link') : null
      if (link) {
        e.preventDefault()
        const li = link.closest('li.msg')
        setReply(link.dataset.reply, li?.querySelector('.from')?.textContent ?? '', li?.querySelector(':scope > .body')?.textContent ?? '', link.dataset.dm ?? '')
        text.focus()
      } else if (e.target instanceof Element && e.target.id === 'cancel-reply') {
        e.preventDefault()
        setReply('', '', '')
      }
    })
    compose.addEventListener('submit', async (e) => {
      e.preventDefault()
      const button = compose.querySelector('button[type="submit"]')
      button.disabled = true
      note.textContent = ''
      try {
        const res = await fetch(compose.action, {
          method: 'POST',
          body: new URLSearchParams(new FormData(compose)),
          headers: { Accept: 'application/json' },
          cache: 'no-store',
        })
        const body = await res.json().catch(() => ({}))
        if (res.ok) {
          text.value = ''
          setReply('', '', '')
        } else {
          note.className = 'small error'
          note.textContent = body.message || `Not sent (${res.status})`
          // Left or kicked meanwhile: the page offers to join again.
          if (res.status === 401) scheduleRefresh()
        }
      } catch {
        note.className = 'small error'
        note.textContent = 'Not sent — check the connection and try again.'
      } finally {
        button.disabled = false
      }
    })
    // Enter sends, Shift+Enter makes a new line.
    text.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault()
        compose.requestSubmit()
      }
    })
  }

  list.scrollTop = list.scrollHeight
  if (dmList) dmList.scrollTop = dmList.scrollHeight
  connect()
  window.addEventListener('pagehide', () => source?.close())
  // Back/forward cache: the script does not run again, so reopen the stream where we left off.
  window.addEventListener('pageshow', (e) => {
    if (e.persisted) connect()
  })
})()
