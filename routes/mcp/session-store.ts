// MCP session state across restarts and instances: rows keyed by a digest of the id, the agent token sealed.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'

type McpStore = FastifyInstance['mcpStore']
type McpSessionRow = Parameters<McpStore['insertSession']>[0]

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
function seal(sessionId: string, token: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', boxKey(sessionId), iv)
  const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')
}

function open(sessionId: string, box: string): string | null {
  try {
    const raw = Buffer.from(box, 'base64')
    const decipher = createDecipheriv('aes-256-gcm', boxKey(sessionId), raw.subarray(0, 12))
    decipher.setAuthTag(raw.subarray(12, 28))
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
  } catch {
    return null
  }
}

/** MCP session state in the store: found by a digest of the session id, the agent token sealed. */
export class SessionStore {
  constructor(private readonly db: McpStore) {}

  insert(sessionId: string, state: SessionState, now: Date): Promise<void> {
    return this.db.insertSession(this.row(sessionId, state), now)
  }

  save(sessionId: string, state: SessionState, now: Date): Promise<void> {
    return this.db.saveSession(this.row(sessionId, state), now)
  }

  private row(sessionId: string, s: SessionState): McpSessionRow {
    return {
      key: sessionKey(sessionId),
      tokenBox: s.agentToken ? seal(sessionId, s.agentToken) : null,
      agentId: s.agentId,
      roomId: s.roomId,
      logLevel: s.logLevel,
      usesStream: s.usesStream,
      notifyAfter: s.notifyAfter,
    }
  }

  /** The stored state, if the session exists and was seen after `idleCutoff`. */
  async load(sessionId: string, idleCutoff: Date): Promise<SessionState | null> {
    const row = await this.db.loadSession(sessionKey(sessionId), idleCutoff)
    if (!row) return null
    const token = row.tokenBox ? open(sessionId, row.tokenBox) : null
    return {
      agentToken: token,
      agentId: token ? row.agentId : null,
      roomId: token ? row.roomId : null,
      logLevel: row.logLevel,
      usesStream: row.usesStream,
      notifyAfter: Math.max(row.notifyAfter, row.lastEventSeq ?? 0),
    }
  }

  /** Marks sessions as used now (batched). */
  touch(sessionIds: string[], now: Date): Promise<void> {
    return this.db.touchSessions(sessionIds.map(sessionKey), now)
  }

  delete(sessionId: string): Promise<void> {
    return this.db.deleteSession(sessionKey(sessionId))
  }

  /** Forgets sessions idle since before the cutoff, and events older than it. */
  expire(idleCutoff: Date): Promise<void> {
    return this.db.expireSessions(idleCutoff)
  }
}
