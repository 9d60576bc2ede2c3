/** The embedded store's stand-in for autovacuum, which PGlite never runs. */
import type { Sql } from './database.ts'

/**
 * The embedded store's autovacuum: PGlite runs PostgreSQL in single-user mode, where no autovacuum worker
 * ever runs, so tables are never analyzed and the planner keeps its empty-table estimates (history turned
 * into a scan of the whole room: 39 ms at 100k messages instead of 0.4 ms). Same thresholds as autovacuum's
 * defaults; returns what it did.
 */
export async function maintain(db: Sql): Promise<string[]> {
  await db.query('SELECT pg_stat_force_next_flush()') // single-user mode holds its counters until asked
  const tables = await db.query<{ relname: string; analyze: boolean; vacuum: boolean }>(
    `SELECT relname,
            n_mod_since_analyze > 50 + 0.1 * n_live_tup AS analyze,
            n_dead_tup > 50 + 0.2 * n_live_tup OR n_ins_since_vacuum > 1000 + 0.2 * n_live_tup AS vacuum
     FROM pg_stat_user_tables WHERE schemaname = 'public'`,
  )
  const done: string[] = []
  for (const t of tables) {
    const what = t.vacuum ? (t.analyze ? 'VACUUM (ANALYZE)' : 'VACUUM') : t.analyze ? 'ANALYZE' : null
    if (!what) continue
    await db.exec(`${what} "${t.relname.replace(/"/g, '""')}"`)
    done.push(`${what} ${t.relname}`)
  }
  return done
}
