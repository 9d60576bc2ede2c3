import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import postgres from 'postgres'
import type { PubSub } from '../lib/events-pg.ts'
import { Gate } from '../lib/mutex.ts'

export type Row = Record<string, unknown>

/** The little SQL surface the store is written against; both drivers provide it. */
export interface Sql {
  query<T extends Row = Row>(text: string, params?: unknown[]): Promise<T[]>
  begin<T>(fn: (tx: Sql) => Promise<T>): Promise<T>
  /** Runs a script of several statements (migrations). */
  exec(text: string): Promise<void>
}

export interface Database extends Sql {
  readonly kind: 'postgres' | 'pglite'
  /** Runs fn holding a session-level advisory lock on its own connection. */
  withAdvisoryLock<T>(key: string, fn: () => Promise<T>): Promise<T>
  close(): Promise<void>
  /** Statements and locks waiting for a connection (always 0 on the embedded store, which queues inside). */
  waiting(): number
  /** LISTEN/NOTIFY between instances; absent on the embedded store. */
  readonly pubsub?: PubSub
}

export async function openDatabase(opts: { databaseUrl?: string; dataDir: string; poolSize?: number }): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.poolSize ?? 10) : openPglite(opts.dataDir)
}

function openPostgres(url: string, poolSize: number): Database {
  const pg = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    idle_timeout: 60,
    connect_timeout: 10,
  })
  // Never more statements (or transactions) in flight than connections, so postgres.js always finds an
  // idle connection and never pipelines onto a busy one: its busy queue keeps a hole per pipelined query
  // and scans them all on every move, so every query got slower with the process's age (postgres.js 3.4.9, src/queue.js).
  const gate = new Gate(poolSize)
  // A lock holds its connection while fn runs queries of its own: leave those enough connections.
  const lockGate = new Gate(Math.max(1, Math.floor(poolSize / 2)))
  const wrap = (q: postgres.Sql | postgres.TransactionSql, gated: boolean): Sql => {
    const admit = gated ? <T>(fn: () => Promise<T>) => gate.run(fn) : <T>(fn: () => Promise<T>) => fn()
    return {
      query: <T extends Row>(text: string, params: unknown[] = []) =>
        admit(async () => (await q.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true })) as unknown as T[]),
      begin: (fn) => gate.run(() => pg.begin((tx) => fn(wrap(tx, false))) as never),
      exec: (text) =>
        admit(async () => {
          await q.unsafe(text)
        }),
    }
  }
  return {
    kind: 'postgres',
    ...wrap(pg, true),
    pubsub: {
      notify: (channel, payload) => gate.run(() => pg.notify(channel, payload)),
      listen: (channel, onNotify, onListen) => pg.listen(channel, onNotify, onListen),
    },
    withAdvisoryLock: (key, fn) =>
      lockGate.run(() => gate.run(async () => {
        const conn = await pg.reserve()
        try {
          await conn.unsafe('SELECT pg_advisory_lock(hashtext($1))', [key])
          try {
            return await fn()
          } finally {
            await conn.unsafe('SELECT pg_advisory_unlock(hashtext($1))', [key])
          }
        } finally {
          conn.release()
        }
      })),
    waiting: () => gate.waiting + lockGate.waiting,
    close: () => pg.end({ timeout: 5 }),
  }
}

async function openPglite(dataDir: string): Promise<Database> {
  // PostgreSQL's 128 MB default buffer pool is sized for a server; in-process, 32 MB keeps RSS low.
  const opts = { postgresqlconf: ['shared_buffers = 32MB', 'maintenance_work_mem = 16MB'] }
  let db: PGlite
  if (dataDir.startsWith('memory://')) db = await PGlite.create(dataDir, opts)
  else {
    mkdirSync(dataDir, { recursive: true })
    db = await PGlite.create(`${dataDir.replace(/\/$/, '')}/pglite`, opts)
  }
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>): Sql => ({
    query: async <T extends Row>(text: string, params: unknown[] = []) => (await q.query<T>(text, params)).rows,
    begin: (fn) => db.transaction((tx) => fn(wrap(tx))),
    exec: async (text) => {
      await q.exec(text)
    },
  })
  return {
    kind: 'pglite',
    ...wrap(db),
    // One embedded instance per data dir: an in-process lock is enough (see Store.withLock).
    withAdvisoryLock: (_key, fn) => fn(),
    waiting: () => 0,
    close: () => db.close(),
  }
}
