// Shutting down while PostgreSQL is down or frozen: app.close() finishes in bounded time instead of waiting on it.
import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { createRoom, DATABASE_URL, joinRoom, startApp, type TestServer } from '../helpers.ts'
import { SseClient } from '../realtime/sse-client.ts'
import { settlesWithin } from './bounded.ts'
import { throwawayPg, throwawayPgUnavailable, type ThrowawayPg } from './pg.ts'

const skip = !DATABASE_URL ? 'PostgreSQL-only (DATABASE_URL unset)' : (throwawayPgUnavailable() ?? false)
/** Generous: the race only tells "finished" from "hung" (a close waits a few seconds at most on the database). */
const BOUND_MS = 15_000
/** Sends in flight on each instance when it closes: several statements queued on every pooled connection. */
const IN_FLIGHT = 60

function send(srv: TestServer, token: string, text: string) {
  return fetch(`${srv.url}/a2a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { role: 'user', parts: [{ text }], metadata: { action: 'message.send', agentToken: token } } } }),
  })
}

/**
 * Two instances on a throwaway PostgreSQL, a subscriber on one to messages sent on the other; then `outage`, sends
 * in flight on both (in their handlers when the close begins), and both close within the bound.
 */
async function closeDuringOutage(t: TestContext, outage: (pg: ThrowawayPg) => void) {
  const pg = await throwawayPg()
  t.after(() => pg.destroy())
  const overrides = { databaseUrl: pg.url, busResyncSeconds: 1 }
  // Closed by the test itself (not by an after hook), inside the bound it asserts.
  const a = await startApp(null, overrides)
  const b = await startApp(null, overrides)
  const room = await createRoom(a)
  const bob = await joinRoom(a, room.roomId, 'bob')
  const sub = await SseClient.open(`${b.url}/api/messages/${room.roomId}/sse?agentToken=${bob}`)
  t.after(() => sub.close())
  assert.equal(sub.status, 200)
  assert.equal((await send(a, room.token, 'hi')).status, 200)
  await sub.until(() => sub.events.some((e) => e.id), 20_000, 'the message on the other instance')

  outage(pg)
  const inFlight: Promise<unknown>[] = []
  for (const [srv, token] of [
    [a, room.token],
    [b, bob],
  ] as const) {
    let arrived = 0
    const all = new Promise<void>((resolve) => srv.app.server.on('request', () => ++arrived === IN_FLIGHT && resolve()))
    for (let i = 0; i < IN_FLIGHT; i++) inFlight.push(send(srv, token, `during ${i}`).then((r) => r.text(), () => null))
    await all
  }
  const [closedA, closedB] = await Promise.all([settlesWithin(a.app.close(), BOUND_MS), settlesWithin(b.app.close(), BOUND_MS)])
  assert.ok(closedA, `instance a closed within ${BOUND_MS} ms`)
  assert.ok(closedB, `instance b closed within ${BOUND_MS} ms`)
  // Every send in flight got an answer or lost its connection: none is left hanging on a closed server.
  await Promise.all(inFlight)
}

test('app.close() finishes with PostgreSQL stopped, with sends in flight and a subscriber', { skip, timeout: 90_000 }, (t) =>
  closeDuringOutage(t, (pg) => pg.stop('immediate')),
)

test('app.close() finishes with PostgreSQL frozen (connections open, nothing answers), with sends in flight', { skip, timeout: 90_000 }, (t) =>
  closeDuringOutage(t, (pg) => pg.pause()),
)
