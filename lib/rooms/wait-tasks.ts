// Wait tasks: message.waits that outlive their request. State lives in the store, so any instance completes them.
import { randomBytes } from 'node:crypto'
import { errors } from '../errors.ts'
import type { WaitTaskRecord, WaitTaskStatus } from '../store.ts'
import type { RoomContext } from './context.ts'
import type { Messaging } from './messaging.ts'
import { unreadResult } from './replies.ts'
import type { WireMessage } from './wire.ts'

export const WAIT_TASK_DEFAULT_SECONDS = 3600
export const WAIT_TASK_MAX_SECONDS = 86400
/** Ended tasks are kept this long for tasks/get and tasks/result, then deleted. */
export const KEEP_ENDED_MS = 3_600_000
const DUE_BATCH = 100

export interface WaitTask {
  id: string
  status: WaitTaskStatus
  roomId: string
  createdAt: Date
  updatedAt: Date
  deadline: Date
  /** What message.wait would have returned (set when completed). */
  result: ReturnType<typeof unreadResult> | null
  error: string | null
}

const toWaitTask = (r: WaitTaskRecord): WaitTask => ({
  id: r.id,
  status: r.status,
  roomId: r.roomId,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
  deadline: r.deadline,
  result: (r.result as WaitTask['result']) ?? null,
  error: r.error,
})

interface Follower {
  cbs: Set<{ cb: (t: WaitTask) => void }>
  /** The task as last read (null until the first read). */
  last: WaitTask | null
}

/**
 * Completion: events in rooms with working tasks (known here: started here, followed here, or found by the
 * sweep) run a pass over the room's working tasks; each peeks the agent's unread messages and, if there are
 * any, completes the task and marks them read in one conditional transaction, so exactly one instance wins.
 * Followers re-read their tasks after each pass in their room, and at every sweep (a completion on another
 * instance is seen on the same room event, or at the latest at the next sweep).
 */
export class WaitTasks {
  /** Rooms with working tasks known to this instance. */
  readonly #rooms = new Set<string>()
  readonly #followers = new Map<string, Follower>()
  /** How many followed working tasks each room has. */
  readonly #followedRooms = new Map<string, number>()
  readonly #deadlines = new Map<string, NodeJS.Timeout>()
  /** mentionsOnly tasks: the seq up to which nothing unread matched (messages never change), so it is not read again. */
  readonly #scanned = new Map<string, { roomId: string; seq: number }>()
  /** Per room: the pass running and the one queued behind it (events coalesce into it). */
  readonly #passes = new Map<string, { running: Promise<void> | null; queued: Promise<void> | null }>()
  #unsubscribe: (() => void) | null = null
  #sweepTimer: NodeJS.Timeout | null = null
  #sweeping: Promise<void> | null = null
  #closed = false

  constructor(
    private readonly ctx: RoomContext,
    private readonly messaging: Messaging,
  ) {}

  #report = (err: unknown) => this.ctx.opts.onWaitTaskError?.(err)

  /** Listens for room events, picks up working tasks from the store and sweeps every `sweepMs`. */
  async start(sweepMs: number): Promise<void> {
    if (this.#unsubscribe || this.#closed) return
    this.#unsubscribe = this.ctx.events.subscribe((e) => {
      if (this.#rooms.has(e.roomId) || this.#followedRooms.has(e.roomId)) void this.#kick(e.roomId)
    })
    await this.sweep()
    this.#sweepTimer = setInterval(() => void this.sweep(), sweepMs)
    this.#sweepTimer.unref()
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#unsubscribe?.()
    if (this.#sweepTimer) clearInterval(this.#sweepTimer)
    for (const timer of this.#deadlines.values()) clearTimeout(timer)
    this.#deadlines.clear()
    await this.#sweeping
    await Promise.all([...this.#passes.values()].map((p) => p.queued ?? p.running))
  }

  /** A working task for the agent; completed at once if something is already unread. */
  async create(p: { agentToken: string; timeout?: number; mentionsOnly?: boolean }): Promise<WaitTask> {
    const timeout = p.timeout ?? WAIT_TASK_DEFAULT_SECONDS
    if (!(timeout >= 0 && timeout <= WAIT_TASK_MAX_SECONDS)) {
      throw errors.invalid('timeout', `must be a number from 0 to ${WAIT_TASK_MAX_SECONDS} (seconds)`)
    }
    const { store, clock, opts } = this.ctx
    const { agent, room } = await this.ctx.authenticate(p.agentToken)
    const now = clock()
    const id = `wt_${randomBytes(16).toString('base64url')}`
    const max = opts.maxWaitTasksPerAgent ?? 8
    const created = await store.createWaitTask(
      { id, agentId: agent.id, roomId: room.id, deadline: new Date(now.getTime() + timeout * 1000), mentionsOnly: p.mentionsOnly === true },
      max,
      now,
    )
    if (created === 'gone') throw errors.invalidToken()
    if (created === 'full') throw errors.tooManyWaitTasks(max)
    this.#addRooms([room.id], await this.ctx.lastSeq(room.id))
    const task = await store.waitTask(id)
    if (!task) throw errors.invalidToken() // its room was deleted meanwhile
    this.#arm(task)
    await this.#settle(task, true)
    return toWaitTask((await store.waitTask(id)) ?? task)
  }

  /** The task, null if unknown; one past its deadline is settled first. */
  async get(id: string): Promise<WaitTask | null> {
    const task = await this.ctx.store.waitTask(id)
    if (!task) return null
    if (task.status === 'working' && task.deadline <= this.ctx.clock()) {
      await this.#settle(task, await this.#alive(task.agentId))
      return toWaitTask((await this.ctx.store.waitTask(id)) ?? task)
    }
    return toWaitTask(task)
  }

  async cancel(id: string): Promise<WaitTask | null> {
    const ended = await this.ctx.store.endWaitTask(id, 'cancelled', null, this.ctx.clock())
    if (ended) {
      await this.#ended(ended)
      return toWaitTask(ended)
    }
    const task = await this.ctx.store.waitTask(id)
    return task && toWaitTask(task)
  }

  /** `cb` runs once, when the task has ended (on whichever instance). An unknown id never calls back. */
  follow(id: string, cb: (t: WaitTask) => void): () => void {
    let f = this.#followers.get(id)
    const fresh = !f
    if (!f) this.#followers.set(id, (f = { cbs: new Set(), last: null }))
    const entry = { cb }
    f.cbs.add(entry)
    if (fresh) void this.#recheck([id]).catch(this.#report)
    return () => {
      const current = this.#followers.get(id)
      if (current !== f) return
      f.cbs.delete(entry)
      if (f.cbs.size === 0) this.#unfollow(id)
    }
  }

  /** Rooms deleted (their tasks went with them): their followers hear `failed` now. */
  async roomsDeleted(roomIds: string[]): Promise<void> {
    const gone = new Set(roomIds)
    for (const id of roomIds) this.#rooms.delete(id)
    for (const [id, s] of this.#scanned) if (gone.has(s.roomId)) this.#scanned.delete(id)
    const ids = [...this.#followers].filter(([, f]) => f.last && gone.has(f.last.roomId)).map(([id]) => id)
    await this.#recheck(ids)
  }

  /**
   * Picks up rooms with working tasks (created on instances that died), ends tasks past their deadline,
   * deletes tasks ended over an hour ago and re-reads followed tasks. Exposed for tests.
   */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweep()
      .catch(this.#report)
      .finally(() => (this.#sweeping = null))
    return this.#sweeping
  }

  async #sweep(): Promise<void> {
    if (this.#closed) return
    const { store, clock } = this.ctx
    const fresh = (await store.workingWaitTaskRooms()).filter((r) => !this.#rooms.has(r))
    if (fresh.length > 0) {
      const seqs = await store.lastSeqs(fresh)
      for (const [roomId, seq] of seqs) {
        this.#addRooms([roomId], seq)
        void this.#kick(roomId) // messages that arrived while no instance knew the room
      }
    }
    const due = await store.dueWaitTasks(clock(), DUE_BATCH)
    if (due.length > 0) {
      const alive = await store.existingAgents([...new Set(due.map((t) => t.agentId))])
      for (const task of due) await this.#settle(task, alive.has(task.agentId))
    }
    await store.deleteEndedWaitTasks(new Date(clock().getTime() - KEEP_ENDED_MS))
    await this.#recheck([...this.#followers.keys()])
  }

  #addRooms(roomIds: string[], seq: number) {
    for (const roomId of roomIds) {
      if (this.#rooms.has(roomId)) continue
      this.#rooms.add(roomId)
      this.ctx.events.watch?.(roomId, seq)
    }
  }

  /** Runs a pass over the room after the running one; events arriving meanwhile share the queued pass. */
  #kick(roomId: string): Promise<void> {
    let slot = this.#passes.get(roomId)
    if (slot?.queued) return slot.queued
    if (!slot) this.#passes.set(roomId, (slot = { running: null, queued: null }))
    const s = slot
    const queued: Promise<void> = (s.running ?? Promise.resolve())
      .then(() => {
        s.running = queued
        s.queued = null
        return this.#closed ? undefined : this.#pass(roomId)
      })
      .catch(this.#report)
      .finally(() => {
        if (s.running === queued && s.queued === null) this.#passes.delete(roomId)
      })
    s.queued = queued
    return queued
  }

  async #pass(roomId: string): Promise<void> {
    const { store } = this.ctx
    const tasks = await store.workingWaitTasks(roomId)
    const working = new Set(tasks.map((t) => t.id))
    for (const [id, s] of this.#scanned) if (s.roomId === roomId && !working.has(id)) this.#scanned.delete(id)
    if (tasks.length === 0) this.#rooms.delete(roomId)
    else {
      const alive = await store.existingAgents([...new Set(tasks.map((t) => t.agentId))])
      for (const task of tasks) await this.#settle(task, alive.has(task.agentId))
    }
    const followed = [...this.#followers].filter(([, f]) => f.last?.roomId === roomId).map(([id]) => id)
    await this.#recheck(followed)
  }

  /**
   * Ends a working task if it can: failed when its agent is gone, completed when messages are unread for it
   * (marking them read) or, past its deadline, with none. Losing a race to another instance is fine.
   */
  async #settle(task: WaitTaskRecord, alive: boolean): Promise<void> {
    const { store, clock } = this.ctx
    if (!alive) {
      const ended = await store.endWaitTask(task.id, 'failed', errors.invalidToken().message, clock())
      if (ended) await this.#ended(ended)
      return
    }
    // A reader taking the messages between the peek and the completion makes it stale: peek again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const { messages, upTo } = await this.#peek(task)
      if (messages.length === 0 && task.deadline > clock()) return
      const read = messages.length > 0 ? { agentId: task.agentId, from: messages[0].seq, upTo: upTo ?? messages.at(-1)!.seq } : null
      const reply = await this.messaging.unreadReply({ id: task.agentId }, task.roomId, messages)
      const out = await store.completeWaitTask(task.id, reply, read, clock())
      if (out === 'lost') return
      if (out === 'stale') continue
      if (out === 'gone') return this.#settle(task, false)
      return this.#ended(out)
    }
  }

  /**
   * What the task would complete with. A mentionsOnly task reads up to the room's latest seq, which its completion
   * moves the cursor to (past the messages left out, as message.wait does).
   */
  async #peek(task: WaitTaskRecord): Promise<{ messages: WireMessage[]; upTo?: number }> {
    const agent = { id: task.agentId, roomId: task.roomId }
    // the completion marks the delivery (surface wait) in its transaction
    if (!task.mentionsOnly) return { messages: await this.messaging.drainUnread(agent, undefined, false, undefined, { via: null }) }
    const upTo = (await this.ctx.store.lastSeqs([task.roomId])).get(task.roomId) ?? 0
    const after = this.#scanned.get(task.id)?.seq
    const messages = await this.messaging.drainUnread(agent, upTo, false, undefined, { mentionsOnly: true, after, via: null })
    if (messages.length === 0) this.#scanned.set(task.id, { roomId: task.roomId, seq: upTo })
    return { messages, upTo }
  }

  /** This instance ended a task: its followers here hear it, and a wake-up lets other instances' followers re-read. */
  async #ended(task: WaitTaskRecord): Promise<void> {
    this.#scanned.delete(task.id)
    this.#notify(task.id, toWaitTask(task))
    const seq = (await this.ctx.store.lastSeqs([task.roomId])).get(task.roomId)
    if (seq !== undefined) await this.ctx.events.publish({ roomId: task.roomId, seq })
  }

  /** Re-reads followed tasks: ended ones call back; a vanished one (its room was deleted) ends as failed. */
  async #recheck(ids: string[]): Promise<void> {
    if (ids.length === 0) return
    const rows = new Map((await this.ctx.store.waitTasks(ids)).map((r) => [r.id, r]))
    for (const id of ids) {
      const f = this.#followers.get(id)
      if (!f) continue
      const row = rows.get(id)
      if (!row) {
        if (f.last) this.#notify(id, { ...f.last, status: 'failed', error: errors.invalidToken().message, updatedAt: this.ctx.clock() })
        else this.#unfollow(id) // unknown id
        continue
      }
      const task = toWaitTask(row)
      if (task.status !== 'working') {
        this.#notify(id, task)
        continue
      }
      if (!f.last) {
        this.#followedRooms.set(task.roomId, (this.#followedRooms.get(task.roomId) ?? 0) + 1)
        this.#arm(row)
      }
      f.last = task
    }
  }

  #notify(id: string, task: WaitTask) {
    this.#disarm(id)
    const f = this.#followers.get(id)
    this.#unfollow(id)
    if (!f) return
    for (const { cb } of f.cbs) {
      try {
        cb(task)
      } catch (err) {
        this.#report(err)
      }
    }
  }

  #unfollow(id: string) {
    const f = this.#followers.get(id)
    if (!f) return
    this.#followers.delete(id)
    const roomId = f.last?.roomId
    if (roomId === undefined) return
    const n = (this.#followedRooms.get(roomId) ?? 1) - 1
    if (n > 0) this.#followedRooms.set(roomId, n)
    else this.#followedRooms.delete(roomId)
  }

  /** Settles the task at its deadline (the sweep would too, a few seconds later). */
  #arm(task: WaitTaskRecord) {
    if (this.#closed || this.#deadlines.has(task.id)) return
    const ms = Math.max(0, task.deadline.getTime() - this.ctx.clock().getTime()) + 5
    const timer = setTimeout(() => {
      this.#deadlines.delete(task.id)
      if (this.#closed) return
      void this.#atDeadline(task).catch(this.#report)
    }, ms)
    timer.unref()
    this.#deadlines.set(task.id, timer)
  }

  #disarm(id: string) {
    clearTimeout(this.#deadlines.get(id))
    this.#deadlines.delete(id)
  }

  async #atDeadline(task: WaitTaskRecord) {
    const row = await this.ctx.store.waitTask(task.id)
    if (row?.status !== 'working') return
    await this.#settle(row, await this.#alive(row.agentId))
    const after = await this.ctx.store.waitTask(task.id)
    if (after?.status === 'working') this.#arm(after) // the clock had not reached the deadline yet
  }

  async #alive(agentId: string): Promise<boolean> {
    return (await this.ctx.store.existingAgents([agentId])).has(agentId)
  }
}
