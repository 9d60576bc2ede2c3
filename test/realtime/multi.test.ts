import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import postgres from 'postgres'
import { PgBus } from '../../lib/events/pg.ts'
import type { RoomEvent } from '../../lib/events/bus.ts'
import { a2a, createRoom, DATABASE_URL, joinRoom, startApp, testConfig, type TestServer } from '../helpers.ts'
import { Receiver } from './receiver.ts'
import { SseClient } from './sse-client.ts'

const skip = !DATABASE_URL && 'needs PostgreSQL (set DATABASE_URL): several instances share one database'

/** Two app instances on one PostgreSQL database. */
async function twoInstances(t: TestContext, overrides = {}): Promise<[TestServer, TestServer]> {
  const config = await testConfig(t, { pushRetryBaseMs: 20, pushRetryMaxMs: 200, ...overrides })
  const a = await startApp(t, {}, { config })
  const b = await startApp(t, {}, { config: { ...config } })
  return [a, b]
}

test('multi-instance: an SSE client on B sees what is sent on A, in order', { skip }, async (t) => {
  const [a, b] = await twoInstances(t)
  const { roomId, token: alice } = await createRoom(a)
  const bob = await joinRoom(a, roomId, 'bob')
  const c = await SseClient.open(`${b.url}/api/messages/${roomId}/sse?agentToken=${bob}`)
  t.after(() => c.close())
  const sent = []
  for (let i = 0; i < 20; i++) sent.push((await (i % 2 ? b : a).app.rooms.send({ agentToken: alice, text: `m${i}` })).data.seq)
  await c.untilMessages(20)
  assert.deepEqual(c.events.map((e) => Number(e.id)), sent)
})

test('multi-instance: message.wait on B wakes for a send on A', { skip }, async (t) => {
  const [a, b] = await twoInstances(t)
  const { roomId, token: alice } = await createRoom(a)
  const bob = await joinRoom(b, roomId, 'bob')
  // Know when B's wait is blocked on the bus, without sleeping.
  const bus = b.app.events
  const original = bus.subscribe.bind(bus)
  let blocked!: () => void
  const isBlocked = new Promise<void>((r) => (blocked = r))
  bus.subscribe = (l) => {
    blocked()
    return original(l)
  }
  t.after(() => (bus.subscribe = original))
  const t0 = Date.now()
  const waiting = a2a(b, 'message.wait', { agentToken: bob, timeout: 20 })
  await isBlocked
  await a2a(a, 'message.send', { agentToken: alice }, { text: 'wake up', contextId: roomId })
  const r = await waiting
  assert.deepEqual(r.data.messages.map((m: any) => m.body), ['wake up'])
  assert.ok(Date.now() - t0 < 10_000, 'woke long before the timeout')
})

test('multi-instance: a pushed agent receives each event exactly once, in order', { skip }, async (t) => {
  const rx = await Receiver.start(t)
  rx.answer = (n) => (n % 7 === 3 ? 503 : 200) // a few failures, so deliveries move between retries
  const [a, b] = await twoInstances(t)
  const { roomId, token: alice } = await createRoom(a)
  await joinRoom(b, roomId, 'bob', { agentEndpoint: rx.url })
  const want: string[] = []
  await Promise.all(
    [a, b].map(async (srv, k) => {
      for (let i = 0; i < 15; i++) {
        const text = `${k}-${i}`
        await srv.app.rooms.send({ agentToken: alice, text })
      }
    }),
  )
  const rows = await a.app.store.readAfter(null, roomId, 0, 1000)
  for (const m of rows) if (m.from === 'alice') want.push(m.body)
  await rx.untilDelivered(want.length, 20_000)
  const got = rx.delivered.map((d) => d.params.message.parts[0].text)
  assert.deepEqual(got, want)
  const seqs = rx.delivered.map((d) => d.params.message.metadata.seq)
  assert.equal(new Set(seqs).size, seqs.length, 'no duplicates')
})

test('multi-instance: the bus re-listens after its connection is killed and catches up from the store', { skip }, async (t) => {
  const [a] = await twoInstances(t)
  const { roomId, token: alice } = await createRoom(a)
  const appName = `convene-bus-test-${process.pid}-${Date.now()}`
  const pg = postgres(DATABASE_URL!, { max: 2, onnotice: () => {}, connection: { application_name: appName } })
  t.after(() => pg.end({ timeout: 1 }))
  const bus = new PgBus({
    pubsub: pg,
    resyncMs: 60_000, // rounds are driven by the test
    log: { warn: () => {} },
    lastSeqs: async (ids) => {
      const rows = await a.app.db.query<{ id: string; last_seq: string }>('SELECT id, last_seq FROM rooms WHERE id = ANY($1::uuid[])', [ids])
      return new Map(rows.map((r) => [r.id, Number(r.last_seq)]))
    },
  })
  await bus.start()
  t.after(() => bus.close())
  const seen: RoomEvent[] = []
  let wake = () => {}
  bus.subscribe((e) => {
    if (e.roomId === roomId) seen.push(e)
    wake()
  })
  const start = (await a.app.store.roomById(roomId))!.lastSeq
  bus.watch(roomId, start)
  const until = async (n: number) => {
    const deadline = Date.now() + 10_000
    while (seen.length < n) {
      if (Date.now() > deadline) throw new Error(`saw ${seen.length} of ${n} events`)
      await new Promise<void>((r) => {
        wake = r
        setTimeout(r, 200)
      })
      if (seen.length < n) await bus.tick()
    }
  }
  await a.app.rooms.send({ agentToken: alice, text: 'before' })
  await until(1)
  // Kill the bus's connections (LISTEN included); the sends below happen while it is gone.
  await a.app.db.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [appName])
  for (let i = 0; i < 5; i++) await a.app.rooms.send({ agentToken: alice, text: `during ${i}` })
  await until(6)
  await a.app.rooms.send({ agentToken: alice, text: 'after' })
  await until(7)
  assert.deepEqual(seen.map((e) => e.seq).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7].map((i) => start + i))
  assert.equal(new Set(seen.map((e) => e.seq)).size, seen.length, 'each seq once')
})

test('multi-instance: an instance alone publishes no NOTIFY half a second after its hello; one that starts is heard and answered at once, and both publish to each other', { skip }, async (t) => {
  const pg = postgres(DATABASE_URL!, { max: 4, onnotice: () => {} })
  t.after(() => pg.end({ timeout: 1 }))
  const channel = `convene_test_${process.pid}_${Date.now()}`
  const ROUND = 60_000 // rounds are driven by the test, time by its clock
  let now = 1_000_000
  const bus = () => {
    const events: string[] = []
    let heard = () => {}
    const b = new PgBus({
      channel,
      resyncMs: ROUND,
      now: () => now,
      log: { warn: () => {} },
      lastSeqs: async () => new Map(),
      pubsub: {
        notify: (c, payload) => {
          if (!payload.startsWith('p:')) events.push(payload.split('|')[1])
          return pg.notify(c, payload)
        },
        listen: (c, onNotify, onListen) =>
          pg.listen(c, (payload) => {
            onNotify(payload)
            heard()
          }, onListen),
      },
    })
    t.after(() => b.close())
    /** Resolves once a notification arrives after which `ok` holds. */
    const until = (ok: () => boolean) =>
      new Promise<void>((r) => {
        heard = () => {
          if (ok()) r()
        }
      })
    return { b, events, until }
  }
  const a = bus()
  const echo = a.until(() => true)
  await a.b.start()
  await a.b.publish({ roomId: 'r', seq: 1 })
  assert.deepEqual(a.events, ['r:1'], 'too soon after start to know it is alone: publishes')
  await echo // its hello came back: answers from running instances would be on their way
  now += 499
  await a.b.publish({ roomId: 'r', seq: 2 })
  assert.deepEqual(a.events, ['r:1', 'r:2'], 'still waiting for answers: publishes')
  now += 2
  await a.b.publish({ roomId: 'r', seq: 3 })
  assert.deepEqual(a.events, ['r:1', 'r:2'], 'alone, half a second after its hello came back (not two rounds): no NOTIFY')
  assert.equal(a.b.peerCount(), 0)

  const b = bus()
  const hello = a.until(() => a.b.peerCount() === 1)
  const answer = b.until(() => b.b.peerCount() === 1)
  await b.b.start()
  await hello
  await answer // a answered b's hello at once: b knows a long before a's next round
  const got: RoomEvent[] = []
  const arrived = new Promise<void>((r) => b.b.subscribe((e) => (got.push(e), r())))
  await a.b.publish({ roomId: 'r', seq: 4 })
  assert.deepEqual(a.events, ['r:1', 'r:2', 'r:4'])
  await arrived
  assert.deepEqual(got, [{ roomId: 'r', seq: 4 }])
  now += 501 // past b's hello window: b publishes because it knows a
  const toA: RoomEvent[] = []
  const reached = new Promise<void>((r) => a.b.subscribe((e) => (toA.push(e), r())))
  await b.b.publish({ roomId: 'q', seq: 1 })
  assert.deepEqual(b.events, ['q:1'])
  await reached
  assert.deepEqual(toA, [{ roomId: 'q', seq: 1 }])

  // b goes silent: three of its rounds later a is alone again
  now += 3 * ROUND + 1
  assert.equal(a.b.peerCount(), 0)
  await a.b.publish({ roomId: 'r', seq: 5 })
  assert.deepEqual(a.events, ['r:1', 'r:2', 'r:4'])
})

test('multi-instance: GET /metrics tells how many other instances share the event bus', { skip }, async (t) => {
  const [a] = await twoInstances(t)
  const scrape = async () => (await (await fetch(`${a.url}/metrics`)).text()).match(/^convene_event_bus_peers (\d+)$/m)?.[1]
  // b said hello as it started; each scrape is a round trip in which a can read it
  let peers = await scrape()
  for (let i = 0; i < 50 && peers !== '1'; i++) peers = await scrape()
  assert.equal(peers, '1')
})
