import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { createRoom, joinRoom, startApp, uniq, type TestServer } from '../helpers.ts'
import { RoomFeed } from '../../lib/feed/room-feed.ts'
import { SseStream } from '../../routes/sse/stream.ts'
import { SseClient, sseStatus } from './sse-client.ts'

const streamUrl = (srv: TestServer, roomId: string, token: string, extra = '') =>
  `${srv.url}/api/messages/${roomId}/sse?agentToken=${encodeURIComponent(token)}${extra}`

/** Sends in-process, then lets the event loop turn (as between two HTTP requests): PGlite answers in microtasks. */
async function send(srv: TestServer, agentToken: string, text: string, to?: string) {
  const r = await srv.app.rooms.send({ agentToken, text, to })
  await new Promise((resolve) => setImmediate(resolve))
  return r
}

function assertConsecutive(seqs: number[], from: number, to: number) {
  assert.equal(seqs.length, to - from + 1, `expected seqs ${from}..${to}, got ${seqs.length}`)
  seqs.forEach((s, i) => assert.equal(s, from + i, `gap or duplicate at index ${i}`))
}

test('SSE delivers each message with id = seq and the wire message as data', async (t) => {
  const srv = await startApp(t)
  const { roomId, token } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob')
  const c = await SseClient.open(streamUrl(srv, roomId, bob))
  t.after(() => c.close())
  assert.equal(c.status, 200)
  const sent = [await send(srv, token, 'one'), await send(srv, token, 'two'), await send(srv, bob, 'three')]
  await c.untilMessages(3)
  assert.deepEqual(c.messages.map((m) => m.body), ['one', 'two', 'three'])
  assert.deepEqual(c.events.map((e) => Number(e.id)), sent.map((s) => s.data.seq))
  const m = c.messages[0]
  assert.equal(m.from, 'alice')
  assert.equal(m.roomId, roomId)
  assert.equal(m.seq, sent[0].data.seq)
  assert.equal(m.id, sent[0].data.id)
  assert.ok(!('to' in m))
})

test('SSE resume after a disconnect replays exactly the messages sent in between, in order', async (t) => {
  const srv = await startApp(t)
  const { roomId, token } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob')
  const first = await SseClient.open(streamUrl(srv, roomId, bob))
  await send(srv, token, 'a')
  await send(srv, token, 'b')
  await first.untilMessages(2)
  first.close()
  const last = first.events.at(-1)!.id!
  for (const x of ['c', 'd', 'e']) await send(srv, token, x)

  const byHeader = await SseClient.open(streamUrl(srv, roomId, bob), { 'last-event-id': last })
  t.after(() => byHeader.close())
  await byHeader.untilMessages(3)
  assert.deepEqual(byHeader.messages.map((m) => m.body), ['c', 'd', 'e'])

  const byQuery = await SseClient.open(streamUrl(srv, roomId, bob, `&lastEventId=${last}`))
  t.after(() => byQuery.close())
  await byQuery.untilMessages(3)
  await send(srv, token, 'f')
  await byQuery.untilMessages(4)
  await byHeader.untilMessages(4)
  assert.deepEqual(byQuery.messages.map((m) => m.body), ['c', 'd', 'e', 'f'])
  assert.deepEqual(byHeader.messages.map((m) => m.body), ['c', 'd', 'e', 'f'])
})

test('SSE resume racing with 1,000 live sends: no gap, no duplicate', async (t) => {
  const srv = await startApp(t)
  const { roomId, token } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob')
  const start = (await srv.app.store.roomById(roomId))!.lastSeq
  const N = 1000
  let sending = true
  const sender = (async () => {
    // four concurrent senders so commits interleave with the replay reads
    await Promise.all([0, 1, 2, 3].map(async (k) => {
      for (let i = k; i < N; i += 4) await send(srv, token, `m${i}`)
    }))
    sending = false
  })()
  const seqs: number[] = []
  let reconnects = 0
  while (seqs.length < N) {
    const last = seqs.length ? String(seqs.at(-1)) : String(start)
    const c = await SseClient.open(streamUrl(srv, roomId, bob), { 'last-event-id': last })
    const want = seqs.length + (sending ? 50 + Math.floor(Math.random() * 100) : N)
    await c.until(() => seqs.length + c.messages.length >= Math.min(want, N), 20_000, 'messages').catch(() => {})
    c.close()
    seqs.push(...c.events.filter((e) => !e.event).map((e) => Number(e.id)))
    reconnects++
  }
  await sender
  assertConsecutive(seqs, start + 1, start + N)
  assert.ok(reconnects > 2, `resumed ${reconnects} times`)
})

test('SSE keeps DMs between sender and recipient, live and on replay', async (t) => {
  const srv = await startApp(t)
  const { roomId, token: alice } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob')
  const carol = await joinRoom(srv, roomId, 'carol')
  const start = (await srv.app.store.roomById(roomId))!.lastSeq
  const open = (tok: string) => SseClient.open(streamUrl(srv, roomId, tok))
  const [a, b, c] = await Promise.all([open(alice), open(bob), open(carol)])
  const spectator = await SseClient.open(`${srv.url}/api/rooms/${roomId}/stream`)
  t.after(() => [a, b, c, spectator].forEach((x) => x.close()))
  await send(srv, alice, 'secret', 'bob')
  await send(srv, carol, 'hello all')
  await Promise.all([a.untilMessages(2), b.untilMessages(2), c.untilMessages(1), spectator.untilMessages(1)])
  assert.deepEqual(a.messages.map((m) => m.body), ['secret', 'hello all'])
  assert.deepEqual(b.messages.map((m) => m.body), ['secret', 'hello all'])
  assert.equal(b.messages[0].to, 'bob')
  assert.deepEqual(c.messages.map((m) => m.body), ['hello all'])
  assert.deepEqual(spectator.messages.map((m) => m.body), ['hello all'])

  const replay = await SseClient.open(streamUrl(srv, roomId, carol), { 'last-event-id': String(start) })
  t.after(() => replay.close())
  await send(srv, alice, 'after')
  await replay.untilMessages(2)
  assert.deepEqual(replay.messages.map((m) => m.body), ['hello all', 'after'])
})

test('SSE answers 401 / 403 / 404 before streaming', async (t) => {
  const srv = await startApp(t)
  const one = await createRoom(srv)
  const two = await createRoom(srv)
  const base = `${srv.url}/api/messages`
  let r = await sseStatus(`${base}/${one.roomId}/sse`)
  assert.equal(r.status, 401)
  assert.match(r.body.message, /agentToken is required/)
  r = await sseStatus(`${base}/${one.roomId}/sse?agentToken=${crypto.randomUUID()}`)
  assert.equal(r.status, 401)
  assert.match(r.body.message, /Invalid agentToken/)
  r = await sseStatus(`${base}/${two.roomId}/sse?agentToken=${one.token}`)
  assert.equal(r.status, 403)
  assert.match(r.body.message, /agentToken does not belong to this room/)
  r = await sseStatus(`${base}/${crypto.randomUUID()}/sse?agentToken=${one.token}`)
  assert.equal(r.status, 404)
  const byName = await SseClient.open(`${base}/${one.name}/sse?agentToken=${one.token}`)
  byName.close()
  assert.equal(byName.status, 200, 'the room name works as well as its id')

  // spectator stream: authorised like the room page
  const name = uniq('locked')
  const locked = await createRoom(srv, { name, password: 'pw1' })
  const spect = `${srv.url}/api/rooms`
  assert.equal((await sseStatus(`${spect}/${uniq('nope')}/stream`)).status, 404)
  assert.equal((await sseStatus(`${spect}/${name}/stream`)).status, 401)
  assert.equal((await sseStatus(`${spect}/${name}/stream?password=wrong`)).status, 403)
  const ok = await SseClient.open(`${spect}/${name}/stream?password=pw1`)
  t.after(() => ok.close())
  assert.equal(ok.status, 200)
  const viaColon = await SseClient.open(`${spect}/${name}:pw1/stream`)
  t.after(() => viaColon.close())
  assert.equal(viaColon.status, 200)
  await send(srv, locked.token, 'inside')
  await ok.untilMessages(1)
  await viaColon.untilMessages(1)
  assert.equal(ok.messages[0].body, 'inside')
})

test('SSE sends a ping event periodically', async (t) => {
  const srv = await startApp(t, { ssePingSeconds: 0.05 })
  const { roomId, token } = await createRoom(srv)
  const c = await SseClient.open(streamUrl(srv, roomId, token))
  t.after(() => c.close())
  await c.until(() => c.events.filter((e) => e.event === 'ping').length >= 2, 5000, 'two pings')
})

test('SSE disconnects a slow consumer without holding up the others', { timeout: 20_000 }, async (t) => {
  const srv = await startApp(t, { ssePingSeconds: 60 })
  const { roomId, token } = await createRoom(srv)
  const feed = new RoomFeed({ store: srv.app.store, events: srv.app.events, onError: (e) => assert.fail(String(e)) })
  t.after(() => feed.close())
  // Two clients on one feed: one drains its socket, the other never does (its writes never complete).
  const fastChunks: string[] = []
  const fastRaw = new Writable({ write: (c, _e, cb) => (fastChunks.push(String(c)), cb()) })
  const slowRaw = new Writable({ write: () => {} })
  const bufferBytes = 16 * 1024
  const open = (raw: Writable) =>
    new SseStream(raw as unknown as ServerResponse, { send: async () => {} }, feed, { roomId, agentId: null, after: 0, bufferBytes, pingMs: 60_000 })
  const fast = open(fastRaw)
  const slow = open(slowRaw)
  const runs = [fast.run(), slow.run()]
  await send(srv, token, 'warm-up') // both are live once this arrived
  const live = async () => {
    while (!fastChunks.join('').includes('warm-up')) await new Promise((r) => setImmediate(r))
  }
  await live()
  const body = 'x'.repeat(2000)
  const before = (await srv.app.store.roomById(roomId))!.lastSeq
  for (let i = 0; i < 30; i++) await send(srv, token, body)
  // Fan-out reads the store after each commit: wait until the fast client has the last one.
  while (!fastChunks.join('').includes(`id: ${before + 30}\n`)) await new Promise((r) => setImmediate(r))
  assert.ok(slowRaw.destroyed, 'the slow client was disconnected')
  // at most two frames past the limit: the check runs once the event loop turns
  const frame = fastChunks.find((c) => c.includes(body))!.length
  assert.ok(slowRaw.writableLength <= bufferBytes + 2 * frame, `its backlog stayed bounded (${slowRaw.writableLength} bytes, frames of ${frame})`)
  const seqs = [...fastChunks.join('').matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])).filter((n) => n > before)
  assertConsecutive(seqs, before + 1, before + 30)
  fast.end()
  await Promise.all(runs)
})

test('closing the app ends open streams promptly', async (t) => {
  const srv = await startApp(t)
  const { roomId, token } = await createRoom(srv)
  const c = await SseClient.open(streamUrl(srv, roomId, token))
  const t0 = Date.now()
  await srv.app.close()
  await c.untilClosed(2000)
  assert.ok(Date.now() - t0 < 2000)
  t.diagnostic(`closed in ${Date.now() - t0} ms`)
})
