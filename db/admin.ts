/** Operator queries for `convene admin`: every room (protected ones too) with its figures, and the schema's state. */
import { readdirSync } from 'node:fs'
import type { Database } from './database.ts'

export interface AdminRoom {
  id: string
  name: string
  passwordProtected: boolean
  type: 'group' | 'channel'
  description: string
  createdAt: Date
  lastActivity: Date
  /** Messages ever posted (room-bot notices and DMs included): the room's last seq. */
  messages: number
  agents: number
}

const MIGRATIONS = new URL('./migrations/', import.meta.url)

export function adminQueries(db: Database) {
  return {
    /** Every room, most recently active first. */
    async rooms(): Promise<AdminRoom[]> {
      const rows = await db.query(
        `SELECT r.id, r.name, r.password_hash IS NOT NULL AS protected, r.type, r.description, r.created_at, r.last_activity,
                r.last_seq, (SELECT count(*) FROM agents a WHERE a.room_id = r.id) AS agents
         FROM rooms r ORDER BY r.last_activity DESC, r.id`,
      )
      return rows.map((r) => ({
        id: r.id as string,
        name: r.name as string,
        passwordProtected: Boolean(r.protected),
        type: r.type as AdminRoom['type'],
        description: r.description as string,
        createdAt: new Date(r.created_at as string),
        lastActivity: new Date(r.last_activity as string),
        messages: Number(r.last_seq),
        agents: Number(r.agents),
      }))
    },

    /** Migrations this code has that the database lacks; null when it has no Convene schema at all. */
    async pendingMigrations(): Promise<string[] | null> {
      const [t] = await db.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`)
      if (!t?.t) return null
      const done = new Set((await db.query<{ version: string }>('SELECT version FROM schema_migrations')).map((r) => r.version))
      return readdirSync(MIGRATIONS)
        .filter((f) => /^\d+_.+\.sql$/.test(f) && !done.has(f))
        .sort()
    },
  }
}
