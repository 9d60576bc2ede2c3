/** The SQL surface the stores are written against, which both drivers (PostgreSQL, embedded PGlite) provide. */
import type { PubSub } from '../lib/events/pg.ts'

export type Row = Record<string, unknown>

export interface Sql {
  query<T extends Row = Row>(text: string, params?: unknown[]): Promise<T[]>
  begin<T>(fn: (tx: Sql) => Promise<T>): Promise<T>
  /** Runs a script of several statements (migrations). */
  exec(text: string): Promise<void>
}

export interface Database extends Sql {
  readonly kind: 'postgres' | 'pglite'
  /** Runs fn holding a session-level advisory lock on its own connection. */
  withAdvisoryLock<T>(key: string, fn: () => Promise<T>): Promise<T>
  /** Ends the connections; on PostgreSQL, statements still unanswered after graceMs (default 5 s) fail then. */
  close(graceMs?: number): Promise<void>
  /** Statements and locks waiting for a connection (always 0 on the embedded store, which queues inside). */
  waiting(): number
  /** Vacuums and analyzes what needs it, where no autovacuum runs (the embedded store); returns what it did. */
  maintain?(): Promise<string[]>
  /** LISTEN/NOTIFY between instances; absent on the embedded store. */
  readonly pubsub?: PubSub
}
