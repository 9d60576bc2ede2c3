import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import type { Database } from '../../db/sql.ts'

/** What a session remembers across restarts and instances. */
export interface SessionState {
  agentToken: string | null
  agentId: string | null
  roomId: string | null
  logLevel: string
  usesStream: boolean
  notifyAfter: number
}

export const emptyState = (): SessionState => ({
  agentToken: null,
  agentId: null,
  roomId: null,
  logLevel: 'info',
  usesStream: false,
  notifyAfter: 0,
})

/** Rows are found by a digest of the session id, never the id itself. */
export const sessionKey = (sessionId: string): string =>
  createHash('sha256').update(`convene-mcp-session:${sessionId}`).digest('hex')

const boxKey = (sessionId: string) =>
  Buffer.from(hkdfSync('sha256', sessionId, 'convene-mcp', 'agent-token', 32))

/** Seals the agent token under a key only the session id's holder can derive (AES-256-GCM). */
export function seal(sessionId: string, token: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', boxKey(sessionId), iv)
  const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')
}

export function open(sessionId: string, box: string): string | null {
  try {
    const raw = Buffer.from(box, 'base64')
    const decipher = createDecipheriv('aes-256-gcm', boxKey(sessionId), raw.subarray(0, 12))
    decipher.setAuthTag(raw.subarray(12, 28))
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
  } catch {
    return null
  }
}

/** MCP session rows over the raw database. */
export class SessionStore {
  constructor(private readonly db: Database) {}

  async insert(sessionId: string, state: SessionState, now: Date): Promise<void> {
    await this.db.query(
      `INSERT INTO mcp_sessions (key, token_box, agent_id, room_id, log_level, uses_stream, notify_after, created_at, last_seen)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (key) DO NOTHING`,
      [sessionKey(sessionId), ...this.columns(sessionId, state), now],
    )
  }

  async save(sessionId: string, state: SessionState, now: Date): Promise<void> {
    await this.db.query(
      `UPDATE mcp_sessions SET token_box = $2, agent_id = $3, room_id = $4, log_level = $5, uses_stream = $6,
         notify_after = $7, last_seen = $8 WHERE key = $1`,
      [sessionKey(sessionId), ...this.columns(sessionId, state), now],
    )
  }

  private columns(sessionId: string, s: SessionState): unknown[] {
    return [s.agentToken ? seal(sessionId, s.agentToken) : null, s.agentId, s.roomId, s.logLevel, s.usesStream, s.notifyAfter]
  }

  /** The stored state, if the session exists and was seen after `idleCutoff`. */
  async load(sessionId: string, idleCutoff: Date): Promise<SessionState | null> {
    const [row] = await this.db.query(
      `SELECT token_box, agent_id, room_id, log_level, uses_stream, notify_after,
         (SELECT max(seq) FROM mcp_events e WHERE e.session_key = s.key) AS last_event_seq
       FROM mcp_sessions s WHERE key = $1 AND last_seen >= $2`,
      [sessionKey(sessionId), idleCutoff],
    )
    if (!row) return null
    const token = row.token_box ? open(sessionId, row.token_box as string) : null
    return {
      agentToken: token,
      agentId: token ? ((row.agent_id as string | null) ?? null) : null,
      roomId: token ? ((row.room_id as string | null) ?? null) : null,
      logLevel: row.log_level as string,
      usesStream: Boolean(row.uses_stream),
      notifyAfter: Math.max(Number(row.notify_after), Number(row.last_event_seq ?? 0)),
    }
  }

  /** Marks sessions as used now (batched). */
  async touch(sessionIds: string[], now: Date): Promise<void> {
    if (sessionIds.length === 0) return
    const keys = sessionIds.map(sessionKey)
    const params = keys.map((_, i) => `$${i + 2}`).join(', ')
    await this.db.query(`UPDATE mcp_sessions SET last_seen = $1 WHERE key IN (${params})`, [now, ...keys])
  }

  async delete(sessionId: string): Promise<void> {
    const key = sessionKey(sessionId)
    await this.db.query('DELETE FROM mcp_events WHERE session_key = $1', [key])
    await this.db.query('DELETE FROM mcp_sessions WHERE key = $1', [key])
  }

  /** Forgets sessions idle since before the cutoff, and events older than it. */
  async expire(idleCutoff: Date): Promise<void> {
    await this.db.query('DELETE FROM mcp_sessions WHERE last_seen < $1', [idleCutoff])
    await this.db.query(
      'DELETE FROM mcp_events e WHERE e.created_at < $1 OR NOT EXISTS (SELECT 1 FROM mcp_sessions s WHERE s.key = e.session_key)',
      [idleCutoff],
    )
  }
}
