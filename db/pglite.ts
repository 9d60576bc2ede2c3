/** The embedded driver: PGlite spoken to over its wire protocol, statements kept prepared, one caller at a time. */
import { type PGlite, protocol, types } from '@electric-sql/pglite'
import { Gate } from './mutex.ts'
import type { Row, Sql } from './database.ts'

type Message = { name: string } & Record<string, unknown>
interface Prepared {
  name: string
  paramTypes: number[]
  /** Result columns: name and type OID. */
  columns: { name: string; type: number }[]
}

const { serialize } = protocol

/**
 * PGlite spoken to over its wire protocol, keeping each statement prepared. PGlite's own `query` re-parses and
 * re-plans every statement in six round trips into the WASM module; a kept statement is one Bind/Execute/Sync.
 * Everything goes through here (statements, transactions, scripts), serialized by one queue: PGlite is one
 * backend, and a statement must never slip into another caller's open transaction.
 */
export class PgliteSession {
  private readonly prepared = new Map<string, Prepared>()
  private readonly turn = new Gate(1)

  /** Past `maxPrepared` distinct texts, statements are parsed each time instead of kept (our SQL is static; a guard). */
  constructor(
    private readonly db: PGlite,
    private readonly maxPrepared = 500,
  ) {}

  /** The Sql interface: statements and scripts each take the session in turn; `begin` keeps it for its callback. */
  get sql(): Sql {
    return {
      query: (text, params) => this.exclusive(() => this.run(text, params ?? [])),
      exec: (text) => this.exclusive(() => this.script(text)),
      begin: (fn) => this.exclusive(() => this.transaction(fn)),
    }
  }

  /** Closes the database once what is queued has run. */
  close(): Promise<void> {
    return this.exclusive(() => this.db.close())
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.turn.run(fn)
  }

  private async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    let open = true
    const guard = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => (...a: A) => {
      if (!open) return Promise.reject(new Error('transaction already ended'))
      return f(...a)
    }
    const tx: Sql = {
      query: guard((text: string, params?: unknown[]) => this.run(text, params ?? [])),
      exec: guard((text: string) => this.script(text)),
      begin: () => Promise.reject(new Error('nested transactions are not supported')),
    }
    await this.script('BEGIN')
    try {
      const out = await fn(tx)
      open = false
      await this.script('COMMIT')
      return out
    } catch (err) {
      open = false
      await this.script('ROLLBACK')
      throw err
    }
  }

  private async run<T extends Row>(text: string, params: unknown[]): Promise<T[]> {
    const stmt = this.prepared.get(text) ?? (await this.prepare(text))
    const values = params.map((v, i) => {
      if (v === null || v === undefined) return null
      const serializer = this.db.serializers[stmt.paramTypes[i]]
      return serializer ? serializer(v) : String(v)
    })
    const msgs = await this.exchange(serialize.bind({ statement: stmt.name, values }), serialize.execute({}), serialize.sync())
    const rows: T[] = []
    for (const m of msgs) {
      if (m.name !== 'dataRow') continue
      const values = m.fields as (string | null)[]
      const row: Row = {}
      stmt.columns.forEach((c, i) => (row[c.name] = types.parseType(values[i], c.type, this.db.parsers)))
      rows.push(row as T)
    }
    return rows
  }

  private async prepare(text: string): Promise<Prepared> {
    const name = this.prepared.size < this.maxPrepared ? `s${this.prepared.size + 1}` : ''
    const msgs = await this.exchange(serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync())
    const params = msgs.find((m) => m.name === 'parameterDescription')
    const stmt: Prepared = {
      name,
      paramTypes: (params?.dataTypeIDs as number[] | undefined) ?? [],
      columns: ((msgs.find((m) => m.name === 'rowDescription')?.fields ?? []) as { name: string; dataTypeID: number }[]).map((f) => ({
        name: f.name,
        type: f.dataTypeID,
      })),
    }
    if (name) this.prepared.set(text, stmt)
    return stmt
  }

  /** A simple-protocol script: one or more statements, results discarded. */
  private async script(text: string): Promise<void> {
    await this.exchange(serialize.query(text))
  }

  /** Sends messages in one call into the backend; throws the first error it answered with. */
  private async exchange(...parts: Uint8Array[]): Promise<Message[]> {
    const request = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let at = 0
    for (const p of parts) {
      request.set(p, at)
      at += p.length
    }
    // Not execProtocolRaw: PGlite parses every reply anyway, into the collector of the last execProtocol call,
    // which only execProtocol replaces (the raw calls grew that one collector by every message, forever).
    // No syncToFs: our data dirs are NodeFS (writes go straight to disk) or memory://.
    const { messages } = await this.db.execProtocol(request, { syncToFs: false })
    return messages as unknown as Message[]
  }
}
