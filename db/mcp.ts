/** MCP persistence, kept out of the domain's Store: sessions (mcp_sessions) and the GET streams' event log (mcp_events). */
import type { Row, Sql } from './database.ts'

/** An MCP session as stored: found by a digest of its id; the agent token sealed under a key from the id. */
export interface McpSessionRow {
  key: string
  tokenBox: string | null
  agentId: string | null
  roomId: string | null
  logLevel: string
  usesStream: boolean
  notifyAfter: number
}

/** MCP sessions and their GET streams' event log, so sessions survive restarts and move between instances. */
export interface McpStore {
  insertSession(row: McpSessionRow, now: Date): Promise<void>
  saveSession(row: McpSessionRow, now: Date): Promise<void>
  /** The session if seen after `idleCutoff`, with the room seq of its last logged event. */
  loadSession(key: string, idleCutoff: Date): Promise<(McpSessionRow & { lastEventSeq: number | null }) | null>
  touchSessions(keys: string[], now: Date): Promise<void>
  deleteSession(key: string): Promise<void>
  /** Forgets sessions idle since before the cutoff, and events older than it. */
  expireSessions(idleCutoff: Date): Promise<void>
  /** Appends events; returns their ids (monotonic) in the order given. */
  appendEvents(events: { key: string; seq: number | null; message: string; createdAt: Date }[]): Promise<string[]>
  /** A session's events after `afterId`, oldest first. */
  eventsAfter(key: string, afterId: bigint, limit: number): Promise<{ id: string; message: string }[]>
}

const COLS = 'token_box, agent_id, room_id, log_level, uses_stream, notify_after'
const values = (r: McpSessionRow) => [r.tokenBox, r.agentId, r.roomId, r.logLevel, r.usesStream, r.notifyAfter]

const toRow = (key: string, r: Row): McpSessionRow & { lastEventSeq: number | null } => ({
  key,
  tokenBox: (r.token_box as string | null) ?? null,
  agentId: (r.agent_id as string | null) ?? null,
  roomId: (r.room_id as string | null) ?? null,
  logLevel: r.log_level as string,
  usesStream: Boolean(r.uses_stream),
  notifyAfter: Number(r.notify_after),
  lastEventSeq: r.last_event_seq === null || r.last_event_seq === undefined ? null : Number(r.last_event_seq),
})

/** The McpStore on SQL. */
export function mcpStore(db: Sql): McpStore {
  return {
    async insertSession(row, now) {
      await db.query(
        `INSERT INTO mcp_sessions (key, ${COLS}, created_at, last_seen)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (key) DO NOTHING`,
        [row.key, ...values(row), now],
      )
    },

    async saveSession(row, now) {
      await db.query(
        `UPDATE mcp_sessions SET token_box = $2, agent_id = $3, room_id = $4, log_level = $5, uses_stream = $6,
           notify_after = $7, last_seen = $8 WHERE key = $1`,
        [row.key, ...values(row), now],
      )
    },

    async loadSession(key, idleCutoff) {
      const [r] = await db.query(
        `SELECT ${COLS}, (SELECT max(seq) FROM mcp_events e WHERE e.session_key = s.key) AS last_event_seq
         FROM mcp_sessions s WHERE key = $1 AND last_seen >= $2`,
        [key, idleCutoff],
      )
      return r ? toRow(key, r) : null
    },

    async touchSessions(keys, now) {
      if (keys.length === 0) return
      const params = keys.map((_, i) => `$${i + 2}`).join(', ')
      await db.query(`UPDATE mcp_sessions SET last_seen = $1 WHERE key IN (${params})`, [now, ...keys])
    },

    async deleteSession(key) {
      await db.query('DELETE FROM mcp_events WHERE session_key = $1', [key])
      await db.query('DELETE FROM mcp_sessions WHERE key = $1', [key])
    },

    async expireSessions(idleCutoff) {
      await db.query('DELETE FROM mcp_sessions WHERE last_seen < $1', [idleCutoff])
      await db.query(
        'DELETE FROM mcp_events e WHERE e.created_at < $1 OR NOT EXISTS (SELECT 1 FROM mcp_sessions s WHERE s.key = e.session_key)',
        [idleCutoff],
      )
    },

    async appendEvents(events) {
      const rowsSql = events.map((_, i) => `($${i * 4 + 1}, $${i * 4 + 2}::bigint, $${i * 4 + 3}, $${i * 4 + 4}::timestamptz, ${i})`)
      const rows = await db.query<{ id: string }>(
        `INSERT INTO mcp_events (session_key, seq, message, created_at)
         SELECT k, s, m, c FROM (VALUES ${rowsSql.join(', ')}) AS v (k, s, m, c, ord) ORDER BY ord
         RETURNING id`,
        events.flatMap((e) => [e.key, e.seq, e.message, e.createdAt]),
      )
      // Ids follow the ORDER BY; sorting them restores the given order whatever order RETURNING used.
      return rows
        .map((r) => BigInt(r.id))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        .map(String)
    },

    async eventsAfter(key, afterId, limit) {
      const rows = await db.query<{ id: string; message: string }>(
        'SELECT id, message FROM mcp_events WHERE session_key = $1 AND id > $2 ORDER BY id LIMIT $3',
        [key, String(afterId), limit],
      )
      return rows.map((r) => ({ id: String(r.id), message: r.message }))
    },
  }
}
