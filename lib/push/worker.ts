// A2A push delivery: one instance at a time per agent, messages in seq order, retries with backoff.
import { randomUUID } from 'node:crypto'
import type { EventBus } from '../events/bus.ts'
import { removalIn } from '../rooms/removal.ts'
import type { MessageRecord, PushClaim, Store } from '../store.ts'
import { pushPayload } from './payload.ts'

export interface PushWorkerOptions {
  store: Store
  bus: EventBus
  /** POSTs one payload; resolves to the HTTP status, rejects on a transport failure or refused address. */
  post(endpoint: string, body: string, signal: AbortSignal): Promise<number>
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
    this.off = this.opts.bus.subscribe((e) => void this.claim('room', e.roomId))
    this.sweeper = setInterval(() => void this.claim('any'), this.opts.sweepMs)
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
    await this.opts.store.releasePushes(this.me).catch(() => {})
  }

  /** Claims due agents (of one room, one agent, or any) and starts delivering to each. */
  async claim(scope: 'room' | 'agent' | 'any', id?: string): Promise<void> {
    if (this.closed) return
    const target = scope === 'room' ? { roomId: id } : scope === 'agent' ? { agentId: id } : {}
    try {
      for (const claim of await this.opts.store.claimPush(this.me, this.opts.leaseMs, target)) this.run(claim)
    } catch (err) {
      if (!this.closed) this.opts.log.warn({ err }, 'push claim failed')
    }
  }

  private run(claim: PushClaim) {
    const job = this.deliver(claim).finally(() => this.active.delete(claim.agentId))
    this.active.set(claim.agentId, job)
  }

  private async deliver(row: PushClaim): Promise<void> {
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
          if (m.fromId !== agent.id) {
            const ok = await this.send(row.endpoint, m)
            if (!ok) return await this.backoff(row, cursor, ++failures)
            failures = 0
            if (!(await this.opts.store.advancePush(agent.id, this.me, m.seq, this.opts.leaseMs))) return
          }
          cursor = m.seq
        }
        if (rows.length < PAGE) {
          // Everything visible up to the room's seq at the read was sent; skip what this agent may not see.
          cursor = Math.max(cursor, room.lastSeq)
          break
        }
      }
      const { more } = await this.opts.store.finishPush(agent.id, this.me, cursor)
      // An event that arrived while this instance held the lease was skipped by its claimer: look again.
      if (more) void this.claim('agent', agent.id)
    } catch (err) {
      if (!this.closed) this.opts.log.warn({ err, agentId: agent.id }, 'push delivery failed')
      await this.backoff(row, cursor, ++failures).catch(() => {})
    }
  }

  private async send(endpoint: string, m: MessageRecord): Promise<boolean> {
    try {
      const status = await this.opts.post(endpoint, pushPayload(m), this.abort.signal)
      const ok = status >= 200 && status < 300
      this.opts.onResult?.(ok ? 'ok' : 'failed')
      return ok
    } catch (err) {
      if (!this.closed) this.opts.log.warn({ err: (err as Error).message, endpoint }, 'push POST failed')
      this.opts.onResult?.('failed')
      return false
    }
  }

  private async backoff(row: PushClaim, cursor: number, failures: number) {
    if (this.closed) return
    const delay = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** Math.min(failures - 1, 30))
    const jittered = Math.round(delay * (0.8 + Math.random() * 0.4))
    await this.opts.store.backoffPush(row.agentId, this.me, cursor, failures, jittered)
    const t = setTimeout(() => {
      this.timers.delete(t)
      void this.claim('agent', row.agentId)
    }, jittered + 5)
    t.unref()
    this.timers.add(t)
  }
}
