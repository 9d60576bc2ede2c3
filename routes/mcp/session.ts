import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js'
import type { SessionState } from './session-store.ts'

const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']
/** Notifications kept for a session without a GET stream, until its next tool result. */
const MAX_BUFFERED = 500

export type RoomNotification = LoggingMessageNotification

/** One MCP session on this instance: its SDK server and transport, and what it remembers. */
export class McpSession {
  server!: Server
  transport!: StreamableHTTPServerTransport
  /** Room seq of the last message turned into a notification for this session. */
  lastSeq = 0
  /** Open standalone GET streams (0 or 1). */
  streams = 0
  lastSeen: number
  /** When last_seen was last written to the database. */
  persistedSeen: number
  closed = false
  /** Aborts in-flight tool calls when the session ends. */
  readonly abort = new AbortController()
  private buffer: RoomNotification[] = []
  private tail: Promise<unknown> = Promise.resolve()

  constructor(
    readonly id: string,
    readonly key: string,
    public state: SessionState,
    now: number,
  ) {
    this.lastSeen = now
    this.persistedSeen = now
  }

  get joined(): boolean {
    return this.state.agentToken !== null && this.state.agentId !== null && this.state.roomId !== null
  }

  wants(level: string): boolean {
    return LEVELS.indexOf(level) >= LEVELS.indexOf(this.state.logLevel)
  }

  /**
   * Runs fn after everything queued before it: live notifications and replays never interleave, so each
   * event reaches a stream once and in order. A macrotask separates jobs so the transport can register a
   * replayed stream before the next live event.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn)
    this.tail = run.then(
      () => new Promise((r) => setImmediate(r)),
      () => new Promise((r) => setImmediate(r)),
    )
    return run
  }

  /** Hands a notification to the GET stream's log, or keeps it for the next tool result. */
  deliver(n: RoomNotification): void {
    if (this.closed || !this.wants(n.params.level)) return
    if (this.state.usesStream) {
      void this.exclusive(() => this.server.notification(n)).catch(() => {})
      return
    }
    this.buffer.push(n)
    if (this.buffer.length > MAX_BUFFERED) this.buffer.shift()
  }

  takeBuffered(): RoomNotification[] {
    const out = this.buffer
    this.buffer = []
    return out
  }

  /** Resolves when every queued notification has been handed to the transport. */
  settled(): Promise<unknown> {
    return this.exclusive(async () => {})
  }
}
