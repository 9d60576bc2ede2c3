// Room subscriptions as A2A Tasks: an agent's view of its room, followed over streams that resume by seq.
import { randomBytes } from 'node:crypto'
import { errors } from '../errors.ts'
import type { A2ATaskRecord, MessageRecord, PushConfigRecord } from '../store.ts'
import type { RoomContext } from './context.ts'

export const MAX_SUBSCRIPTIONS_PER_AGENT = 16
export const MAX_CONFIGS_PER_TASK = 4
const SCHEME = /^[A-Za-z][A-Za-z0-9._~+-]{0,63}$/
/** Header-safe text: visible ASCII and spaces, no line breaks. */
const HEADER_TEXT = /^[\x20-\x7e]{1,4096}$/
const CONFIG_ID = /^[A-Za-z0-9._-]{1,64}$/

/** A push config as asked for: where to POST, and the headers to send. */
export interface PushConfigInput {
  id?: string
  url: unknown
  token?: unknown
  scheme?: unknown
  credentials?: unknown
}
/** Stream cursors are written at most this often per task (Last-Event-ID is the exact resume; the cursor a fallback). */
const CURSOR_FLUSH_MS = 500

export type RoomTask = A2ATaskRecord

export class RoomTasks {
  readonly #cursors = new Map<string, number>()
  #timer: NodeJS.Timeout | null = null
  /** Streams open on this instance, by task: told at once when the task ends here. */
  readonly #open = new Map<string, Set<(t: RoomTask) => void>>()
  readonly #configListeners = new Set<(roomId: string) => void>()

  constructor(private readonly ctx: RoomContext) {}

  async subscribe(p: { agentToken: string; roomId?: string }) {
    const { agent, room } = await this.ctx.authenticate(p.agentToken, p.roomId)
    const task = await this.ctx.store.createA2ATask(
      { id: randomBytes(16).toString('hex'), agentId: agent.id, roomId: room.id, startSeq: await this.ctx.lastSeq(room.id) },
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

  /**
   * Adds (or replaces) a push config of a working task, delivering what comes after now. The URL is checked like an
   * agentEndpoint; the token and authentication must be safe to send as headers.
   */
  async putPushConfig(t: RoomTask, c: PushConfigInput): Promise<PushConfigRecord | null> {
    if (typeof c.url !== 'string' || !c.url) throw errors.missing('url')
    this.ctx.checkEndpoint(c.url, 'url')
    const id = c.id ?? randomBytes(8).toString('hex')
    if (!CONFIG_ID.test(id)) throw errors.invalid('id', 'must be 1–64 letters, digits, ".", "_" or "-"')
    const text = (v: unknown, name: string) => {
      if (v === undefined || v === '') return null
      if (typeof v !== 'string' || !HEADER_TEXT.test(v)) throw errors.invalid(name, 'must be printable ASCII, at most 4096 characters')
      return v
    }
    const token = text(c.token, 'token')
    const scheme = c.scheme === undefined || c.scheme === '' ? null : c.scheme
    if (scheme !== null && (typeof scheme !== 'string' || !SCHEME.test(scheme))) throw errors.invalid('authentication.scheme', 'must be an HTTP auth scheme such as Bearer')
    const record = { taskId: t.id, id, url: c.url, token, authScheme: scheme, authCredentials: scheme === null ? null : text(c.credentials, 'authentication.credentials') }
    const now = this.ctx.clock()
    const after = (await this.ctx.store.lastSeqs([t.roomId])).get(t.roomId) ?? t.cursor
    const put = await this.ctx.store.putPushConfig(record, after, MAX_CONFIGS_PER_TASK, now)
    if (put === 'gone') return null
    if (put === 'full') throw errors.invalid('taskId', `has ${MAX_CONFIGS_PER_TASK} push notification configs already (the most a task may have)`)
    for (const cb of this.#configListeners) cb(t.roomId)
    return { ...record, createdAt: now }
  }

  /** `cb` hears the room of each push config made on this instance (the push worker starts following it). */
  onPushConfig(cb: (roomId: string) => void): () => void {
    this.#configListeners.add(cb)
    return () => this.#configListeners.delete(cb)
  }

  pushConfig(t: RoomTask, id: string) {
    return this.ctx.store.pushConfig(t.id, id)
  }

  pushConfigs(t: RoomTask) {
    return this.ctx.store.pushConfigs(t.id)
  }

  deletePushConfig(t: RoomTask, id: string) {
    return this.ctx.store.deletePushConfig(t.id, id)
  }

  /** The newest `n` messages the task's agent may see since it started, oldest first. */
  async history(t: RoomTask, n: number): Promise<MessageRecord[]> {
    if (n <= 0) return []
    const { messages } = await this.ctx.store.history({ id: t.agentId, roomId: t.roomId }, n, 0)
    return messages.filter((m) => m.seq > t.startSeq)
  }
}
