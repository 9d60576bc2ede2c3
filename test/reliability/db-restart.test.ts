// PostgreSQL restarts under traffic: clear 503s meanwhile, no crash, reconnect, the bus re-listens, nothing lost.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createRoom, DATABASE_URL, joinRoom, startApp, type TestServer } from '../helpers.ts'
import { SseClient } from '../realtime/sse-client.ts'
import { Budget, settlesWithin } from './bounded.ts'
import { throwawayPg, throwawayPgUnavailable } from './pg.ts'

const skip = !DATABASE_URL ? 'PostgreSQL-only (DATABASE_URL unset)' : (throwawayPgUnavailable() ?? false)
/**
 * Bounds under CI load (two suites side by side): the test's own waits share WAITS_MS, one wait takes WAIT_MS at most,
 * an app's close CLOSE_MS; with the cluster's initdb, starts and stops, all stay well inside the test's timeout.
 */
const WAITS_MS = 120_000
const WAIT_MS = 20_000
const CLOSE_MS = 20_000

/** One send over HTTP: the HTTP status and, for a 200, whether the action succeeded. */
async function send(srv: TestServer, token: string, text: string, budget: Budget) {
  const res = await fetch(`${srv.url}/a2a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { role: 'user', parts: [{ text }], metadata: { action: 'message.send', agentToken: token } } } }),
    signal: budget.signal(WAIT_MS),
  })
  const body = (await res.json()) as any
  const msg = body.result?.message ?? body.result
  return { status: res.status, ok: msg?.parts?.[0]?.text === 'Message sent', seq: msg?.parts?.[1]?.data?.seq as number | undefined, body }
}

test('a PostgreSQL restart during traffic: 503s meanwhile, then reconnect; subscribers on another instance catch up by seq', { skip, timeout: 240_000 }, async (t) => {
  const pg = await throwawayPg()
  const overrides = { databaseUrl: pg.url, busResyncSeconds: 1 }
  const apps: TestServer[] = []
  let sub: SseClient | undefined
  // One after hook, so that a part that fails skips none of the rest: the apps close first, while their database is
  // still there (and in bounded time if it is not), then the subscriber and the database go, whatever happened.
  t.after(async () => {
    const closed = await Promise.all(apps.map((srv) => settlesWithin(srv.app.close(), CLOSE_MS)))
    sub?.close()
    pg.destroy()
    assert.ok(closed.every(Boolean), `every app closed within ${CLOSE_MS} ms`)
  })
  const a = await startApp(null, overrides)
  apps.push(a)
  const b = await startApp(null, overrides)
  apps.push(b)
  const budget = new Budget(WAITS_MS)
  const room = await createRoom(a)
  const bob = await joinRoom(a, room.roomId, 'bob')
  sub = await SseClient.open(`${b.url}/api/messages/${room.roomId}/sse?agentToken=${bob}`)
  assert.equal(sub.status, 200)

  const acked: number[] = []
  for (let i = 0; i < 10; i++) {
    const r = await send(a, room.token, `before ${i}`, budget)
    assert.ok(r.ok)
    acked.push(r.seq!)
  }

  pg.stop('fast')
  const during: { status: number; ok: boolean; body: any }[] = []
  for (let i = 0; i < 5; i++) during.push(await send(a, room.token, `during ${i}`, budget))
  const probe = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(`${a.url}${path}`, { ...init, signal: budget.signal(WAIT_MS) })
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

  // Bounded by the budget: the pool reconnects on the next query.
  let back = null
  for (let i = 0; budget.left() > 0 && !back?.ok; i++) {
    back = await send(a, room.token, `after ${i}`, budget).catch(() => null)
    if (!back?.ok) await new Promise((r) => setTimeout(r, 100))
  }
  assert.ok(back?.ok, 'sends succeed again after the restart')
  for (let i = 0; i < 10; i++) {
    const r = await send(a, room.token, `later ${i}`, budget)
    assert.ok(r.ok)
    acked.push(r.seq!)
  }
  const last = acked.at(-1)!
  await sub.until(() => sub.events.some((e) => Number(e.id) >= last), Math.max(1, Math.min(WAIT_MS, budget.left())), `seq ${last} on the other instance`)
  const seqs = sub.events.filter((e) => e.id).map((e) => Number(e.id))
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => seqs[0] + i), 'no gap, no duplicate')
})
