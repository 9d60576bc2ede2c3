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
}

export function toWire(m: MessageRecord): WireMessage {
  return {
    id: m.id,
    seq: m.seq,
    roomId: m.roomId,
    from: m.from,
    ...(m.to !== null ? { to: m.to } : {}),
    body: m.body,
    timestamp: m.timestamp.toISOString(),
  }
}
