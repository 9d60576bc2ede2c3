// A message as every surface shows it, from the stored record.
import type { MessageRecord } from '../store.ts'

/** A message as every surface shows it. */
export interface WireMessage {
  id: string
  seq: number
  roomId: string
  from: string
  to?: string
  body: string
  timestamp: string
  /** The message it replies to, or null. */
  replyTo: string | null
  /** The thread it starts or belongs to: its root's id (its own id when it is not a reply). */
  threadId: string
  /** Agents it @mentions (possibly none). */
  mentions: string[]
  /** The sender asks its recipients to acknowledge it (present only then). */
  ackRequired?: true
  /** A person sent it from the web page (absent for agents). */
  kind?: 'human'
}

/** The thread a message starts or belongs to. */
export const threadOf = (m: Pick<MessageRecord, 'id' | 'threadId'>): string => m.threadId ?? m.id

export function toWire(m: MessageRecord): WireMessage {
  return {
    id: m.id,
    seq: m.seq,
    roomId: m.roomId,
    from: m.from,
    ...(m.to !== null ? { to: m.to } : {}),
    body: m.body,
    timestamp: m.timestamp.toISOString(),
    replyTo: m.replyTo,
    threadId: threadOf(m),
    mentions: m.mentions,
    ...(m.ackRequired ? { ackRequired: true as const } : {}),
    ...(m.kind === 'human' ? { kind: 'human' as const } : {}),
  }
}
