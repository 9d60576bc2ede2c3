// Live room page: public messages over the spectator SSE stream, resumed from the last rendered seq.
;(() => {
  'use strict'
  const list = document.getElementById('messages')
  if (!list) return
  const status = document.getElementById('live')
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

  function render(m) {
    const li = document.createElement('li')
    li.className = m.from === 'room-bot' ? 'msg bot fresh' : 'msg fresh'
    li.dataset.seq = String(m.seq)
    const meta = document.createElement('div')
    meta.className = 'meta'
    const from = document.createElement('span')
    from.className = 'from'
    from.textContent = m.from
    const time = document.createElement('time')
    time.dateTime = m.timestamp
    time.textContent = utc(m.timestamp)
    meta.append(from, ' ', time)
    const body = document.createElement('div')
    body.className = 'body'
    body.textContent = m.body
    li.append(meta, body)
    return li
  }

  function add(m) {
    // Spectators never get direct messages; drop anything addressed, and anything already shown.
    if (typeof m.seq !== 'number' || m.seq <= lastSeq || m.to) return
    lastSeq = m.seq
    const stick = nearBottom()
    list.append(render(m))
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
      for (const id of ['participants', 'repo']) {
        const fresh = doc.getElementById(id)
        const old = document.getElementById(id)
        if (fresh && old) old.replaceWith(document.importNode(fresh, true))
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

  list.scrollTop = list.scrollHeight
  connect()
  window.addEventListener('pagehide', () => source?.close())
  // Back/forward cache: the script does not run again, so reopen the stream where we left off.
  window.addEventListener('pageshow', (e) => {
    if (e.persisted) connect()
  })
})()
