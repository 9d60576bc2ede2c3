import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { buildApp } from '../../app.ts'
import { a2a, DATABASE_URL, startApp, testConfig, uniq } from '../helpers.ts'
import { connect, post, rawSession, rawTool, request, sseReader, text } from './helpers.ts'

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise((r) => s.close(r))
  return port
}

/** Starts the app on a fixed port (for restarts the client does not notice). */
async function listenOn(t: import('node:test').TestContext, config: Awaited<ReturnType<typeof testConfig>>, port: number) {
  const app = await buildApp(config, { logger: false })
  t.after(() => app.close())
  await app.listen({ port, host: '127.0.0.1' })
  return { app, url: `http://127.0.0.1:${port}`, config }
}

test('a session survives a server restart: same id, same agent, GET stream resumes', async (t) => {
  const config = await testConfig(t)
  const port = await freePort()
  const first = await listenOn(t, config, port)
  const a = await connect(t, first.url)
  const name = uniq()
  const created = await a.call('createRoom', { agentName: 'alice', name })
  const sid = a.transport.sessionId
  const bob = await a2a(first, 'room.join', { agentName: 'bob' }, { contextId: name })
  await a2a(first, 'message.send', { agentToken: bob.data.agentToken }, { text: 'before', contextId: created.json.roomId })
  await a.nextNote((n) => n.data.body === 'before', 2000)
  await first.app.close()

  const second = await listenOn(t, config, port)
  await a2a(second, 'message.send', { agentToken: bob.data.agentToken }, { text: 'while away', contextId: created.json.roomId })
  // the client's GET stream reconnects with Last-Event-ID and gets what it missed, once
  await a.nextNote((n) => n.data.body === 'while away', 5000)
  const r = await a.call('sendMessage', { text: 'still alice' })
  assert.ok(!r.isError, text(r))
  assert.equal(a.transport.sessionId, sid)
  await a2a(second, 'message.send', { agentToken: bob.data.agentToken }, { text: 'after' }, )
    .catch(() => {})
  const history = await a.call('messageHistory')
  assert.ok(history.json.messages.some((m: any) => m.body === 'still alice' && m.from === 'alice'))
  assert.equal(a.notes.filter((n) => n.data.body === 'while away').length, 1)
})

test('after a restart, Last-Event-ID replays events produced while no instance held the session', async (t) => {
  const config = await testConfig(t)
  const port = await freePort()
  const first = await listenOn(t, config, port)
  const sid = await rawSession(first.url)
  const name = uniq()
  const alice = await a2a(first, 'room.create', { agentName: 'alice', name })
  await rawTool(first.url, sid, 'joinRoom', { roomId: name, agentName: 'bob' })
  const headers = { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' }
  const s1 = sseReader(await fetch(`${first.url}/mcp`, { headers }))
  await a2a(first, 'message.send', { agentToken: alice.data.agentToken }, { text: 'm1', contextId: alice.data.roomId })
  const e1 = await s1.next()
  assert.equal(JSON.parse(e1.data).params.data.body, 'm1')
  await s1.cancel()
  await first.app.close()

  const second = await listenOn(t, config, port)
  await a2a(second, 'message.send', { agentToken: alice.data.agentToken }, { text: 'm2', contextId: alice.data.roomId })
  await a2a(second, 'message.send', { agentToken: alice.data.agentToken }, { text: 'm3', contextId: alice.data.roomId })
  const s2 = sseReader(await fetch(`${second.url}/mcp`, { headers: { ...headers, 'last-event-id': e1.id! } }))
  const got = [JSON.parse((await s2.next()).data).params.data.body, JSON.parse((await s2.next()).data).params.data.body]
  assert.deepEqual(got, ['m2', 'm3'])
  await a2a(second, 'message.send', { agentToken: alice.data.agentToken }, { text: 'm4', contextId: alice.data.roomId })
  assert.equal(JSON.parse((await s2.next()).data).params.data.body, 'm4')
  await s2.cancel()
})

test('a session moves to another instance sharing the database', { skip: !DATABASE_URL && 'needs PostgreSQL' }, async (t) => {
  const one = await startApp(t)
  const two = await startApp(t, {}, { config: one.config })
  const a = await connect(t, one.url)
  await a.call('createRoom', { agentName: 'alice', name: uniq() })
  const sid = a.transport.sessionId!
  const moved = await connect(t, two.url, { sessionId: sid })
  const r = await moved.call('sendMessage', { text: 'from instance two' })
  assert.ok(!r.isError, text(r))
  assert.equal(moved.transport.sessionId, sid)
})

test('an unknown session id gets 404 telling the client to initialize again, and nothing is stored', async (t) => {
  const srv = await startApp(t)
  const stale = crypto.randomUUID()
  const c = await connect(t, srv.url, { sessionId: stale })
  await assert.rejects(c.call('sendMessage', { text: 'x' }), /Session not found/)
  // what the MCP spec has a client do on 404: initialize a new session, which works at once
  const again = await connect(t, srv.url)
  assert.notEqual(again.transport.sessionId, stale)
  assert.ok(!(await again.call('createRoom', { agentName: 'alice', name: uniq() })).isError)
  assert.ok(!(await again.call('sendMessage', { text: 'now joined' })).isError)

  // raw: POST and GET with an unknown id get 404 and no session id, however often they come
  const other = crypto.randomUUID()
  for (let i = 0; i < 2; i++) {
    const r = await post(srv.url, request('tools/list'), { 'mcp-session-id': other })
    assert.equal(r.res.status, 404)
    assert.equal(r.sessionId, null)
    assert.equal(r.messages[0].error.code, -32001)
    assert.match(r.messages[0].error.message, /send initialize without an Mcp-Session-Id header/)
  }
  const stream = await fetch(`${srv.url}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': other } })
  assert.equal(stream.status, 404)
  await stream.arrayBuffer()
})

test('DELETE /mcp ends the session and forgets it', async (t) => {
  const srv = await startApp(t)
  const c = await connect(t, srv.url)
  await c.call('createRoom', { agentName: 'alice', name: uniq() })
  const sid = c.transport.sessionId!
  await c.transport.terminateSession()
  const rows = await srv.app.db.query('SELECT count(*)::int AS n FROM mcp_sessions')
  assert.equal(rows[0].n, DATABASE_URL ? rows[0].n : 0)
  const r = await rawTool(srv.url, sid, 'sendMessage', { text: 'x' })
  assert.equal(r.res.status, 404)
  assert.equal(r.error.code, -32001)
  const gone = await fetch(`${srv.url}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': crypto.randomUUID() } })
  assert.equal(gone.status, 404)
  await gone.body?.cancel()
})

test('idle sessions expire', async (t) => {
  let now = Date.now()
  const srv = await startApp(t, { mcpSessionIdleSeconds: 60 }, { clock: () => new Date(now) })
  const sid = await rawSession(srv.url)
  await rawTool(srv.url, sid, 'createRoom', { agentName: 'alice', name: uniq() })
  now += 30_000
  const kept = await rawTool(srv.url, sid, 'sendMessage', { text: 'x' })
  assert.equal(kept.sessionId, sid)
  assert.equal(kept.result.isError, undefined)
  now += 61_000
  const expired = await rawTool(srv.url, sid, 'sendMessage', { text: 'x' })
  assert.equal(expired.res.status, 404)
  assert.equal(expired.sessionId, null)
})

test('Origin and Host validation', async (t) => {
  const srv = await startApp(t, { baseUrl: 'https://convene.example' })
  const init = request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'o', version: '1' } })
  const evil = await post(srv.url, init, { origin: 'http://evil.example' })
  assert.equal(evil.res.status, 403)
  assert.equal(evil.messages[0].error.code, -32000)
  assert.equal((await post(srv.url, init, { origin: 'null' })).res.status, 403)
  assert.equal((await post(srv.url, init, { origin: 'http://localhost:5173' })).res.status, 200)
  assert.equal((await post(srv.url, init, { origin: 'https://convene.example' })).res.status, 200)
  assert.equal((await post(srv.url, init)).res.status, 200)
  const status = (host: string) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${srv.url}/mcp`, { method: 'GET', headers: { host, accept: 'text/event-stream' } }, (res) => {
        res.resume()
        resolve(res.statusCode!)
      })
      req.on('error', reject)
      req.end()
    })
  assert.equal(await status('rebound.attacker.example'), 403)
  assert.equal(await status('convene.example'), 400) // allowed through; no session id
  assert.equal(await status('localhost:3000'), 400)
})

test('MCP_PORT serves /mcp on a second listener', async (t) => {
  const mcpPort = await freePort()
  const srv = await startApp(t, { mcpPort })
  const c = await connect(t, `http://127.0.0.1:${mcpPort}`)
  const r = await c.call('listRooms')
  assert.ok(!r.isError)
  void srv
})

test('notifications follow across instances: a session on B hears a send made through A', { skip: !DATABASE_URL && 'needs PostgreSQL' }, async (t) => {
  const one = await startApp(t)
  const two = await startApp(t, {}, { config: one.config })
  const alice = await connect(t, one.url)
  const name = uniq()
  await alice.call('createRoom', { agentName: 'alice', name })
  const bob = await connect(t, two.url)
  await bob.call('joinRoom', { roomId: name, agentName: 'bob' })
  await alice.call('sendMessage', { text: 'across instances' })
  const note = await bob.nextNote((n) => n.data.body === 'across instances', 5000)
  assert.equal(note.data.from, 'alice')
})
