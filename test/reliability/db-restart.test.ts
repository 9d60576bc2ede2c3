// PostgreSQL restarts under traffic: clear 503s meanwhile, no crash, reconnect, the bus re-listens, nothing lost.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { a2a, createRoom, DATABASE_URL, joinRoom, startApp, type TestServer } from '../helpers.ts'
import { SseClient } from '../realtime/sse-client.ts'
import { throwawayPg, throwawayPgUnavailable } from './pg.ts'

const skip = !DATABASE_URL ? 'PostgreSQL-only (DATABASE_URL unset)' : (throwawayPgUnavailable() ?? false)

/** One send over HTTP: the HTTP status and, for a 200, whether the action succeeded. */
async function send(srv: TestServer, token: string, text: string) {
  const res = await fetch(`${srv.url}/a2a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { role: 'user', parts: [{ text }], metadata: { action: 'message.send', agentToken: token } } } }),
    signal: AbortSignal.timeout(20_000),
  })
  const body = (await res.json()) as any
  const msg = body.result?.message ?? body.result
  return { status: res.status, ok: msg?.parts?.[0]?.text === 'Message sent', seq: msg?.parts?.[1]?.data?.seq as number | undefined, body }
}

test('a PostgreSQL restart during traffic: 503s meanwhile, then reconnect; subscribers on another instance catch up by seq', { skip, timeout: 120_000 }, async (t) => {
  const pg = await throwawayPg()
  const overrides = { databaseUrl: pg.url, busResyncSeconds: 1 }
  // After hooks run in the order they are added: the apps close first, while their database is still there.
  let a: TestServer, b: TestServer
  try {
    a = await startApp(t, overrides)
    b = await startApp(t, overrides)
  } finally {
    t.after(() => pg.destroy())
  }
  const room = await createRoom(a)
  const bob = await joinRoom(a, room.roomId, 'bob')
  const sub = await SseClient.open(`${b.url}/api/messages/${room.roomId}/sse?agentToken=${bob}`)
  t.after(() => sub.close())
  assert.equal(sub.status, 200)

  const acked: number[] = []
  for (let i = 0; i < 10; i++) {
    const r = await send(a, room.token, `before ${i}`)
    assert.ok(r.ok)
    acked.push(r.seq!)
  }

  pg.stop('fast')
  const during: { status: number; ok: boolean; body: any }[] = []
  for (let i = 0; i < 5; i++) during.push(await send(a, room.token, `during ${i}`))
  const probe = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(`${a.url}${path}`, { ...init, signal: AbortSignal.timeout(20_000) })
    return { status: r.status, text: (await r.text()).slice(0, 300), retry: r.headers.get('retry-after') }
  }
  const others: Record<string, { status: number; text: string; retry: string | null }> = {
    readyz: await probe('/readyz'),
    sse: await probe(`/api/messages/${room.roomId}/sse?agentToken=${bob}`, { headers: { accept: 'text/event-stream' } }),
    web: await probe(`/${room.name}`, { headers: { accept: 'text/plain' } }),
    git: await probe(`/rooms/${room.name}/info/refs?service=git-upload-pack`),
    mcp: await probe('/mcp', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) }),
  }
  // Regression: A2A answered 200 "Internal error", web and git 500, SSE "Invalid agentToken" (401) and MCP
  // initialize a -32700 parse error naming the database address.
  for (const d of during) {
    assert.equal(d.status, 503, JSON.stringify(d.body))
    assert.match(JSON.stringify(d.body), /temporarily unavailable/)
  }
  for (const [surface, r] of Object.entries(others)) {
    assert.equal(r.status, 503, `${surface}: ${r.status} ${r.text}`)
    assert.doesNotMatch(r.text, /ECONNREFUSED|127\.0\.0\.1/, `${surface} does not leak the database address`)
  }
  assert.equal(others.a2a?.retry ?? others.web.retry, '1', 'Retry-After')
  pg.start()

  // Bounded: the pool reconnects on the next query.
  let back = null
  for (let i = 0; i < 100 && !back?.ok; i++) {
    back = await send(a, room.token, `after ${i}`).catch(() => null)
    if (!back?.ok) await new Promise((r) => setTimeout(r, 100))
  }
  assert.ok(back?.ok, 'sends succeed again after the restart')
  for (let i = 0; i < 10; i++) {
    const r = await send(a, room.token, `later ${i}`)
    assert.ok(r.ok)
    acked.push(r.seq!)
  }
  const last = acked.at(-1)!
  await sub.until(() => sub.events.some((e) => Number(e.id) >= last), 20_000, `seq ${last} on the other instance`)
  const seqs = sub.events.filter((e) => e.id).map((e) => Number(e.id))
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => seqs[0] + i), 'no gap, no duplicate')
})
