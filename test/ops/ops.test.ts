import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { buildApp } from '../../app.ts'
import { loggerOptions } from '../../plugins/log.ts'
import { a2a, createRoom, DATABASE_URL, rpc, startApp, testConfig } from '../helpers.ts'

test('healthz is always up; readyz is ready once started and 503 once shutdown begins', async (t) => {
  const config = await testConfig(t)
  const app = await buildApp(config, { logger: false })
  let duringShutdown: { status: number; body: any } | undefined
  app.addHook('preClose', async () => {
    const res = await fetch(`${url}/readyz`)
    duringShutdown = { status: res.status, body: await res.json() }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  assert.equal((await fetch(`${url}/healthz`)).status, 200)
  const ready = await fetch(`${url}/readyz`)
  assert.equal(ready.status, 200)
  assert.equal((await ready.json()).status, 'ready')
  await app.close()
  assert.equal(duringShutdown?.status, 503)
})

test('readyz is 503 while not accepting', async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  srv.app.accepting = false
  const res = await srv.app.inject('/readyz')
  assert.equal(res.statusCode, 503)
  assert.match(res.json().reason, /starting or shutting down/)
})

test('metrics are exposed in Prometheus format and move', async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  const { token } = await createRoom(srv)
  await a2a(srv, 'message.send', { agentToken: token }, { text: 'count me' })
  const res = await srv.app.inject('/metrics')
  assert.equal(res.statusCode, 200)
  assert.match(res.headers['content-type'] as string, /^text\/plain/)
  const body = res.body
  assert.match(body, /convene_http_request_duration_seconds_count\{method="POST",route="\/a2a",status="200"\} [1-9]/)
  assert.match(body, /convene_messages_sent_total [1-9]/)
  assert.match(body, /convene_rooms [1-9]/)
  assert.match(body, /convene_process_resident_memory_bytes/)
})

test('METRICS=0 turns the endpoint off', async (t) => {
  const srv = await startApp(t, { metrics: false }, { listen: false })
  assert.equal((await srv.app.inject('/metrics')).statusCode, 404)
})

test('rate limits answer 429 with Retry-After, in JSON-RPC shape on A2A', async (t) => {
  const srv = await startApp(t, { rateLimitMax: 3, rateLimitWindowSeconds: 60 })
  const { token } = await createRoom(srv)
  const body = (n: number) => ({ jsonrpc: '2.0', id: n, method: 'SendMessage', params: { message: { role: 'user', parts: [{ text: 'x' }], metadata: { action: 'message.send', agentToken: token } } } })
  const statuses: number[] = []
  let last: Response | undefined
  for (let i = 0; i < 5; i++) {
    last = await fetch(`${srv.url}/a2a`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(i)) })
    statuses.push(last.status)
    if (last.status === 200) await last.arrayBuffer()
  }
  assert.deepEqual(statuses, [200, 200, 200, 429, 429])
  assert.ok(Number(last!.headers.get('retry-after')) > 0)
  const err = await last!.json()
  assert.equal(err.jsonrpc, '2.0')
  assert.match(err.error.message, /^Error: Rate limit exceeded/)
  // another client (no token → its IP) is counted separately, and health checks are never limited
  assert.equal((await rpc(srv, { jsonrpc: '2.0', id: 1, method: 'rpc.discover' })).result.name, 'Convene')
  for (let i = 0; i < 5; i++) assert.equal((await fetch(`${srv.url}/healthz`)).status, 200)
})

test('an oversized body gets 413 with a JSON error', async (t) => {
  const srv = await startApp(t, { bodyLimitBytes: 1024 }, { listen: false })
  const res = await srv.app.inject({ method: 'POST', url: '/a2a', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ pad: 'x'.repeat(4096) }) })
  assert.equal(res.statusCode, 413)
  assert.equal(res.json().error.message, 'Error: request body exceeds the limit of 1024 bytes')
})

test('logs never carry tokens, passwords or Authorization headers', async (t) => {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk))
      cb()
    },
  })
  const config = await testConfig(t)
  const app = await buildApp(config, { logger: { ...loggerOptions('trace', false), stream } })
  t.after(() => app.close())
  await app.ready()
  const srv = { app, url: '', config }
  const { token } = await createRoom(srv, { password: 'hunter2-secret' })
  await app.inject({ method: 'GET', url: `/api/messages/x/sse?agentToken=${token}&password=hunter2-secret`, headers: { authorization: 'Basic dXNlcjpodW50ZXIyLXNlY3JldA==' } })
  const log = lines.join('')
  assert.ok(log.includes('agentToken=[redacted]'), 'the request was logged, redacted')
  assert.ok(!log.includes(token), 'no agentToken in logs')
  assert.ok(!log.includes('hunter2-secret'), 'no password in logs')
  assert.ok(!log.includes('dXNlcjpodW50ZXIyLXNlY3JldA=='), 'no Authorization header in logs')
})

test('MAX_AGENTS_PER_ROOM refuses joins past the limit, naming it', async (t) => {
  const srv = await startApp(t, { maxAgentsPerRoom: 2 }, { listen: false })
  const { roomId } = await createRoom(srv)
  assert.match((await a2a(srv, 'room.join', { agentName: 'b' }, { contextId: roomId })).text, /^Joined room/)
  const full = await a2a(srv, 'room.join', { agentName: 'c' }, { contextId: roomId })
  assert.equal(full.text, 'Error: Room is full (at most 2 agents)')
  assert.equal(full.data.error.code, 'ROOM_FULL')
})

test('MAX_ROOMS_PER_IP_PER_HOUR refuses the next room with a clear error, and frees up after an hour', async (t) => {
  let now = Date.parse('2030-01-01T00:00:00Z')
  const srv = await startApp(t, { maxRoomsPerIpPerHour: 2 }, { clock: () => new Date(now) })
  await createRoom(srv)
  await createRoom(srv)
  const third = await a2a(srv, 'room.create', { agentName: 'a', name: `q-${Date.now()}` })
  assert.equal(third.text, 'Error: Too many rooms created: at most 2 per hour, try again later')
  assert.equal(third.data.error.code, 'RATE_LIMITED')
  now += 3_600_001
  await createRoom(srv)
})

test('metrics count open SSE streams and live MCP sessions', async (t) => {
  const srv = await startApp(t)
  const { roomId, token } = await createRoom(srv)
  const ctrl = new AbortController()
  t.after(() => ctrl.abort())
  const stream = await fetch(`${srv.url}/api/messages/${roomId}/sse?agentToken=${token}`, { signal: ctrl.signal })
  assert.equal(stream.status, 200)
  const init = await fetch(`${srv.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  })
  assert.ok(init.headers.get('mcp-session-id'))
  await init.arrayBuffer()
  const body = await (await fetch(`${srv.url}/metrics`)).text()
  assert.match(body, /convene_sse_streams 1\b/)
  assert.match(body, /convene_mcp_sessions 1\b/)
})

test('metrics count git bytes in and out and time each git request', async (t) => {
  const srv = await startApp(t)
  const { name } = await createRoom(srv)
  const body = '0014command=ls-refs\n0000'
  const res = await fetch(`${srv.url}/rooms/${name}/git-upload-pack`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-git-upload-pack-request', 'git-protocol': 'version=2' },
    body,
  })
  assert.equal(res.status, 200)
  await res.arrayBuffer()
  const metrics = await (await fetch(`${srv.url}/metrics`)).text()
  assert.match(metrics, new RegExp(`convene_git_bytes_total\\{direction="in"\\} ${body.length}\\b`))
  assert.match(metrics, /convene_git_bytes_total\{direction="out"\} [1-9]/)
  assert.match(metrics, /convene_git_pack_duration_seconds_count\{service="git-upload-pack"\} 1\b/)
})

test('metrics count push deliveries by result', { timeout: 20_000 }, async (t) => {
  const { createServer } = await import('node:http')
  let answer = 500
  const got: string[] = []
  const receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c)).on('end', () => {
      got.push(body)
      res.statusCode = answer
      res.end()
    })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  t.after(() => receiver.close())
  const endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/inbox`
  const srv = await startApp(t, { pushRetryBaseMs: 20, pushRetryMaxMs: 50 })
  const { roomId, token } = await createRoom(srv)
  await a2a(srv, 'room.join', { agentName: 'hook', agentEndpoint: endpoint }, { contextId: roomId })
  await a2a(srv, 'message.send', { agentToken: token }, { text: 'ping' })
  const metric = async (result: string) => {
    const m = new RegExp(`convene_push_deliveries_total\\{result="${result}"\\} (\\d+)`).exec(await (await fetch(`${srv.url}/metrics`)).text())
    return Number(m?.[1] ?? 0)
  }
  while ((await metric('failed')) < 1) await new Promise((r) => setTimeout(r, 20))
  answer = 200
  while ((await metric('ok')) < 1) await new Promise((r) => setTimeout(r, 20))
  assert.ok(got.some((b) => b.includes('"ping"')))
})

test('metrics time the event bus on PostgreSQL', { skip: !DATABASE_URL && 'the cross-instance bus needs PostgreSQL', timeout: 20_000 }, async (t) => {
  const srv = await startApp(t)
  const { token } = await createRoom(srv)
  await a2a(srv, 'message.send', { agentToken: token }, { text: 'lag?' })
  const count = async () => Number(/convene_event_bus_lag_seconds_count (\d+)/.exec(await (await fetch(`${srv.url}/metrics`)).text())?.[1] ?? 0)
  // The instance hears its own NOTIFY back; wait for that round trip to be observed.
  while ((await count()) < 1) await new Promise((r) => setTimeout(r, 20))
})

test('rate limits answer MCP clients with 429 and a JSON-RPC error, SSE and git with 429 JSON', async (t) => {
  const srv = await startApp(t, { rateLimitMax: 2, rateLimitWindowSeconds: 60 })
  const init = () =>
    fetch(`${srv.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    })
  const statuses: number[] = []
  let last: Response | undefined
  for (let i = 0; i < 3; i++) {
    last = await init()
    statuses.push(last.status)
    if (i < 2) await last.arrayBuffer()
  }
  assert.deepEqual(statuses, [200, 200, 429])
  assert.ok(Number(last!.headers.get('retry-after')) > 0)
  const body = await last!.json()
  assert.equal(body.jsonrpc, '2.0')
  assert.match(body.error.message, /^Error: Rate limit exceeded/)
  // the same client (its IP) is now limited on the other surfaces too, in plain JSON
  const git = await fetch(`${srv.url}/rooms/anything/info/refs?service=git-upload-pack`)
  assert.equal(git.status, 429)
  assert.match((await git.json()).message, /Rate limit exceeded/)
})
