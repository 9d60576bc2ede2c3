// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
// The website over plain HTTP: content negotiation, generated docs, security and caching headers, error pages.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACTIONS, documentation } from '../../lib/actions/index.ts'
import { a2a, createRoom, joinRoom, uniq } from '../helpers.ts'
import { BROWSER, webServer } from './server.ts'

const CURL = { 'user-agent': 'curl/8.5.0', accept: '*/*' }

test('landing page: what it is, how to connect with this server’s BASE_URL, live counts', async (t) => {
  const s = await webServer(t, { listen: false, overrides: { baseUrl: 'https://convene.example' } })
  const before = await s.app.inject({ url: '/', headers: BROWSER })
  assert.equal(before.statusCode, 200)
  assert.match(before.headers['content-type'] as string, /^text\/html/)
  assert.match(before.body, /claude mcp add --transport http convene https:\/\/convene\.example\/mcp/)
  assert.match(before.body, /curl -s https:\/\/convene\.example\/a2a/)
  assert.match(before.body, /git clone https:\/\/convene\.example\/rooms\/my-room/)
  const rooms = (s: string) => Number(/<strong>(\d+)<\/strong> rooms/.exec(s)?.[1])
  const n = rooms(before.body)
  const name = uniq('landing')
  await createRoom(s, { name })
  const after = await s.app.inject({ url: '/', headers: BROWSER })
  assert.ok(rooms(after.body) >= n + 1, 'the new room is counted')
  // The page lists the first public rooms by name (on a shared database, other tests' rooms may come first).
  const listed = (await a2a(s, 'room.list', { limit: 12 })).data.rooms as { name: string }[]
  assert.ok(listed.length > 0)
  for (const r of listed) assert.match(after.body, new RegExp(`href="/${r.name}"`))
  const text = await s.app.inject({ url: '/', headers: CURL })
  assert.match(text.headers['content-type'] as string, /^text\/plain/)
  assert.match(text.body, /^# Convene/)
  assert.match(text.body, /convene https:\/\/convene\.example\/mcp/)
})

test('docs are generated from the action table: every action, alias, tool and parameter, on every format', async (t) => {
  const s = await webServer(t, { listen: false })
  const page = await s.app.inject({ url: '/docs', headers: BROWSER })
  const text = await s.app.inject({ url: '/docs', headers: CURL })
  assert.equal(page.statusCode, 200)
  for (const d of documentation(ACTIONS)) {
    for (const body of [page.body, text.body]) {
      assert.ok(body.includes(d.action), d.action)
      assert.ok(body.includes(d.alias), d.alias)
      if (d.tool) assert.ok(body.includes(d.tool), d.tool)
      for (const p of d.params) assert.ok(body.includes(p.name), `${d.action}.${p.name}`)
    }
    assert.ok(page.body.includes(`id="${d.action}"`), `anchor for ${d.action}`)
  }
  for (const sub of ['mcp', 'a2a', 'git', 'sse']) {
    const r = await s.app.inject({ url: `/docs/${sub}`, headers: BROWSER })
    assert.equal(r.statusCode, 200, sub)
    assert.match(r.body, /<article class="doc">/)
    const md = await s.app.inject({ url: `/docs/${sub}`, headers: { ...CURL, accept: 'text/markdown' } })
    assert.match(md.headers['content-type'] as string, /^text\/markdown/)
    assert.match(md.body, /^# /)
  }
  // MCP tools show what MCP clients send: no agentToken where the session holds it, no push endpoint.
  const mcp = (await s.app.inject({ url: '/docs/mcp', headers: CURL })).body
  const send = mcp.slice(mcp.indexOf('### sendMessage'), mcp.indexOf('###', mcp.indexOf('### sendMessage') + 3))
  assert.match(send, /`text`/)
  assert.doesNotMatch(send, /agentToken/)
  assert.doesNotMatch(mcp, /agentEndpoint/)
  const a2aDocs = (await s.app.inject({ url: '/docs/a2a', headers: CURL })).body
  assert.match(a2aDocs, /agentEndpoint/)
  assert.equal((await s.app.inject({ url: '/docs/nope', headers: BROWSER })).statusCode, 404)
})

test('docs describe threads, mentions, search and receipts with one A2A call each, every body valid JSON', async (t) => {
  const s = await webServer(t, { listen: false })
  const md = (await s.app.inject({ url: '/docs', headers: { ...CURL, accept: 'text/markdown' } })).body
  const section = md.slice(md.indexOf('## Threads, mentions, search and receipts'))
  assert.ok(section.length > 0 && section.includes('ackRequired') && section.includes('awaitingAck'))
  const calls = [...section.matchAll(/-d '(\{.*\})'/g)].map((m) => JSON.parse(m[1]).params.message.metadata)
  assert.deepEqual(calls.map((c) => c.action), ['message.send', 'message.wait', 'message.search', 'message.status'])
  assert.ok(calls[0].replyTo && calls[1].mentionsOnly === true && calls[3].messageId)
})

test('security headers: a CSP that allows only our own scripts; HTML is never cached, static files are', async (t) => {
  const s = await webServer(t, { listen: false })
  const r = await s.app.inject({ url: '/', headers: BROWSER })
  const csp = r.headers['content-security-policy'] as string
  assert.match(csp, /script-src 'self'(;|$)/)
  assert.match(csp, /script-src-attr 'none'/)
  assert.match(csp, /object-src 'none'/)
  assert.match(csp, /frame-ancestors 'none'/)
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/)
  assert.equal(r.headers['x-content-type-options'], 'nosniff')
  assert.equal(r.headers['cache-control'], 'no-store')
  const script = /<link rel="stylesheet" href="([^"]+)"/.exec(r.body)![1]
  const css = await s.app.inject({ url: script })
  assert.equal(css.statusCode, 200)
  assert.match(css.headers['content-type'] as string, /^text\/css/)
  assert.equal(css.headers['cache-control'], 'public, max-age=31536000, immutable')
  const plain = await s.app.inject({ url: '/static/room.js' })
  assert.match(plain.headers['cache-control'] as string, /max-age=300/)
  const again = await s.app.inject({ url: '/static/room.js', headers: { 'if-none-match': plain.headers.etag as string } })
  assert.equal(again.statusCode, 304)
  assert.equal((await s.app.inject({ url: '/static/nope.js' })).statusCode, 404)
  // Only the website carries the web CSP; the APIs keep their own headers.
  const card = await s.app.inject({ url: '/.well-known/agent-card.json' })
  assert.equal(card.headers['content-security-policy'], undefined)
})

test('room page for agents: markdown with participants and public messages, never DMs', async (t) => {
  const s = await webServer(t, { listen: false })
  const { roomId, token, name } = await createRoom(s, { description: 'Build a <b>parser</b>' })
  await joinRoom(s, roomId, 'bob')
  await a2a(s, 'message.send', { agentToken: token, to: 'bob' }, { contextId: roomId, text: 'secret-dm-text' })
  await a2a(s, 'message.send', { agentToken: token }, { contextId: roomId, text: 'public hello' })
  for (const headers of [CURL, { ...BROWSER, accept: 'application/json' }, { ...BROWSER, accept: 'text/plain' }]) {
    const r = await s.app.inject({ url: `/${name}`, headers })
    assert.equal(r.statusCode, 200)
    assert.match(r.headers['content-type'] as string, /^text\/plain/)
    assert.match(r.body, new RegExp(`^# Room ${name}`))
    assert.match(r.body, /Build a <b>parser<\/b>/)
    assert.match(r.body, /- alice \(admin, online\)/)
    assert.match(r.body, /- bob \(member, online\)/)
    assert.match(r.body, /alice: public hello/)
    assert.doesNotMatch(r.body, /secret-dm-text/)
  }
  const page = await s.app.inject({ url: `/${name}`, headers: BROWSER })
  assert.match(page.body, /public hello/)
  assert.doesNotMatch(page.body, /secret-dm-text/)
  assert.match(page.body, /Build a &lt;b&gt;parser&lt;\/b&gt;/)
})

test('unknown rooms get a friendly 404 explaining how to create them; protected rooms ask for the password', async (t) => {
  const s = await webServer(t, { listen: false })
  const missing = uniq('nobody')
  const html = await s.app.inject({ url: `/${missing}`, headers: BROWSER })
  assert.equal(html.statusCode, 404)
  assert.match(html.body, /No room “/)
  assert.match(html.body, new RegExp(`room.create.*agentName`))
  assert.ok(html.body.includes(`&quot;text&quot;:&quot;${missing}&quot;`))
  const text = await s.app.inject({ url: `/${missing}`, headers: CURL })
  assert.equal(text.statusCode, 404)
  assert.match(text.body, new RegExp(`^Room not found: ${missing}`))
  assert.match(text.body, /createRoom/)
  const bad = await s.app.inject({ url: '/not%20a%20name', headers: BROWSER })
  assert.equal(bad.statusCode, 404)
  assert.match(bad.body, /not a valid room name/)

  const { name } = await createRoom(s, { password: 'pa:ss/wd' })
  const ask = await s.app.inject({ url: `/${name}`, headers: BROWSER })
  assert.equal(ask.statusCode, 401)
  assert.match(ask.body, /<form method="get"/)
  assert.doesNotMatch(ask.body, /Wrong password/)
  const wrong = await s.app.inject({ url: `/${name}?password=nope`, headers: BROWSER })
  assert.equal(wrong.statusCode, 403)
  assert.match(wrong.body, /Wrong password/)
  const right = await s.app.inject({ url: `/${name}?password=${encodeURIComponent('pa:ss/wd')}`, headers: BROWSER })
  assert.equal(right.statusCode, 303)
  assert.equal(right.headers.location, `/${name}:${encodeURIComponent('pa:ss/wd')}`)
  const room = await s.app.inject({ url: right.headers.location as string, headers: BROWSER })
  assert.equal(room.statusCode, 200)
  assert.match(room.body, /password-protected/)
  assert.match(room.body, /data-stream="\/api\/rooms\/[^"?]+\/stream\?lastEventId=\d+&amp;password=pa%3Ass%2Fwd"/)
  const agentAsk = await s.app.inject({ url: `/${name}:wrong`, headers: CURL })
  assert.equal(agentAsk.statusCode, 403)
  assert.match(agentAsk.body, /Error: Invalid room password/)
})

test('the website answers 404 when PROTOCOLS leaves it out', async (t) => {
  const { startApp } = await import('../helpers.ts')
  const s = await startApp(t, { protocols: ['a2a'] }, { listen: false })
  assert.equal((await s.app.inject({ url: '/docs', headers: BROWSER })).statusCode, 404)
  assert.equal((await s.app.inject({ url: '/', headers: BROWSER })).statusCode, 404)
})
