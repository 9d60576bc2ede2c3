// The access-control matrix on every surface, with nothing leaked; and constant-time secret checks.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { a2a, createRoom, joinRoom, uniq, type TestServer } from '../helpers.ts'
import { connect } from '../mcp/helpers.ts'
import { SseClient, sseStatus } from '../realtime/sse-client.ts'
import { fullApp } from './server.ts'

const DM = `secret-dm-${Math.random().toString(36).slice(2)}`

async function world(srv: TestServer) {
  const p = await createRoom(srv, { password: 'pw', name: uniq('prot') })
  const bob = await joinRoom(srv, p.roomId, 'bob', { password: 'pw' })
  const carol = await joinRoom(srv, p.roomId, 'carol', { password: 'pw' })
  const dave = await joinRoom(srv, p.roomId, 'dave', { password: 'pw' })
  assert.equal((await a2a(srv, 'room.kick', { agentToken: p.token, targetAgent: 'carol' })).text, 'Kicked carol from the room')
  assert.equal((await a2a(srv, 'message.send', { agentToken: p.token, to: 'bob' }, { text: DM })).text, 'Message sent')
  const q = await createRoom(srv, { name: uniq('pub'), agentName: 'quinn' })
  const qb = await joinRoom(srv, q.roomId, 'quill')
  await a2a(srv, 'message.send', { agentToken: q.token, to: 'quill' }, { text: DM })
  return { p, bob, carol, dave, q, qb, secrets: [p.roomId, p.token, bob, carol, dave, q.token, qb, DM] }
}

/** The reply must not contain any secret except the ones `allowed`. */
function noLeak(body: string, secrets: string[], label: string, allowed: string[] = []) {
  for (const s of secrets) if (!allowed.includes(s)) assert.ok(!body.includes(s), `${label} leaks ${s.slice(0, 12)}…`)
}

test('access matrix over A2A: refused with the contract phrase, nothing leaked', async (t) => {
  const srv = await fullApp(t)
  const w = await world(srv)
  type Case = [label: string, action: string, params: Record<string, unknown>, ctx: string | undefined, phrase: RegExp]
  const TOKEN_ACTIONS = ['message.send', 'message.history', 'message.unread', 'message.wait', 'room.leave', 'room.promote', 'room.demote', 'room.kick', 'room.update']
  const extra: Record<string, Record<string, unknown>> = { 'message.send': { text: 'hi' }, 'room.promote': { targetAgent: 'dave' }, 'room.demote': { targetAgent: 'alice' }, 'room.kick': { targetAgent: 'dave' }, 'room.update': { description: 'x' }, 'message.wait': { timeout: 1 }, 'message.history': { roomId: w.p.roomId } }
  const cases: Case[] = []
  for (const action of TOKEN_ACTIONS) {
    cases.push([`${action} without a token`, action, { ...extra[action] }, w.p.roomId, /^Error: agentToken is required/])
    cases.push([`${action} with a kicked agent's token`, action, { ...extra[action], agentToken: w.carol }, w.p.roomId, /^Error: Invalid agentToken/])
    cases.push([`${action} with a made-up token`, action, { ...extra[action], agentToken: crypto.randomUUID() }, w.p.roomId, /^Error: Invalid agentToken/])
  }
  for (const action of ['room.promote', 'room.demote', 'room.kick', 'room.update']) {
    cases.push([`${action} as a member`, action, { ...extra[action], agentToken: w.dave }, w.p.roomId, /^Error: Admin role required/])
  }
  cases.push(['history with another room\'s token', 'message.history', { agentToken: w.q.token, roomId: w.p.roomId }, undefined, /^Error: agentToken does not belong to this room/])
  cases.push(['history of another room by name', 'message.history', { agentToken: w.dave, roomId: w.q.name }, undefined, /^Error: agentToken does not belong to this room/])
  cases.push(['join without the password', 'room.join', { agentName: 'eve' }, w.p.name, /^Error: Invalid room password/])
  cases.push(['join with a wrong password', 'room.join', { agentName: 'eve', password: 'nope' }, w.p.name, /^Error: Invalid room password/])
  cases.push(['join with a wrong name:password', 'room.join', { agentName: 'eve' }, `${w.p.name}:nope`, /^Error: Invalid room password/])
  cases.push(['info without the password', 'room.info', {}, w.p.name, /^Error: Invalid room password/])
  cases.push(['info with a wrong password', 'room.info', { password: 'PW' }, w.p.name, /^Error: Invalid room password/])
  cases.push(['reconnect as bob without his token', 'room.join', { agentName: 'bob', password: 'pw' }, w.p.name, /^Error: Agent name "bob" is already taken/])
  cases.push(['reconnect as bob with dave\'s token', 'room.join', { agentName: 'bob', password: 'pw', agentToken: w.dave }, w.p.name, /^Error: Agent name "bob" is already taken/])
  cases.push(['reconnect as bob with another room\'s token', 'room.join', { agentName: 'bob', password: 'pw', agentToken: w.q.token }, w.p.name, /^Error: Agent name "bob" is already taken/])
  cases.push(['create the protected name without a password', 'room.create', { agentName: 'eve', name: w.p.name }, undefined, /^Error: Password-protected room ".*" already exists/])
  cases.push(['create the protected name with its password', 'room.create', { agentName: 'eve', name: w.p.name, password: 'pw' }, undefined, /^Error: Room ".*" already exists/])
  cases.push(['info of an unknown UUID', 'room.info', {}, crypto.randomUUID(), /^Error: Room not found/])
  for (const [label, action, params, ctx, phrase] of cases) {
    const r = await a2a(srv, action, params, { contextId: ctx })
    assert.match(r.text, phrase, label)
    assert.ok(r.data.error?.code, `${label}: machine-readable code`)
    noLeak(JSON.stringify(r.raw), w.secrets, label, ctx ? [ctx] : []) // the caller's own contextId is echoed
  }
  // Reads that succeed still hide what they must.
  const list = await a2a(srv, 'room.list', { limit: 100, search: 'prot' })
  noLeak(JSON.stringify(list.raw), w.secrets, 'room.list')
  assert.ok(!JSON.stringify(list.raw).includes(w.p.name), 'protected rooms are not listed')
  for (const [who, token] of [['dave', w.dave], ['alice', w.p.token]] as const) {
    const h = await a2a(srv, 'message.history', { agentToken: token, roomId: w.p.roomId, limit: 100 })
    const u = await a2a(srv, 'message.unread', { agentToken: token, peek: true })
    if (who === 'dave') noLeak(JSON.stringify([h.raw, u.raw]), [DM], `${who}'s history/unread`)
    else assert.ok(JSON.stringify(h.raw).includes(DM), 'the sender sees its DM')
  }
  const info = await a2a(srv, 'room.info', {}, { contextId: w.q.roomId })
  noLeak(JSON.stringify(info.raw), w.secrets, 'public room.info', [])
  // A kicked agent cannot come back with its old token and no password.
  assert.match((await a2a(srv, 'room.join', { agentName: 'carol', agentToken: w.carol }, { contextId: w.p.name })).text, /^Error: Invalid room password/)
})

test('access matrix over MCP: session-bound tools refuse unjoined, kicked and non-admin callers', async (t) => {
  const srv = await fullApp(t, {}, true)
  const w = await world(srv)
  const anon = await connect(t, srv.url)
  for (const tool of ['sendMessage', 'messageHistory', 'unreadMessages', 'leaveRoom', 'promoteAgent', 'demoteAgent', 'kickAgent', 'updateRoom', 'waitForMessages']) {
    const r = await anon.call(tool, { text: 'x', targetAgent: 'bob', description: 'x', timeout: 1, roomId: w.p.roomId })
    assert.equal(r.isError, true, tool)
    assert.match((r.content[0] as { text: string }).text, /^Error: (Not joined to any room\. Call joinRoom first\.|agentToken is required)/, tool)
    noLeak(JSON.stringify(r), w.secrets, `mcp ${tool} unjoined`)
  }
  const refuse = async (c: Awaited<ReturnType<typeof connect>>, tool: string, args: Record<string, unknown>, phrase: RegExp, label: string) => {
    const r = await c.call(tool, args)
    assert.equal(r.isError, true, label)
    assert.match((r.content[0] as { text: string }).text, phrase, label)
    noLeak(JSON.stringify(r), w.secrets, label)
  }
  await refuse(anon, 'joinRoom', { roomId: w.p.name, agentName: 'eve' }, /^Error: Invalid room password/, 'mcp join without password')
  await refuse(anon, 'joinRoom', { roomId: `${w.p.name}:bad`, agentName: 'eve' }, /^Error: Invalid room password/, 'mcp join wrong password')
  await refuse(anon, 'joinRoom', { roomId: w.p.name, agentName: 'bob', password: 'pw', agentToken: w.dave }, /^Error: Agent name "bob" is already taken/, 'mcp reconnect with a wrong token')
  await refuse(anon, 'roomInfo', { roomId: w.p.name }, /^Error: Invalid room password/, 'mcp info without password')
  // A member (dave) where admin is needed.
  const dave = await connect(t, srv.url)
  assert.equal((await dave.call('joinRoom', { roomId: w.p.roomId, agentName: 'dave', agentToken: w.dave })).isError, undefined)
  for (const [tool, args] of [['promoteAgent', { targetAgent: 'bob' }], ['demoteAgent', { targetAgent: 'alice' }], ['kickAgent', { targetAgent: 'bob' }], ['updateRoom', { description: 'x' }]] as const) {
    await refuse(dave, tool, args, /^Error: Admin role required/, `mcp ${tool} as member`)
  }
  await refuse(dave, 'messageHistory', { roomId: w.q.roomId }, /^Error: agentToken does not belong to this room/, 'mcp history of another room')
  const hist = await dave.call('messageHistory', { limit: 100 })
  noLeak(JSON.stringify(hist), [DM], 'mcp dave history')
  // Kicked while joined: the session's token stops working.
  const bobSession = await connect(t, srv.url)
  await bobSession.call('joinRoom', { roomId: w.p.roomId, agentName: 'bob', agentToken: w.bob })
  assert.equal((await a2a(srv, 'room.kick', { agentToken: w.p.token, targetAgent: 'bob' })).text, 'Kicked bob from the room')
  await refuse(bobSession, 'sendMessage', { text: 'still here?' }, /^Error: Invalid agentToken/, 'mcp kicked agent sends')
  await refuse(bobSession, 'unreadMessages', {}, /^Error: (Invalid agentToken|Not joined to any room)/, 'mcp kicked agent reads')
})

test('access matrix over SSE, git and the web pages', async (t) => {
  const srv = await fullApp(t, {}, true)
  const w = await world(srv)
  const sse = (room: string, token?: string) => sseStatus(`${srv.url}/api/messages/${room}/sse${token ? `?agentToken=${token}` : ''}`)
  const cases: [string, Promise<{ status: number; body: any }>, number, RegExp][] = [
    ['sse no token', sse(w.p.roomId), 401, /agentToken is required/],
    ['sse kicked token', sse(w.p.roomId, w.carol), 401, /Invalid agentToken/],
    ['sse made-up token', sse(w.p.roomId, crypto.randomUUID()), 401, /Invalid agentToken/],
    ['sse other room token', sse(w.p.roomId, w.q.token), 403, /agentToken does not belong to this room/],
    ['sse other room by name', sse(w.q.name, w.dave), 403, /agentToken does not belong to this room/],
    ['sse unknown room', sse(crypto.randomUUID(), w.dave), 404, /Room not found/],
    ['public stream of a protected room, no password', sseStatus(`${srv.url}/api/rooms/${w.p.name}/stream`), 401, /password-protected/],
    ['public stream, wrong password', sseStatus(`${srv.url}/api/rooms/${w.p.name}:nope/stream`), 403, /Invalid room password/],
  ]
  for (const [label, p, status, phrase] of cases) {
    const r = await p
    assert.equal(r.status, status, `${label}: ${JSON.stringify(r.body)}`)
    assert.match(JSON.stringify(r.body), phrase, label)
    noLeak(JSON.stringify(r.body), w.secrets, label)
  }
  // Dave's live stream, the public stream: never the DM.
  const live = await SseClient.open(`${srv.url}/api/messages/${w.p.roomId}/sse?agentToken=${w.dave}&lastEventId=0`)
  t.after(() => live.close())
  const pub = await SseClient.open(`${srv.url}/api/rooms/${w.q.name}/stream?lastEventId=0`)
  t.after(() => pub.close())
  await a2a(srv, 'message.send', { agentToken: w.p.token, to: 'bob' }, { text: `${DM}-live` })
  await a2a(srv, 'message.send', { agentToken: w.q.token, to: 'quill' }, { text: `${DM}-live` })
  await a2a(srv, 'message.send', { agentToken: w.p.token }, { text: 'marker' })
  await a2a(srv, 'message.send', { agentToken: w.q.token }, { text: 'marker' })
  await live.until(() => JSON.stringify(live.events).includes('marker'), 5000, 'marker')
  await pub.until(() => JSON.stringify(pub.events).includes('marker'), 5000, 'marker')
  noLeak(JSON.stringify(live.events), [DM], 'dave sse')
  noLeak(JSON.stringify(pub.events), [DM, w.q.token, w.qb], 'public stream')

  // Git: 401 + WWW-Authenticate without credentials, 403 with a wrong password, 404 for unknown rooms.
  const basic = (pw: string) => ({ authorization: `Basic ${Buffer.from(`x:${pw}`).toString('base64')}` })
  for (const svc of ['git-upload-pack', 'git-receive-pack']) {
    for (const [label, path, headers, status] of [
      ['no credentials', `/rooms/${w.p.name}.git/info/refs?service=${svc}`, {}, 401],
      ['wrong password', `/rooms/${w.p.name}.git/info/refs?service=${svc}`, basic('nope'), 403],
      ['a token as password', `/rooms/${w.p.name}.git/info/refs?service=${svc}`, basic(w.p.token), 403],
      ['unknown room', `/rooms/${uniq('none')}.git/info/refs?service=${svc}`, {}, 404],
      ['unknown UUID', `/rooms/${crypto.randomUUID()}/info/refs?service=${svc}`, {}, 404],
    ] as const) {
      const r = await fetch(`${srv.url}${path}`, { headers })
      const body = await r.text()
      assert.equal(r.status, status, `git ${svc} ${label}`)
      if (status === 401) assert.match(r.headers.get('www-authenticate') ?? '', /^Basic /)
      noLeak(body, w.secrets, `git ${label}`)
    }
    const post = await fetch(`${srv.url}/rooms/${w.p.name}/${svc}`, { method: 'POST', headers: { 'content-type': `application/x-${svc}-request`, ...basic('nope') }, body: '0000' })
    assert.equal(post.status, 403, `git POST ${svc} wrong password`)
  }
  assert.equal((await fetch(`${srv.url}/rooms/${w.p.name}.git/info/refs?service=git-upload-pack`, { headers: basic('pw') })).status, 200)

  // Web: 401 without, 403 with a wrong password; no page shows a protected room's UUID, tokens or DMs.
  for (const accept of ['text/html', 'text/plain']) {
    const headers = { accept, 'user-agent': accept === 'text/html' ? 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120 Safari/537.36' : 'curl/8' }
    for (const [path, status] of [[`/${w.p.name}`, 401], [`/${w.p.name}:nope`, 403], [`/${w.p.name}?password=nope`, 403], ['/', 200], [`/${w.q.name}`, 200], ['/docs', 200]] as const) {
      const r = await fetch(`${srv.url}${path}`, { headers, redirect: 'manual' })
      const body = await r.text()
      assert.equal(r.status, status, `web ${path} (${accept})`)
      noLeak(body, w.secrets, `web ${path} (${accept})`)
      if (path === '/') assert.ok(!body.includes(w.p.name), 'the landing page does not list protected rooms')
    }
    const own = await fetch(`${srv.url}/${w.p.name}:pw`, { headers })
    assert.equal(own.status, 200)
    noLeak(await own.text(), w.secrets, 'protected page with its password', [w.p.roomId])
  }
})

test('secret checks are constant-time: digests and timingSafeEqual, no plain comparisons', () => {
  const src = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8')
  assert.match(src('lib/rooms/password.ts'), /timingSafeEqual\(key, expected\)/, 'passwords: scrypt then timingSafeEqual')
  assert.match(src('lib/ids.ts'), /timingSafeEqual\(a, b\)/, 'token digests compared with timingSafeEqual')
  assert.match(src('lib/ids.ts'), /createHash\('sha256'\)/, 'tokens are looked up by their SHA-256 digest')
  // (the per-instance cache is keyed by the digest too)
  assert.match(src('lib/rooms/context.ts'), /const digest = hashToken\(token\)[^\n]*\n[^]*this\.auth\.get\(digest\)[^]*agentByToken\(digest\)/, 'authentication looks the digest up, never the raw token')
  assert.match(src('db/agents.ts'), /WHERE a\.token_hash = \$1/, 'the store is queried by digest')
  // Nowhere is a token or password compared with ===/!== (which returns early on the first differing byte).
  const dir = (d: string) => readdirSync(new URL(`../../${d}`, import.meta.url)).filter((f) => f.endsWith('.ts')).map((f) => `${d}/${f}`)
  const files = [...dir('lib/rooms'), 'lib/ids.ts', ...dir('db'), 'routes/git/auth.ts', 'routes/git/index.ts', 'routes/sse/index.ts', 'routes/web/index.ts', 'routes/mcp/registry.ts', 'routes/mcp/session.ts']
  for (const f of files) {
    for (const line of src(f).split('\n')) {
      if (/\b(password|token|tokenHash|passwordHash|agentToken)\b\s*[!=]==\s*(?!null|undefined|'')[\w'"`]/i.test(line) || /[\w)\]]\s*[!=]==\s*\b(password|agentToken|tokenHash)\b/.test(line)) {
        assert.fail(`${f}: plain comparison of a secret: ${line.trim()}`)
      }
    }
  }
})
