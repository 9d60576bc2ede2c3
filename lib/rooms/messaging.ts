// Messages: sending, history, and reading what is unread (the cursor that marks messages read).
import { errors } from '../errors.ts'
import { newId } from '../ids.ts'
import { notice, type RoomContext } from './context.ts'
import { missed, unreadResult } from './replies.ts'
import { toWire, type WireMessage } from './wire.ts'

const UNREAD_PAGE = 500

export class Messaging {
  constructor(private readonly ctx: RoomContext) {}

  async send(p: { agentToken: string; text: string; to?: string }, signal?: AbortSignal) {
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
    const id = newId()
    const posted = await ctx.store.postMessage({
      id,
      roomId: room.id,
      from: agent.name,
      fromId: agent.id,
      to: p.to ?? null,
      toId,
      body: p.text,
      timestamp: ctx.clock(),
    })
    await ctx.publish(room.id, posted)
    const messages = posted.caughtUp ? [] : await this.drainUnread(agent, posted.seq, true, signal)
    return { text: 'Message sent', roomId: room.id, data: { id, seq: posted.seq, ...missed(messages) } }
  }

  async history(p: { agentToken: string; roomId: string; limit?: number; offset?: number }) {
    const { agent, room } = await this.ctx.authenticate(p.agentToken, p.roomId)
    const { messages, total } = await this.ctx.store.history(agent, p.limit ?? 20, p.offset ?? 0)
    return { text: `${messages.length} of ${total} message(s)`, roomId: room.id, data: { messages: messages.map(toWire), total } }
  }

  async unread(p: { agentToken: string; peek?: boolean }, signal?: AbortSignal) {
    const { agent, room } = await this.ctx.authenticate(p.agentToken)
    return unreadResult(room.id, await this.drainUnread(agent, undefined, !p.peek, signal))
  }

  /**
   * All unread messages (paged, never truncated); moves the cursor unless `move` is false. Once `signal`
   * aborts (the client left), nothing more is read and what was read is handed back (the cursor rewinds to
   * before it), so nothing is ever marked read for nobody; the result is then empty.
   */
  async drainUnread(agent: { id: string; roomId: string }, upTo?: number, move = true, signal?: AbortSignal): Promise<WireMessage[]> {
    const out: WireMessage[] = []
    let after: number | undefined
    for (;;) {
      if (signal?.aborted) break
      const { messages, more } = await this.ctx.store.readUnread(agent, { upTo, after, limit: UNREAD_PAGE, move })
      out.push(...messages.map(toWire))
      if (!more) break
      if (!move) after = messages.at(-1)!.seq
    }
    if (!signal?.aborted) return out
    if (move && out.length > 0) await this.ctx.store.rewindCursor(agent.id, out[0].seq - 1)
    return []
  }

  /** Posts a room-bot notice (git pushes and the like). */
  async postNotice(roomId: string, body: string): Promise<void> {
    const { ctx } = this
    const posted = await ctx.store.postMessage({ ...notice(body), roomId, from: 'room-bot', fromId: null, to: null, toId: null, timestamp: ctx.clock() })
    await ctx.publish(roomId, posted)
  }
}
