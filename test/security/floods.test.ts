// Floods (issue 13 point 7): made-up credentials earn no rate-limit bucket of their own, MCP sessions come only from
// `initialize` and are capped per address, batch elements count, spectator streams are capped per address, and
// X-Forwarded-For is believed only from a proxy named in TRUST_PROXY.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, loadConfig } from '../../lib/config.ts'
import { a2a, createRoom, startApp, uniq, type TestServer } from '../helpers.ts'
import { connect, MCP_HEADERS, post, rawSession, request } from '../mcp/helpers.ts'
import { SseClient } from '../realtime/sse-client.ts'

const send = (roomId: string, agentToken: string, id = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'SendMessage',
  params: { message: { role: 'user', contextId: roomId, parts: [{ text: 'flood' }], metadata: { action: 'message.send', agentToken } } },
})

async function a2aStatus(srv: TestServer, body: unknown, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${srv.url}/a2a`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  await res.arrayBuffer()
  return res.status
}

/** Under-pressure off: a loaded CI machine's 503s would blur the counts. */
const calm = { maxEventLoopDelayMs: 0 }
const limited = (max: number) => ({ ...calm, rateLimitMax: max, rateLimitWindowSeconds: 60 })
const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length
const initialize = () => request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'flood', version: '1' } })

test('made-up agentTokens count against the client address; a real token keeps its own bucket', async (t) => {
  const srv = await startApp(t, limited(20))
  const { roomId, token } = await createRoom(srv) // the address's first request
  const statuses: number[] = []
  for (let i = 0; i < 100; i++) statuses.push(await a2aStatus(srv, send(roomId, crypto.randomUUID(), i)))
  assert.equal(count(statuses, 200), 19)
  assert.equal(count(statuses, 429), 81)
  // the same made-up tokens in the query string or a Bearer header earn nothing either
  const q = await fetch(`${srv.url}/api/messages/${roomId}/sse?agentToken=${crypto.randomUUID()}`)
  assert.equal(q.status, 429)
  await q.arrayBuffer()
  const bearer = await fetch(`${srv.url}/api/messages/${roomId}/sse`, { headers: { authorization: `Bearer ${crypto.randomUUID()}` } })
  assert.equal(bearer.status, 429)
  await bearer.arrayBuffer()
  // the agent that really exists is not starved by the flood from its address
  assert.equal(await a2aStatus(srv, send(roomId, token)), 200)
})

test('a made-up Mcp-Session-Id gets 404 telling the client to initialize, stores nothing, and counts against the address', async (t) => {
  const srv = await startApp(t, limited(30))
  const rows = async () => (await srv.app.db.query<{ n: number }>('SELECT count(*)::int AS n FROM mcp_sessions'))[0].n
  const before = await rows()
  for (let i = 0; i < 25; i++) {
    const r = await post(srv.url, request('tools/list'), { 'mcp-session-id': crypto.randomUUID() })
    assert.equal(r.res.status, 404)
    assert.equal(r.sessionId, null)
    assert.equal(r.messages[0].error.code, -32001)
    assert.match(r.messages[0].error.message, /initialize/)
  }
  const stream = await fetch(`${srv.url}/mcp`, { headers: { ...MCP_HEADERS, accept: 'text/event-stream', 'mcp-session-id': crypto.randomUUID() } })
  assert.equal(stream.status, 404)
  await stream.arrayBuffer()
  assert.equal(await rows(), before)
  const metrics = await (await fetch(`${srv.url}/metrics`)).text()
  assert.match(metrics, /^convene_mcp_sessions 0$/m)
  // 26 requests so far from this address: the 31st is refused
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) statuses.push((await post(srv.url, request('tools/list'), { 'mcp-session-id': crypto.randomUUID() })).res.status)
  assert.deepEqual(statuses, [404, 404, 404, 404, 429, 429])
})

test('MAX_MCP_SESSIONS_PER_IP: one session too many gets 429; ending one frees a place; other addresses are apart', async (t) => {
  const srv = await startApp(t, { ...calm, maxMcpSessionsPerIp: 3, trustProxy: ['127.0.0.1'] })
  const ids = [await rawSession(srv.url), await rawSession(srv.url), await rawSession(srv.url)]
  const refused = await post(srv.url, initialize())
  assert.equal(refused.res.status, 429)
  assert.equal(refused.sessionId, null)
  assert.match(refused.messages[0].error.message, /Too many MCP sessions from this address: at most 3/)
  // another client behind the trusted proxy has its own allowance
  const other = await post(srv.url, initialize(), { 'x-forwarded-for': '198.51.100.7' })
  assert.equal(other.res.status, 200)
  assert.ok(other.sessionId)
  const gone = await fetch(`${srv.url}/mcp`, { method: 'DELETE', headers: { 'mcp-protocol-version': MCP_HEADERS['mcp-protocol-version'], 'mcp-session-id': ids[0] } })
  assert.equal(gone.status, 200)
  await gone.arrayBuffer()
  assert.ok(await rawSession(srv.url))
  assert.equal((await post(srv.url, initialize())).res.status, 429)
})

test('each element of a JSON-RPC batch counts against the rate limit (A2A)', async (t) => {
  const srv = await startApp(t, limited(10))
  const batch = (n: number) => Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'rpc.discover' }))
  const first = await fetch(`${srv.url}/a2a`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch(8)) })
  assert.equal(first.status, 200)
  assert.equal((await first.json()).length, 8)
  const second = await fetch(`${srv.url}/a2a`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch(3)) })
  assert.equal(second.status, 429)
  assert.ok(Number(second.headers.get('retry-after')) > 0)
  const err = await second.json()
  assert.equal(err.jsonrpc, '2.0')
  assert.match(err.error.message, /^Error: Rate limit exceeded: at most 10 requests per 60 s/)
  assert.equal(await a2aStatus(srv, batch(1)[0]), 429)
})

test('each element of a JSON-RPC batch counts against the rate limit (MCP)', async (t) => {
  const srv = await startApp(t, limited(10))
  const sid = await rawSession(srv.url) // initialize (the address), then one request in the session's own bucket
  const pings = (n: number) => Array.from({ length: n }, () => request('ping'))
  const first = await post(srv.url, pings(8), { 'mcp-session-id': sid })
  assert.equal(first.res.status, 200)
  assert.equal(first.messages.length, 8)
  const second = await post(srv.url, pings(3), { 'mcp-session-id': sid })
  assert.equal(second.res.status, 429)
  assert.match(second.messages[0].error.message, /^Error: Rate limit exceeded/)
})

test('MAX_SSE_STREAMS_PER_IP: a spectator stream too many gets 429; closing one frees a place', async (t) => {
  const srv = await startApp(t, { ...calm, maxSseStreamsPerIp: 2 })
  const { name } = await createRoom(srv)
  const url = `${srv.url}/api/rooms/${name}/stream`
  const a = await SseClient.open(url)
  const b = await SseClient.open(url)
  t.after(() => [a, b].forEach((s) => s.close()))
  assert.deepEqual([a.status, b.status], [200, 200])
  const third = await fetch(url, { headers: { accept: 'text/event-stream' } })
  assert.equal(third.status, 429)
  assert.match((await third.json()).message, /Too many open spectator streams from this address: at most 2/)
  a.close()
  let again = await SseClient.open(url)
  // the server notices the close asynchronously: retry (bounded) until it has
  for (let i = 0; again.status === 429 && i < 200; i++) {
    again.close()
    await new Promise((r) => setTimeout(r, 5))
    again = await SseClient.open(url)
  }
  t.after(() => again.close())
  assert.equal(again.status, 200)
})

async function rotate(srv: TestServer, n: number, header: (i: number) => string): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(await a2aStatus(srv, { jsonrpc: '2.0', id: i, method: 'rpc.discover' }, { 'x-forwarded-for': header(i) }))
  return out
}

test('X-Forwarded-For is believed only from a proxy TRUST_PROXY names, never because BASE_URL is set', async (t) => {
  const limits = { ...limited(20), baseUrl: 'https://convene.example' }
  const untrusted = await startApp(t, limits)
  assert.equal(count(await rotate(untrusted, 30, (i) => `203.0.113.${i}`), 429), 10)
  const elsewhere = await startApp(t, { ...limits, trustProxy: ['10.9.8.7', '192.168.0.0/16'] })
  assert.equal(count(await rotate(elsewhere, 30, (i) => `203.0.113.${i}`), 429), 10)
  const proxied = await startApp(t, { ...limits, trustProxy: ['127.0.0.0/8'] })
  assert.equal(count(await rotate(proxied, 30, (i) => `203.0.113.${i}`), 429), 0)
  assert.equal(count(await rotate(proxied, 30, () => '198.51.100.1'), 429), 10)
  // an IPv6 client is one /64: rotating the interface part earns nothing
  assert.equal(count(await rotate(proxied, 30, (i) => `2001:db8:1:2::${i.toString(16)}`), 429), 10)
})

test('MAX_ROOMS_PER_IP_PER_HOUR holds over MCP too, and an IPv6 client is one /64', async (t) => {
  const srv = await startApp(t, { ...calm, maxRoomsPerIpPerHour: 2, trustProxy: ['127.0.0.1'] })
  const c = await connect(t, srv.url)
  const made: string[] = []
  for (let i = 0; i < 3; i++) {
    const r = await c.call('createRoom', { agentName: 'alice', name: uniq() })
    made.push(r.isError ? (r.content[0] as { text: string }).text : 'ok')
  }
  assert.deepEqual(made.slice(0, 2), ['ok', 'ok'])
  assert.match(made[2], /Too many rooms created: at most 2 per hour/)
  const v6 = async (i: number) => (await a2a(srv, 'room.create', { agentName: 'alice', name: uniq() }, { headers: { 'x-forwarded-for': `2001:db8:7:7::${i + 1}` } })).text
  const texts = [await v6(0), await v6(1), await v6(2)]
  assert.match(texts[1], /^Room created/)
  assert.match(texts[2], /Too many rooms created/)
})

test('TRUST_PROXY, MAX_MCP_SESSIONS_PER_IP and MAX_SSE_STREAMS_PER_IP are validated at start-up', () => {
  assert.deepEqual(loadConfig({}).trustProxy, [])
  assert.equal(loadConfig({}).maxMcpSessionsPerIp, 100)
  assert.equal(loadConfig({}).maxSseStreamsPerIp, 20)
  assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1, fd00::/8' }).trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8'])
  for (const [env, value] of [
    ['TRUST_PROXY', 'proxy.example'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['TRUST_PROXY', '10.0.0.1,true'],
    ['TRUST_PROXY', '::1/129'],
    ['MAX_MCP_SESSIONS_PER_IP', '-1'],
    ['MAX_SSE_STREAMS_PER_IP', 'many'],
  ]) {
    assert.throws(
      () => loadConfig({ [env]: value }),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith(`Invalid ${env}:`),
      `${env}=${value}`,
    )
  }
  assert.throws(() => loadConfig({ TRUST_PROXY: 'proxy.example' }), /IP addresses or CIDRs/)
})
