/** Table rows to domain records: the column lists each read selects, their mappers, the visibility clause. */
import type { AgentRecord, MessageRecord, RoomRecord } from '../lib/store.ts'
import type { Row } from './database.ts'

export const ROOM_COLS = 'id, name, password_hash, description, type, created_at, last_activity, last_seq'
export const AGENT_COLS = 'id, room_id, name, token_hash, role, endpoint, cursor, joined_at, joined_seq, kind'
export const MSG_COLS = 'room_id, seq, id, sender, sender_id, recipient, recipient_id, body, created_at, reply_to, thread_id, mentions, ack_required, sender_kind'
/**
 * messages.search for a message: its body (migration 007's configuration), plus one lexeme for its room that every
 * search ANDs in. The expression is the SQL function messages_search_vector (migration 013), which the planner inlines.
 */
export const SEARCH_VECTOR = (body: string, roomId: string): string => `messages_search_vector(${body}, ${roomId})`
/** A message is visible to agent $1: broadcast, or a DM it sent or received. */
export const VISIBLE = '(m.recipient_id IS NULL OR m.recipient_id = $1 OR m.sender_id = $1)'

export const toRoom = (r: Row): RoomRecord => ({
  id: r.id as string,
  name: r.name as string,
  passwordHash: (r.password_hash as string | null) ?? null,
  description: r.description as string,
  type: r.type as RoomRecord['type'],
  createdAt: r.created_at as Date,
  lastActivity: r.last_activity as Date,
  lastSeq: Number(r.last_seq),
})

export const toAgent = (r: Row): AgentRecord => ({
  id: r.id as string,
  roomId: r.room_id as string,
  name: r.name as string,
  tokenHash: r.token_hash as string,
  role: r.role as AgentRecord['role'],
  endpoint: (r.endpoint as string | null) ?? null,
  cursor: Number(r.cursor),
  joinedAt: r.joined_at as Date,
  joinedSeq: Number(r.joined_seq ?? 0),
  kind: r.kind === 'human' ? 'human' : 'agent',
})

export const toMessage = (r: Row): MessageRecord => ({
  id: r.id as string,
  seq: Number(r.seq),
  roomId: r.room_id as string,
  from: r.sender as string,
  fromId: (r.sender_id as string | null) ?? null,
  to: (r.recipient as string | null) ?? null,
  toId: (r.recipient_id as string | null) ?? null,
  body: r.body as string,
  timestamp: r.created_at as Date,
  replyTo: (r.reply_to as string | null) ?? null,
  threadId: (r.thread_id as string | null) ?? null,
  mentions: textArray(r.mentions),
  ackRequired: r.ack_required === true,
  kind: r.sender_kind === 'human' ? 'human' : 'agent',
})

/** A text[] column: PGlite hands over an array; postgres.js (types not fetched) the literal, e.g. {bob,"Claude Code"}. */
export function textArray(v: unknown): string[] {
  if (v === null || v === undefined) return []
  if (Array.isArray(v)) return v as string[]
  const s = String(v)
  const out: string[] = []
  for (let i = 1; i < s.length - 1; i++) {
    let item = ''
    if (s[i] === '"') {
      for (i++; s[i] !== '"'; i++) item += s[i] === '\\' ? s[++i] : s[i]
      i++
    } else {
      while (s[i] !== ',' && s[i] !== '}') item += s[i++]
    }
    out.push(item)
  }
  return out
}

export const isUniqueViolation = (e: unknown) => (e as { code?: string })?.code === '23505'
