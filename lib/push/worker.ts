import { randomUUID } from 'node:crypto'
import type { Sql } from '../../db/sql.ts'
import type { EventBus } from '../events.ts'
import type { MessageRecord, Store } from '../store.ts'
import { pushPayload } from './payload.ts'

export interface PushWorkerOptions {
  db: Sql
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
}

interface Claimed {
  id: string
  room_id: string
  endpoint: string
  push_cursor: string
  push_failures: number
}

const PAGE = 100

/** Work an instance may take: an agent with an endpoint, behind the room, not leased, not backing off. */
const DUE = `a.endpoint IS NOT NULL
  AND COALESCE(a.push_cursor, a.cursor) < r.last_seq
  AND (a.push_lease_until IS NULL OR a.push_lease_until < now())
  AND (a.push_due_at IS NULL OR a.push_due_at <= now())`

/**
 * A2A push. Each agent with an endpoint is delivered to by one instance at a time: a conditional UPDATE takes a
 * lease on its row (concurrent claimers re-check the condition after the row lock, so only one wins; a dead
 * instance's lease expires). Messages go out one at a time in seq order; the push cursor moves only on 2xx;
 * a failure releases the lease with a backoff before the next attempt.
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
    await this.opts.db
      .query('UPDATE agents SET push_owner = NULL, push_lease_until = NULL WHERE push_owner = $1', [this.me])
      .catch(() => {})
  }

  /** Claims due agents (of one room, one agent, or any) and starts delivering to each. */
  async claim(scope: 'room' | 'agent' | 'any', id?: string): Promise<void> {
    if (this.closed) return
    const where = scope === 'room' ? 'AND a.room_id = $3' : scope === 'agent' ? 'AND a.id = $3' : ''
    try {
      const rows = await this.opts.db.query<Claimed & Record<string, unknown>>(
        `UPDATE agents a SET push_owner = $1, push_lease_until = now() + make_interval(secs => $2),
           push_cursor = COALESCE(a.push_cursor, a.cursor)
         WHERE a.id IN (SELECT a.id FROM agents a JOIN rooms r ON r.id = a.room_id WHERE ${DUE} ${where} LIMIT 100)
           AND (a.push_lease_until IS NULL OR a.push_lease_until < now())
         RETURNING a.id, a.room_id, a.endpoint, a.push_cursor, a.push_failures`,
        id ? [this.me, this.opts.leaseMs / 1000, id] : [this.me, this.opts.leaseMs / 1000],
      )
      for (const row of rows) this.run(row)
    } catch (err) {
      if (!this.closed) this.opts.log.warn({ err }, 'push claim failed')
    }
  }

  private run(row: Claimed) {
    const job = this.deliver(row).finally(() => this.active.delete(row.id))
    this.active.set(row.id, job)
  }

  private async deliver(row: Claimed): Promise<void> {
    const agent = { id: row.id, roomId: row.room_id }
    let cursor = Number(row.push_cursor)
    let failures = row.push_failures
    try {
      for (;;) {
        if (this.closed) return
        const room = await this.opts.store.roomById(agent.roomId)
        if (!room) return
        const rows = await this.opts.store.readAfter(agent, agent.roomId, cursor, PAGE)
        for (const m of rows) {
          if (this.closed) return
          if (m.fromId !== agent.id) {
            const ok = await this.send(row.endpoint, m)
            if (!ok) return await this.backoff(row, cursor, ++failures)
            failures = 0
            if (!(await this.advance(agent.id, m.seq, true))) return
          }
          cursor = m.seq
        }
        if (rows.length < PAGE) {
          // Everything visible up to the room's seq at the read was sent; skip what this agent may not see.
          cursor = Math.max(cursor, room.lastSeq)
          break
        }
      }
      const [left] = await this.opts.db.query<{ more: boolean }>(
        `UPDATE agents a SET push_cursor = GREATEST(a.push_cursor, $3), push_owner = NULL, push_lease_until = NULL
         FROM rooms r WHERE a.id = $1 AND a.push_owner = $2 AND r.id = a.room_id
         RETURNING a.push_cursor < r.last_seq AS more`,
        [agent.id, this.me, cursor],
      )
      // An event that arrived while this instance held the lease was skipped by its claimer: look again.
      if (left?.more) void this.claim('agent', agent.id)
    } catch (err) {
      if (!this.closed) this.opts.log.warn({ err, agentId: agent.id }, 'push delivery failed')
      await this.backoff(row, cursor, ++failures).catch(() => {})
    }
  }

  private async send(endpoint: string, m: MessageRecord): Promise<boolean> {
    try {
      const status = await this.opts.post(endpoint, pushPayload(m), this.abort.signal)
      return status >= 200 && status < 300
    } catch (err) {
      if (!this.closed) this.opts.log.warn({ err: (err as Error).message, endpoint }, 'push POST failed')
      return false
    }
  }

  /** Records a 2xx: the push cursor (and the read cursor, the agent has the message) move; the lease renews. */
  private async advance(agentId: string, seq: number, delivered: boolean): Promise<boolean> {
    const rows = await this.opts.db.query(
      `UPDATE agents SET push_cursor = GREATEST(push_cursor, $3),
         cursor = CASE WHEN $4 THEN GREATEST(cursor, $3) ELSE cursor END,
         push_failures = 0, push_due_at = NULL, push_lease_until = now() + make_interval(secs => $5)
       WHERE id = $1 AND push_owner = $2 RETURNING id`,
      [agentId, this.me, seq, delivered, this.opts.leaseMs / 1000],
    )
    return rows.length > 0
  }

  private async backoff(row: Claimed, cursor: number, failures: number) {
    if (this.closed) return
    const delay = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** Math.min(failures - 1, 30))
    const jittered = Math.round(delay * (0.8 + Math.random() * 0.4))
    await this.opts.db.query(
      `UPDATE agents SET push_cursor = GREATEST(push_cursor, $3), push_failures = $4,
         push_due_at = now() + make_interval(secs => $5), push_owner = NULL, push_lease_until = NULL
       WHERE id = $1 AND push_owner = $2`,
      [row.id, this.me, cursor, failures, jittered / 1000],
    )
    const t = setTimeout(() => {
      this.timers.delete(t)
      void this.claim('agent', row.id)
    }, jittered + 5)
    t.unref()
    this.timers.add(t)
  }
}
