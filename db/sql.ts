import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import postgres from 'postgres'

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
  /** The porsager client, for LISTEN/NOTIFY; absent on the embedded store. */
  readonly pg?: postgres.Sql
}

export async function openDatabase(opts: { databaseUrl?: string; dataDir: string }): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl) : openPglite(opts.dataDir)
}

function openPostgres(url: string): Database {
  const pg = postgres(url, {
    max: 10,
    onnotice: () => {},
    idle_timeout: 60,
    connect_timeout: 10,
  })
  const wrap = (q: postgres.Sql | postgres.TransactionSql): Sql => ({
    query: async <T extends Row>(text: string, params: unknown[] = []) =>
      (await q.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true })) as unknown as T[],
    begin: (fn) => pg.begin((tx) => fn(wrap(tx))) as never,
    exec: async (text) => {
      await q.unsafe(text)
    },
  })
  const base = wrap(pg)
  return {
    kind: 'postgres',
    pg,
    ...base,
    async withAdvisoryLock(key, fn) {
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
    },
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
    close: () => db.close(),
  }
}
