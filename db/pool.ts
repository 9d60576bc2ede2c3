/** PostgreSQL connections: one-connection clients, each statement sent to the least busy one. */
import postgres from 'postgres'
import { Fifo } from './mutex.ts'

interface Conn {
  readonly sql: postgres.Sql
  /** Statements sent and not yet answered. */
  inflight: number
  /** Taken whole by a transaction or a session lock: no statements are routed to it. */
  held: boolean
}

/**
 * PostgreSQL connections, one postgres.js client of one connection each, so that we choose where each statement
 * goes. postgres.js's own pool pipelines onto busy connections through a queue that keeps a hole per pipelined
 * query and scans them all on every move (3.4.9, src/queue.js): every statement got slower with the process's age.
 * A one-connection client's queues empty on every shift and never accumulate holes.
 */
export class PgPool {
  private readonly conns: Conn[]
  private readonly statements = new Fifo<(c: Conn) => void>()
  private readonly holds = new Fifo<(c: Conn) => void>()
  private heldCount = 0

  /** depth: statements pipelined on one connection at most. */
  constructor(url: string, size: number, private readonly depth: number, options: postgres.Options<{}>) {
    this.conns = Array.from({ length: size }, () => ({ sql: postgres(url, { ...options, max: 1 }), inflight: 0, held: false }))
  }

  /** Callers waiting for a connection. */
  get waiting(): number {
    return this.statements.length + this.holds.length
  }

  /** Some connection, for what is not a statement (LISTEN runs on a connection of its own). */
  get any(): postgres.Sql {
    return this.conns[0].sql
  }

  /** One statement, on the connection with the fewest in flight. */
  async run<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    const c = (this.statements.length === 0 && this.claimStatement()) || (await new Promise<Conn>((r) => this.statements.push(r)))
    try {
      return await fn(c.sql)
    } finally {
      c.inflight--
      this.dispatch()
    }
  }

  /** A connection to itself for fn (a transaction, a session lock). One is always left for statements. */
  async hold<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    const c = (this.holds.length === 0 && this.claimHold()) || (await new Promise<Conn>((r) => this.holds.push(r)))
    try {
      return await fn(c.sql)
    } finally {
      c.held = false
      this.heldCount--
      this.dispatch()
    }
  }

  /** timeout: seconds after which the connections are destroyed and every statement still waiting fails. */
  async end(timeout: number): Promise<void> {
    await Promise.all(this.conns.map((c) => c.sql.end({ timeout })))
  }

  private leastBusy(limit: number): Conn | undefined {
    let best: Conn | undefined
    for (const c of this.conns) if (!c.held && c.inflight < limit && (!best || c.inflight < best.inflight)) best = c
    return best
  }

  private claimStatement(): Conn | undefined {
    const c = this.leastBusy(this.depth)
    if (c) c.inflight++
    return c
  }

  /** A held connection may still be answering statements; the transaction queues behind them on it. */
  private claimHold(): Conn | undefined {
    if (this.heldCount >= this.conns.length - 1) return undefined
    const c = this.leastBusy(Infinity)
    if (c) {
      c.held = true
      this.heldCount++
    }
    return c
  }

  private dispatch() {
    for (let c: Conn | undefined; this.holds.length && (c = this.claimHold()); ) this.holds.shift()!(c)
    for (let c: Conn | undefined; this.statements.length && (c = this.claimStatement()); ) this.statements.shift()!(c)
  }
}
