/** Opens the database: PostgreSQL through our pool when given a URL, else embedded PGlite in the data dir. */
import { mkdirSync } from 'node:fs'
import type { PGlite } from '@electric-sql/pglite'
import postgres from 'postgres'
import { Gate } from './mutex.ts'
import type { Database, Row, Sql } from './database.ts'
import { maintain } from './maintain.ts'
import { initPgliteDir, loadPglite } from './pglite-init.ts'
import { PgPool } from './pool.ts'

export async function openDatabase(opts: { databaseUrl?: string; dataDir: string; poolSize?: number }): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.poolSize ?? 10) : openPglite(opts.dataDir)
}

/** Statements pipelined on one PostgreSQL connection at most, before they wait for one. */
const PIPELINE_DEPTH = 8

function openPostgres(url: string, poolSize: number): Database {
  // fetch_types off: postgres.js fetches array types on every new connection from a promise nobody awaits, and a
  // connection made as PostgreSQL goes down rejects it, an unhandled rejection that kills the process. The few array
  // parameters we send go as array literals instead (arrayParam).
  // backoff: postgres.js waits up to 20 s before each new attempt on a connection that failed, and statements queued
  // on it try one at a time: during an outage a request waited minutes for its 503, and a close for all of them.
  const pool = new PgPool(url, poolSize, PIPELINE_DEPTH, { onnotice: () => {}, idle_timeout: 60, connect_timeout: 10, fetch_types: false, backoff: reconnectDelay })
  // A lock holds its connection while fn runs statements of its own: leave those connections.
  const lockGate = new Gate(Math.max(1, Math.floor(poolSize / 2)))
  const wrap = (run: <T>(fn: (q: postgres.Sql | postgres.TransactionSql) => Promise<T>) => Promise<T>): Sql => ({
    query: <T extends Row>(text: string, params: unknown[] = []) =>
      run(async (q) => (await q.unsafe(text, params.map(arrayParam) as postgres.ParameterOrJSON<never>[], { prepare: true })) as unknown as T[]),
    begin: (fn) => pool.hold((sql) => sql.begin((tx) => fn(wrap((f) => f(tx)))) as never),
    exec: (text) =>
      run(async (q) => {
        await q.unsafe(text)
      }),
  })
  return {
    kind: 'postgres',
    ...wrap((fn) => pool.run(fn)),
    pubsub: {
      notify: (channel, payload) => pool.run((sql) => sql.notify(channel, payload)),
      listen: (channel, onNotify, onListen) => pool.any.listen(channel, onNotify, onListen),
    },
    withAdvisoryLock: (key, fn) =>
      lockGate.run(() =>
        pool.hold(async (sql) => {
          await sql.unsafe('SELECT pg_advisory_lock(hashtext($1))', [key])
          try {
            return await fn()
          } finally {
            await sql.unsafe('SELECT pg_advisory_unlock(hashtext($1))', [key])
          }
        }),
      ),
    waiting: () => pool.waiting + lockGate.waiting,
    close: (graceMs = 5000) => pool.end(graceMs / 1000),
  }
}

/** Seconds before a failed connection's next attempt: postgres.js's curve (10 ms, 30 ms, 90 ms, ...), at most 1 s. */
const reconnectDelay = (retries: number) => (0.5 + Math.random() / 2) * Math.min(3 ** retries / 100, 1)

/** A one-dimensional array as a PostgreSQL array literal: every element quoted, so any text is safe. */
export function arrayParam(value: unknown): unknown {
  if (!Array.isArray(value)) return value
  const quote = (x: unknown) => (x === null || x === undefined ? 'NULL' : `"${String(x).replace(/[\\"]/g, (c) => `\\${c}`)}"`)
  return `{${value.map(quote).join(',')}}`
}

async function openPglite(dataDir: string): Promise<Database> {
  // Loaded here, not at the top: a PostgreSQL server never needs PGlite (~40 MB of RSS under tsx).
  const [{ PGlite }, { PgliteSession }] = await Promise.all([loadPglite(), import('./pglite.ts')])
  // PostgreSQL's 128 MB default buffer pool is sized for a server; in-process it is touched at start: 16 MB (RSS).
  const opts = { postgresqlconf: ['shared_buffers = 16MB', 'maintenance_work_mem = 16MB'] }
  let db: PGlite
  if (dataDir.startsWith('memory://')) db = await PGlite.create(dataDir, opts)
  else {
    mkdirSync(dataDir, { recursive: true })
    const dir = `${dataDir.replace(/\/$/, '')}/pglite`
    await initPgliteDir(dir)
    db = await PGlite.create(dir, opts)
  }
  const session = new PgliteSession(db)
  const base = session.sql
  return {
    kind: 'pglite',
    ...base,
    // One embedded instance per data dir: an in-process lock is enough (see Store.withLock).
    withAdvisoryLock: (_key, fn) => fn(),
    maintain: () => maintain(base),
    waiting: () => 0,
    close: () => session.close(),
  }
}
