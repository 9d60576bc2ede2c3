// How the room service words its results: the text a caller reads next to the data.
import type { WireMessage } from './wire.ts'

export interface Result<D> {
  text: string
  data: D
  /** The room the result belongs to. */
  roomId?: string
}

/** Messages a join or send caught up on, when there are any. */
export const missed = (messages: WireMessage[]) =>
  messages.length > 0 ? { missedMessages: messages, missedCount: messages.length } : {}

/** What unread and wait return; `awaitingAck`: ids of those messages the caller is asked to acknowledge. */
export type UnreadData = {
  messages: WireMessage[]
  total: number
  awaitingAck?: string[]
}

export function unreadResult(roomId: string, messages: WireMessage[]): Result<UnreadData> {
  return {
    text: messages.length === 0 ? 'No unread messages' : `${messages.length} unread message(s)`,
    roomId,
    data: { messages, total: messages.length },
  }
}
