import assert from 'node:assert/strict'
import { test } from 'node:test'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { PGlite } from '@electric-sql/pglite'
import { PgliteSession } from '../../db/pglite.ts'

async function session(t: { after(fn: () => Promise<void>): void }, maxPrepared?: number) {
  const db = await PGlite.create('memory://')
  const s = new PgliteSession(db, maxPrepared)
  t.after(() => s.close())
  await s.sql.exec('CREATE TABLE t (id int PRIMARY KEY, at timestamptz, ok boolean, big bigint, tags text[], doc jsonb)')
  return { db, sql: s.sql }
}

test('embedded statements: kept prepared, parameters and results typed as PGlite types them', async (t) => {
  const { db, sql } = await session(t)
  const at = new Date('2026-01-02T03:04:05.678Z')
  const insert = 'INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6) RETURNING *'
  const [row] = await sql.query(insert, [1, at, true, 9007199254740993n, ['a', 'b"c', null], { k: [1, 'x'] }])
  assert.deepEqual(row, { id: 1, at, ok: true, big: 9007199254740993n, tags: ['a', 'b"c', null], doc: { k: [1, 'x'] } })
  await sql.query(insert, [2, null, false, 0, [], null])
  const read = 'SELECT id, ok FROM t WHERE id = ANY($1::int[]) ORDER BY id'
  assert.deepEqual(await sql.query(read, [[1, 2]]), [{ id: 1, ok: true }, { id: 2, ok: false }])
  assert.deepEqual(await sql.query(read, [[2]]), [{ id: 2, ok: false }])
  // the same as PGlite's own query gives
  assert.deepEqual(await sql.query('SELECT * FROM t ORDER BY id'), (await db.query('SELECT * FROM t ORDER BY id')).rows)
  const kept = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements')
  assert.equal(kept.rows[0].n, 3, 'one prepared statement per distinct text')
  assert.deepEqual(await sql.query('UPDATE t SET ok = true WHERE id = 2'), [], 'statements without rows give none')
})

test('embedded statements: errors carry their SQLSTATE, nothing broken is kept, the session goes on', async (t) => {
  const { sql } = await session(t)
  await assert.rejects(sql.query('SELEC 1'), /syntax error/)
  await assert.rejects(sql.query('SELEC 1'), /syntax error/, 'a failed parse is not kept')
  await sql.query('INSERT INTO t (id) VALUES ($1)', [1])
  await assert.rejects(sql.query('INSERT INTO t (id) VALUES ($1)', [1]), (e: { code?: string }) => e.code === '23505')
  await assert.rejects(sql.query('SELECT $1::int', ['x']), /invalid input syntax for type integer/)
  assert.deepEqual(await sql.query('SELECT count(*)::int AS n FROM t'), [{ n: 1 }])
})

test('embedded transactions: commit, roll back on a throw, and nothing from outside slips into an open one', async (t) => {
  const { sql } = await session(t)
  await sql.begin(async (tx) => {
    await tx.query('INSERT INTO t (id) VALUES (1)')
    await tx.exec('INSERT INTO t (id) VALUES (2); INSERT INTO t (id) VALUES (3)')
  })
  let release!: () => void
  const held = new Promise<void>((r) => (release = r))
  let txDone = false
  const failing = sql.begin(async (tx) => {
    await tx.query('INSERT INTO t (id) VALUES (4)')
    await held
    txDone = true
    throw new Error('changed my mind')
  })
  // queued behind the open transaction: it must not run inside it (and be rolled back with it)
  const outside = sql.query('INSERT INTO t (id) VALUES (5) RETURNING id').then((rows) => {
    assert.ok(txDone, 'ran only after the transaction ended')
    return rows
  })
  release()
  await assert.rejects(failing, /changed my mind/)
  assert.deepEqual(await outside, [{ id: 5 }])
  assert.deepEqual(await sql.query('SELECT id FROM t ORDER BY id'), [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 5 }])
  let leaked: import('../../db/database.ts').Sql | undefined
  await sql.begin(async (tx) => void (leaked = tx))
  await assert.rejects(leaked!.query('SELECT 1'), /transaction already ended/)
})

test('embedded statements past the kept limit still run, parsed each time', async (t) => {
  const { db, sql } = await session(t, 2)
  for (let i = 0; i < 5; i++) assert.deepEqual(await sql.query(`SELECT $1::int + ${i} AS n`, [10]), [{ n: 10 + i }])
  assert.deepEqual(await sql.query('SELECT $1::int + 4 AS n', [1]), [{ n: 5 }])
  const kept = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements')
  assert.equal(kept.rows[0].n, 2)
})

test('embedded statements keep no memory per statement', async (t) => {
  const { sql } = await session(t)
  v8.setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const heap = async (runs: number) => {
    for (let i = 0; i < runs; i++) await sql.query('SELECT $1::int AS n, $2::text AS s', [i, 'some text to answer with'])
    gc()
    return process.memoryUsage().heapUsed
  }
  const before = await heap(2_000)
  const after = await heap(20_000)
  // PGlite collects every reply it parses into its last execProtocol call's list: used raw, that list grew by a few hundred bytes a statement
  assert.ok(after - before < 3 * 2 ** 20, `heap grew ${((after - before) / 2 ** 20).toFixed(1)} MB over 20,000 statements`)
})
