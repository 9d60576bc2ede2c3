// Resumable MCP streams: the GET stream's events logged in the database, POST streams' kept briefly in memory.
import type { EventStore, JSONRPCMessage } from '@modelcontextprotocol/server'
import type { FastifyInstance } from 'fastify'

type McpStore = FastifyInstance['mcpStore']

/** The transport's name for the standalone GET stream. */
const GET_STREAM = '_GET_stream'
const MAX_BATCH = 200
const REPLAY_PAGE = 500

interface Pending {
  key: string
  seq: number | null
  message: string
  now: Date
  resolve: (id: string) => void
  reject: (e: unknown) => void
}

/**
 * The GET streams' events in the database. Appends from all sessions that happen together (one room event
 * fanned out to many sessions) go out as one multi-row INSERT; ids come from one sequence, so they grow.
 */
export class EventLog {
  private pending: Pending[] = []
  private scheduled = false

  constructor(private readonly db: McpStore) {}

  append(key: string, seq: number | null, message: string, now: Date): Promise<string> {
    return new Promise((resolve, reject) => {
      this.pending.push({ key, seq, message, now, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => void this.flush())
      }
    })
  }

  private async flush(): Promise<void> {
    this.scheduled = false
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH)
      try {
        const ids = await this.db.appendEvents(batch.map((p) => ({ key: p.key, seq: p.seq, message: p.message, createdAt: p.now })))
        batch.forEach((p, i) => p.resolve(ids[i]))
      } catch (e) {
        for (const p of batch) p.reject(e)
      }
    }
  }

  /** Events of one session after `afterId`, oldest first. */
  async *after(key: string, afterId: bigint): AsyncGenerator<{ id: string; message: JSONRPCMessage }> {
    let last = afterId
    for (;;) {
      const rows = await this.db.eventsAfter(key, last, REPLAY_PAGE)
      for (const r of rows) yield { id: String(r.id), message: JSON.parse(r.message) as JSONRPCMessage }
      if (rows.length < REPLAY_PAGE) return
      last = BigInt(rows.at(-1)!.id)
    }
  }
}

/** Room seq a logged message reports, for catching up after a restart. */
const seqOf = (message: JSONRPCMessage): number | null => {
  const data = (message as { params?: { data?: { seq?: unknown } } }).params?.data
  return typeof data?.seq === 'number' ? data.seq : null
}

/**
 * One session's EventStore: the GET stream is logged in the database (resumable across restarts and
 * instances); POST streams (priming events, responses) are kept briefly in memory.
 */
export class SessionEvents implements EventStore {
  private readonly recent: { id: string; streamId: string; message: JSONRPCMessage }[] = []
  private counter = 0

  constructor(
    private readonly log: EventLog,
    private readonly key: string,
    private readonly clock: () => Date,
    /** Serialises replays with this session's live notifications. */
    private readonly exclusive: <T>(fn: () => Promise<T>) => Promise<T>,
  ) {}

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    if (streamId === GET_STREAM) return this.log.append(this.key, seqOf(message), JSON.stringify(message), this.clock())
    const id = `p${++this.counter}`
    this.recent.push({ id, streamId, message })
    if (this.recent.length > 64) this.recent.shift()
    return id
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    if (lastEventId.startsWith('p')) {
      const at = this.recent.findIndex((e) => e.id === lastEventId)
      if (at < 0) return GET_STREAM
      const streamId = this.recent[at].streamId
      for (const e of this.recent.slice(at + 1)) if (e.streamId === streamId) await send(e.id, e.message)
      return streamId
    }
    const after = /^\d{1,19}$/.test(lastEventId) ? BigInt(lastEventId) : null
    if (after === null) return GET_STREAM
    return this.exclusive(async () => {
      for await (const e of this.log.after(this.key, after)) await send(e.id, e.message)
      return GET_STREAM
    })
  }
}
