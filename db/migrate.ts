/** Schema migrations: applies the pending db/migrations/*.sql files in order. */
import { readdir, readFile } from 'node:fs/promises'
import type { Sql } from './database.ts'

const DIR = new URL('./migrations/', import.meta.url)
const LOCK = 'convene:migrations'

/** Applies pending `NNN_name.sql` files in order, in one transaction, under an advisory lock. */
export async function migrate(db: Sql): Promise<string[]> {
  const files = (await readdir(DIR)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort()
  return db.begin(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [LOCK])
    await tx.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    )
    const done = new Set((await tx.query<{ version: string }>('SELECT version FROM schema_migrations')).map((r) => r.version))
    const applied: string[] = []
    for (const file of files) {
      if (done.has(file)) continue
      await tx.exec(await readFile(new URL(file, DIR), 'utf8'))
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [file])
      applied.push(file)
    }
    return applied
  })
}
