// Room subscriptions as A2A Tasks: an agent's view of its room, followed over streams that resume by seq.
import { randomBytes } from 'node:crypto'
import { errors } from '../errors.ts'
import type { A2ATaskRecord, MessageRecord } from '../store.ts'
import type { RoomContext } from './context.ts'

export const MAX_SUBSCRIPTIONS_PER_AGENT = 16
/** Stream cursors are written at most this often per task (Last-Event-ID is the exact resume; the cursor a fallback). */
const CURSOR_FLUSH_MS = 500

export type RoomTask = A2ATaskRecord

export class RoomTasks {
  readonly #cursors = new Map<string, number>()
  #timer: NodeJS.Timeout | null = null
  /** Streams open on this instance, by task: told at once when the task ends here. */
  readonly #open = new Map<string, Set<(t: RoomTask) => void>>()

  constructor(private readonly ctx: RoomContext) {}

  async subscribe(p: { agentToken: string; roomId?: string }) {
    const { agent, room } = await this.ctx.authenticate(p.agentToken, p.roomId)
    const task = await this.ctx.store.createA2ATask(
      { id: randomBytes(16).toString('hex'), agentId: agent.id, roomId: room.id, startSeq: room.lastSeq },
      MAX_SUBSCRIPTIONS_PER_AGENT,
      this.ctx.clock(),
    )
    if (!task) throw errors.tooManyTasks(MAX_SUBSCRIPTIONS_PER_AGENT)
    return {
      text: `Following room ${room.name} as ${agent.name}: task ${task.id} (stream it with SubscribeToTask)`,
      roomId: room.id,
      data: { taskId: task.id, startSeq: task.startSeq },
    }
  }

  /** A task by id; a working one whose agent has gone is ended first. */
  async get(id: string): Promise<RoomTask | null> {
    const t = /^[0-9a-f]{32}$/.test(id) ? await this.ctx.store.a2aTask(id) : null
    if (!t || t.state !== 'working') return t
    if ((await this.ctx.store.existingAgents([t.agentId])).has(t.agentId)) return t
    return (await this.end(t.id, 'canceled', 'the agent left the room or was removed')) ?? (await this.ctx.store.a2aTask(id))
  }

  async list(agentToken: string, limit: number, offset: number) {
    const { agent } = await this.ctx.authenticate(agentToken)
    return this.ctx.store.a2aTasks(agent.id, limit, offset)
  }

  /** Ends a working task and tells its streams (here at once, elsewhere through an empty room event). */
  async end(id: string, state: 'canceled' | 'completed' | 'failed', reason: string): Promise<RoomTask | null> {
    const ended = await this.ctx.store.endA2ATask(id, state, reason, this.ctx.clock())
    if (!ended) return null
    for (const cb of this.#open.get(id) ?? []) cb(ended)
    const seq = (await this.ctx.store.lastSeqs([ended.roomId])).get(ended.roomId)
    if (seq !== undefined) await this.ctx.events.publish({ roomId: ended.roomId, seq })
    return ended
  }

  /** `cb` hears that the task ended on this instance; returns the unsubscribe. */
  onEnded(id: string, cb: (t: RoomTask) => void): () => void {
    const set = this.#open.get(id) ?? new Set()
    set.add(cb)
    this.#open.set(id, set)
    return () => {
      set.delete(cb)
      if (set.size === 0) this.#open.delete(id)
    }
  }

  /** A stream wrote messages up to `seq` (written in batches). */
  streamed(id: string, seq: number): void {
    if ((this.#cursors.get(id) ?? 0) >= seq) return
    this.#cursors.set(id, seq)
    this.#timer ??= setTimeout(() => void this.flush().catch(() => {}), CURSOR_FLUSH_MS).unref()
  }

  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    const now = this.ctx.clock()
    const all = [...this.#cursors]
    this.#cursors.clear()
    for (const [id, seq] of all) await this.ctx.store.advanceA2ATask(id, seq, now)
  }

  /** The newest `n` messages the task's agent may see since it started, oldest first. */
  async history(t: RoomTask, n: number): Promise<MessageRecord[]> {
    if (n <= 0) return []
    const { messages } = await this.ctx.store.history({ id: t.agentId, roomId: t.roomId }, n, 0)
    return messages.filter((m) => m.seq > t.startSeq)
  }
}
