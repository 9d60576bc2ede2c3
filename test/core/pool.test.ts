import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Gate } from '../../db/mutex.ts'
import { PgPool } from '../../db/pool.ts'
import { a2a, createRoom, DATABASE_URL, startApp } from '../helpers.ts'

test('a gate lets at most its size in at once, and the rest in arrival order', async () => {
  const gate = new Gate(3)
  let inside = 0
  let most = 0
  const order: number[] = []
  const opens: (() => void)[] = []
  const runs = Array.from({ length: 10 }, (_, i) =>
    gate.run(async () => {
      inside++
      most = Math.max(most, inside)
      order.push(i)
      await new Promise<void>((r) => opens.push(r))
      inside--
    }),
  )
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(order, [0, 1, 2])
  assert.equal(gate.waiting, 7)
  while (order.length < 10 || opens.length) {
    opens.shift()!()
    await new Promise((r) => setImmediate(r))
  }
  await Promise.all(runs)
  assert.equal(most, 3)
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  assert.equal(gate.waiting, 0)
})

test('a gate stays in order across many more callers than its queue compacts at', async () => {
  const gate = new Gate(1)
  const order: number[] = []
  await Promise.all(Array.from({ length: 5000 }, (_, i) => gate.run(async () => void order.push(i))))
  assert.deepEqual(order, Array.from({ length: 5000 }, (_, i) => i))
  assert.equal(gate.waiting, 0)
  // a throwing caller gives its place back
  await assert.rejects(gate.run(async () => Promise.reject(new Error('boom'))), /boom/)
  assert.equal(await gate.run(async () => 'next'), 'next')
})

const pgOnly = { skip: !DATABASE_URL && 'PostgreSQL only: the embedded store has no pool', timeout: 30_000 }

test('the pool spreads statements over its connections, pipelines at most depth on each, queues the rest', pgOnly, async (t) => {
  const pool = new PgPool(DATABASE_URL!, 3, 2, { onnotice: () => {} })
  t.after(() => pool.end(1))
  const runs = Array.from({ length: 20 }, () => pool.run(async (sql) => (await sql`SELECT pg_backend_pid() AS pid`)[0].pid as number))
  assert.equal(pool.waiting, 20 - 3 * 2)
  const pids = await Promise.all(runs)
  assert.equal(new Set(pids).size, 3)
  assert.equal(pool.waiting, 0)
})

test('the pool leaves one connection to statements however many transactions wait', pgOnly, async (t) => {
  const pool = new PgPool(DATABASE_URL!, 3, 2, { onnotice: () => {} })
  t.after(() => pool.end(1))
  let release = () => {}
  const gate = new Promise<void>((r) => (release = r))
  const holders = Array.from({ length: 4 }, () => pool.hold((sql) => sql.begin(async (tx) => (await gate, (await tx`SELECT 1 AS one`)[0].one))))
  assert.equal(pool.waiting, 2, 'two of three connections held, two transactions waiting')
  const [row] = await pool.run((sql) => sql`SELECT 2 AS two`)
  assert.equal(row.two, 2)
  release()
  assert.deepEqual(await Promise.all(holders), [1, 1, 1, 1])
})

test('lock holders cannot take every connection from the queries they run (PostgreSQL)', pgOnly, async (t) => {
  const srv = await startApp(t, { databasePoolSize: 2 })
  const { token } = await createRoom(srv)
  // More holders than connections, each running queries while it holds its lock: none may starve.
  const held = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      srv.app.store.withLock(`pool-test:${i}`, async () => {
        await srv.app.db.query('SELECT 1')
        return (await a2a(srv, 'message.send', { agentToken: token }, { text: `under lock ${i}` })).data.seq as number
      }),
    ),
  )
  assert.equal(new Set(held).size, 6)
})

test('GET /metrics counts what waits for a PostgreSQL connection', pgOnly, async (t) => {
  const srv = await startApp(t, { databasePoolSize: 2 })
  let release = () => {}
  let entered = () => {}
  const inside = new Promise<void>((r) => (entered = r))
  const first = srv.app.store.withLock('pool-metrics:0', async () => {
    entered()
    await new Promise<void>((r) => (release = r))
  })
  await inside
  // a pool of 2 gives locks 1 connection: these two wait behind the first
  const queued = [1, 2].map((i) => srv.app.store.withLock(`pool-metrics:${i}`, async () => {}))
  const scrape = async () => (await (await fetch(`${srv.url}/metrics`)).text()).match(/^convene_db_waiting (\d+)$/m)?.[1]
  assert.equal(await scrape(), '2')
  release()
  await Promise.all([first, ...queued])
  assert.equal(await scrape(), '0')
})

test('array parameters travel as quoted literals, whatever their text', async () => {
  const { arrayParam } = await import('../../db/sql.ts')
  assert.equal(arrayParam(['a', 'b"c', 'd\\e', null, 'x,y}']), '{"a","b\\"c","d\\\\e",NULL,"x,y}"}')
  assert.equal(arrayParam('plain'), 'plain')
})

test('array parameters reach PostgreSQL intact', pgOnly, async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  const texts = ['a', 'b"c', 'd\\e', 'x,y}', '{NULL}', 'ünï']
  const rows = await srv.app.db.query<{ t: string }>('SELECT unnest($1::text[]) AS t', [texts])
  assert.deepEqual(rows.map((r) => r.t), texts)
})
