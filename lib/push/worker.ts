// A2A push delivery: one instance at a time per target, messages in seq order, retries with backoff.
import { randomUUID } from 'node:crypto'
import type { EventBus } from '../events/bus.ts'
import { removalIn } from '../rooms/removal.ts'
import type { MessageRecord, PushClaim, PushStore, Store } from '../store.ts'
import { pushPayload } from './payload.ts'
import type { RoomHint } from './room-hint.ts'

/** Where pushes go: an agent's endpoint, or a task's push config. `key` names it in its queue. */
export interface PushTarget extends PushClaim {
  key: string
  /** Extra request headers (a config's token and authentication). */
  headers?: Record<string, string>
  /** The task a config belongs to. */
  taskId?: string
}

/** Push progress kept in the store: leases so one instance delivers to a target at a time, cursors that move on 2xx. */
export interface PushQueue {
  claim(owner: string, leaseMs: number, scope: { roomId?: string; key?: string }): Promise<PushTarget[]>
  advance(key: string, owner: string, seq: number, leaseMs: number): Promise<boolean>
  finish(key: string, owner: string, cursor: number): Promise<{ more: boolean }>
  backoff(key: string, owner: string, cursor: number, failures: number, delayMs: number): Promise<void>
  release(owner: string): Promise<void>
  /**
   * Whether a room's events are worth a claim (absent: always). A queue that knows its rooms spares every send a
   * claim statement; `refresh` (at each sweep) learns rooms that got targets elsewhere.
   */
  wants?(roomId: string): boolean
  refresh?(): Promise<void>
}

/** Agents that joined with an agentEndpoint: their own messages are not pushed back to them. */
export const agentQueue = (s: PushStore, rooms: RoomHint): PushQueue => ({
  wants: rooms.has,
  refresh: rooms.refresh,
  claim: async (owner, leaseMs, scope) =>
    (await s.claimPush(owner, leaseMs, { roomId: scope.roomId, agentId: scope.key })).map((c) => ({ ...c, key: c.agentId })),
  advance: (key, owner, seq, leaseMs) => s.advancePush(key, owner, seq, leaseMs),
  finish: (key, owner, cursor) => s.finishPush(key, owner, cursor),
  backoff: (key, owner, cursor, failures, delayMs) => s.backoffPush(key, owner, cursor, failures, delayMs),
  release: (owner) => s.releasePushes(owner),
})

export interface PushWorkerOptions {
  store: Pick<Store, 'roomById' | 'readAfter' | 'existingAgents'>
  bus: EventBus
  /** Default: agents' endpoints (agentQueue of the store). */
  queue: PushQueue
  /** The body for one message (default: the A2A SendMessage request); `skipOwn`: leave out the target agent's own. */
  payload?: (m: MessageRecord, target: PushTarget) => string
  skipOwn?: boolean
  /** POSTs one payload; resolves to the HTTP status, rejects on a transport failure or refused address. */
  post(endpoint: string, body: string, signal: AbortSignal, headers?: Record<string, string>): Promise<number>
  retryBaseMs: number
  retryMaxMs: number
  /** How long a claim lasts without progress before another instance may take over. */
  leaseMs: number
  sweepMs: number
  log: { warn(obj: object, msg: string): void }
  /** Counts each delivery attempt's outcome (metrics). */
  onResult?(result: 'ok' | 'failed'): void
}

const PAGE = 100

/**
 * A2A push. Each agent with an endpoint is delivered to by one instance at a time: a conditional UPDATE takes a
 * lease on its row (concurrent claimers re-check the condition after the row lock, so only one wins; a dead
 * instance's lease expires). Messages go out one at a time in seq order; the push cursor moves only on 2xx;
 * a failure releases the lease with a backoff before the next attempt. A removed agent's row is gone, which ends
 * its deliveries and retries.
 */
export class PushWorker {
  private readonly me = randomUUID()
  private readonly active = new Map<string, Promise<void>>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly abort = new AbortController()
  private off: (() => void) | null = null
  private sweeper: NodeJS.Timeout | null = null
  private closed = false

  constructor(private readonly opts: PushWorkerOptions) {}

  start(): void {
    const q = this.opts.queue
    this.off = this.opts.bus.subscribe((e) => {
      if (!q.wants || q.wants(e.roomId)) void this.claim('room', e.roomId)
    })
    this.sweeper = setInterval(() => void this.sweep(), this.opts.sweepMs)
    this.sweeper.unref()
    void this.claim('any')
  }

  /** Stops taking work, abandons in-flight POSTs and releases this instance's leases. */
  async close(): Promise<void> {
    this.closed = true
    this.off?.()
    if (this.sweeper) clearInterval(this.sweeper)
    for (const t of this.timers) clearTimeout(t)
    this.abort.abort()
    await Promise.allSettled([...this.active.values()])
    await this.opts.queue.release(this.me).catch(() => {})
  }

  private async sweep(): Promise<void> {
    await this.opts.queue.refresh?.().catch((err) => this.opts.log.warn({ err }, 'push refresh failed'))
    await this.claim('any')
  }

  /** Claims due targets (of one room, one key, or any) and starts delivering to each. */
  async claim(scope: 'room' | 'key' | 'any', id?: string): Promise<void> {
    if (this.closed) return
    const target = scope === 'room' ? { roomId: id } : scope === 'key' ? { key: id } : {}
    try {
      for (const claim of await this.opts.queue.claim(this.me, this.opts.leaseMs, target)) this.run(claim)
    } catch (err) {
      if (!this.closed) this.opts.log.warn({ err }, 'push claim failed')
    }
  }

  private run(claim: PushTarget) {
    const job = this.deliver(claim).finally(() => this.active.delete(claim.key))
    this.active.set(claim.key, job)
  }

  private async deliver(row: PushTarget): Promise<void> {
    const agent = { id: row.agentId, roomId: row.roomId }
    let cursor = row.cursor
    let failures = row.failures
    try {
      for (;;) {
        if (this.closed) return
        const room = await this.opts.store.roomById(agent.roomId)
        if (!room) return
        const rows = await this.opts.store.readAfter(agent, agent.roomId, cursor, PAGE)
        // Kicked or left: nothing from its removal on (its row is gone, so no retry or claim finds it again).
        const removal = await removalIn(this.opts.store, rows, [agent.id])
        for (const m of rows) {
          if (this.closed || (removal && m.seq >= removal.seq)) return
          if (!(this.opts.skipOwn ?? true) || m.fromId !== agent.id) {
            const ok = await this.send(row, m)
            if (!ok) return await this.backoff(row, cursor, ++failures)
            failures = 0
            if (!(await this.opts.queue.advance(row.key, this.me, m.seq, this.opts.leaseMs))) return
          }
          cursor = m.seq
        }
        if (rows.length < PAGE) {
          // Everything visible up to the room's seq at the read was sent; skip what this agent may not see.
          cursor = Math.max(cursor, room.lastSeq)
          break
        }
      }
      const { more } = await this.opts.queue.finish(row.key, this.me, cursor)
      // An event that arrived while this instance held the lease was skipped by its claimer: look again.
      if (more) void this.claim('key', row.key)
    } catch (err) {
      if (!this.closed) this.opts.log.warn({ err, agentId: agent.id }, 'push delivery failed')
      await this.backoff(row, cursor, ++failures).catch(() => {})
    }
  }

  private async send(target: PushTarget, m: MessageRecord): Promise<boolean> {
    const endpoint = target.endpoint
    try {
      const body = this.opts.payload ? this.opts.payload(m, target) : pushPayload(m)
      const status = await this.opts.post(endpoint, body, this.abort.signal, target.headers)
      const ok = status >= 200 && status < 300
      this.opts.onResult?.(ok ? 'ok' : 'failed')
      return ok
    } catch (err) {
      if (!this.closed) this.opts.log.warn({ err: (err as Error).message, endpoint }, 'push POST failed')
      this.opts.onResult?.('failed')
      return false
    }
  }

  private async backoff(row: PushTarget, cursor: number, failures: number) {
    if (this.closed) return
    const delay = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** Math.min(failures - 1, 30))
    const jittered = Math.round(delay * (0.8 + Math.random() * 0.4))
    await this.opts.queue.backoff(row.key, this.me, cursor, failures, jittered)
    const t = setTimeout(() => {
      this.timers.delete(t)
      void this.claim('key', row.key)
    }, jittered + 5)
    t.unref()
    this.timers.add(t)
  }
}
