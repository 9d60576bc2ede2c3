// Messages: sending, history, and reading what is unread (the cursor that marks messages read).
import { errors } from '../errors.ts'
import { isUuid, newId } from '../ids.ts'
import { SenderGoneError, type MessageRecord, type Surface } from '../store.ts'
import { notice, type RoomContext } from './context.ts'
import { mentionCandidates } from './mentions.ts'
import { missed, unreadResult } from './replies.ts'
import { canSee } from './visibility.ts'
import { threadOf, toWire, type WireMessage } from './wire.ts'

const UNREAD_PAGE = 500

/** Which unread messages a drain returns. */
export interface UnreadFilter {
  /** Only DMs to the agent and broadcasts that @mention it (the cursor still moves past the rest). */
  mentionsOnly?: boolean
  /** Start after this seq when it is past the cursor (a wait task's messages known not to match). */
  after?: number
  /** The surface that delivers what is read, for receipts (default unread; null: the caller marks it itself). */
  via?: Surface | null
}

export class Messaging {
  constructor(private readonly ctx: RoomContext) {}

  async send(p: { agentToken: string; text: string; to?: string; replyTo?: string; ackRequired?: boolean }, signal?: AbortSignal) {
    const { ctx } = this
    const { agent, room } = await ctx.authenticate(p.agentToken)
    const max = ctx.opts.maxMessageChars
    if ([...p.text].length > max) throw errors.invalid('text', `must be at most ${max} characters`)
    if (room.type === 'channel' && agent.role !== 'admin') throw errors.channelAdminOnly()
    let toId: string | null = null
    if (p.to !== undefined) {
      const recipient = await ctx.store.agentByName(room.id, p.to)
      if (!recipient) throw errors.agentNotFound(p.to)
      toId = recipient.id
    }
    const parent = p.replyTo === undefined ? null : await this.visible(room.id, agent.id, p.replyTo)
    if (p.replyTo !== undefined && !parent) throw errors.invalid('replyTo:', `no message ${p.replyTo} that you can see in this room`)
    const id = newId()
    const message = {
      id,
      roomId: room.id,
      from: agent.name,
      fromId: agent.id,
      to: p.to ?? null,
      toId,
      body: p.text,
      timestamp: ctx.clock(),
      replyTo: parent?.id ?? null,
      threadId: parent ? threadOf(parent) : null,
      mentionCandidates: toId === null ? mentionCandidates(p.text) : undefined,
      ackRequired: p.ackRequired === true,
      kind: agent.kind,
    }
    // SenderGoneError: removed since its token was looked up (on this or another instance)
    const posted = await ctx.store.postMessage(message).catch((e) => Promise.reject(e instanceof SenderGoneError ? errors.invalidToken() : e))
    await ctx.publish(room.id, posted)
    const messages = posted.caughtUp ? [] : await this.drainUnread(agent, posted.seq, true, signal)
    return { text: 'Message sent', roomId: room.id, data: { id, seq: posted.seq, ...missed(messages) } }
  }

  async history(p: { agentToken: string; roomId: string; limit?: number; offset?: number }) {
    const { agent, room } = await this.ctx.authenticate(p.agentToken, p.roomId)
    const { messages, total } = await this.ctx.store.history(agent, p.limit ?? 20, p.offset ?? 0)
    this.delivered(agent.id, 'history', messages)
    return { text: `${messages.length} of ${total} message(s)`, roomId: room.id, data: { messages: messages.map(toWire), total } }
  }

  /** A thread: its root, then the replies the caller may see, oldest first. A reply's id stands for its thread. */
  async thread(p: { agentToken: string; threadId: string; roomId?: string; limit?: number; offset?: number }) {
    const { agent, room } = await this.ctx.authenticate(p.agentToken, p.roomId)
    const limit = p.limit ?? 50
    const offset = p.offset ?? 0
    const named = await this.visible(room.id, agent.id, p.threadId)
    const root = named && named.threadId !== null ? await this.visible(room.id, agent.id, named.threadId) : named
    if (!root) throw errors.invalid('threadId:', `no thread ${p.threadId} that you can see in this room`)
    const withRoot = offset === 0
    const replies = await this.ctx.store.threadReplies(agent, root.id, withRoot ? limit - 1 : limit, withRoot ? 0 : offset - 1)
    this.delivered(agent.id, 'history', replies.messages)
    const messages = [...(withRoot ? [root] : []), ...replies.messages].map(toWire)
    const total = replies.total + 1
    return { text: `${messages.length} of ${total} message(s) in the thread`, roomId: room.id, data: { messages, total } }
  }

  async unread(p: { agentToken: string; peek?: boolean; mentionsOnly?: boolean }, signal?: AbortSignal) {
    const { agent, room } = await this.ctx.authenticate(p.agentToken)
    return this.unreadReply(agent, room.id, await this.drainUnread(agent, undefined, !p.peek, signal, { mentionsOnly: p.mentionsOnly }))
  }

  /** An unread or wait reply: the messages, and which of them await an acknowledgement from the agent. */
  async unreadReply(agent: { id: string }, roomId: string, messages: WireMessage[]) {
    const result = unreadResult(roomId, messages)
    const asking = messages.filter((m) => m.ackRequired)
    if (asking.length === 0) return result
    const acked = await this.ctx.store.ackedSeqs(agent.id, roomId, asking.map((m) => m.seq))
    const awaitingAck = asking.filter((m) => !acked.has(m.seq)).map((m) => m.id)
    return awaitingAck.length === 0 ? result : { ...result, data: { ...result.data, awaitingAck } }
  }

  /** A surface delivered these messages to the agent (receipts). */
  delivered(agentId: string, surface: Surface, messages: { seq: number }[]): void {
    let seq = 0
    for (const m of messages) seq = Math.max(seq, m.seq)
    if (seq > 0) this.ctx.deliveries.note(agentId, surface, seq)
  }

  /**
   * All unread messages (paged, never truncated); moves the cursor unless `move` is false. Once `signal`
   * aborts (the client left), nothing more is read and what was read is handed back (the cursor rewinds to
   * before it), so nothing is ever marked read for nobody; the result is then empty. With `mentionsOnly` the
   * cursor moves past the messages left out too (the caller chose to ignore them); an abort rewinds it to before
   * the first message returned.
   */
  async drainUnread(
    agent: { id: string; roomId: string },
    upTo?: number,
    move = true,
    signal?: AbortSignal,
    filter: UnreadFilter = {},
  ): Promise<WireMessage[]> {
    const out: WireMessage[] = []
    let after = filter.after
    const mentionsOnly = filter.mentionsOnly === true
    for (;;) {
      if (signal?.aborted) break
      const { messages, more } = await this.ctx.store.readUnread(agent, { upTo, after, limit: UNREAD_PAGE, move, mentionsOnly })
      out.push(...messages.map(toWire))
      if (!more) break
      if (!move) after = messages.at(-1)!.seq
    }
    if (!signal?.aborted) {
      if (filter.via !== null) this.delivered(agent.id, filter.via ?? 'unread', out)
      return out
    }
    if (move && out.length > 0) await this.ctx.store.rewindCursor(agent.id, out[0].seq - 1)
    return []
  }

  /** A message of the room that the agent may see, by id; null for any other (unknown, elsewhere, someone else's DM). */
  private async visible(roomId: string, agentId: string, id: string): Promise<MessageRecord | null> {
    const m = isUuid(id) ? await this.ctx.store.message(roomId, id) : null
    return m && canSee(m, agentId) ? m : null
  }

  /** Posts a room-bot notice (git pushes and the like). */
  async postNotice(roomId: string, body: string): Promise<void> {
    const { ctx } = this
    const posted = await ctx.store.postMessage({ ...notice(body), roomId, from: 'room-bot', fromId: null, to: null, toId: null, timestamp: ctx.clock() })
    await ctx.publish(roomId, posted)
  }
}
