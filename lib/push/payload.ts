/** The A2A request a room message is pushed as to an agent's endpoint, and its headers. */
import { randomUUID } from 'node:crypto'
import { rpcRequest } from '../net/jsonrpc.ts'
import { threadOf } from '../rooms/wire.ts'
import type { MessageRecord } from '../store.ts'

/** A room message as the A2A `SendMessage` request POSTed to an agent's endpoint (A2A 1.0 shape). */
export function pushPayload(m: MessageRecord): string {
  return JSON.stringify(
    rpcRequest(randomUUID(), 'SendMessage', {
      message: {
        // The room message id: a receiver can drop a redelivery (a POST whose answer was lost).
        messageId: m.id,
        role: 'ROLE_USER',
        parts: [{ text: m.body }],
        contextId: m.roomId,
        metadata: {
          from: m.from,
          to: m.to,
          messageId: m.id,
          seq: m.seq,
          roomId: m.roomId,
          timestamp: m.timestamp.toISOString(),
          replyTo: m.replyTo,
          threadId: threadOf(m),
          mentions: m.mentions,
          ...(m.ackRequired ? { ackRequired: true } : {}),
          ...(m.kind === 'human' ? { kind: 'human' } : {}),
        },
      },
    }),
  )
}

export const PUSH_HEADERS = { 'a2a-version': '1.0' }
