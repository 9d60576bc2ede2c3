/** One live MCP session on this instance: SDK server and transport, remembered state, buffered notifications. */
import type { LoggingMessageNotification, Server, WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server'
import type { Subscription } from '../../lib/feed/room-feed.ts'
import { threadOf } from '../../lib/rooms/wire.ts'
import type { MessageRecord } from '../../lib/store.ts'
import type { SessionState } from './session-store.ts'

const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']
/** Notifications kept for a session without a GET stream, until its next tool result. */
const MAX_BUFFERED = 500

export type RoomNotification = LoggingMessageNotification

/** A room message as an MCP notification: built once per message, shared by every session told of it. */
export function roomNotification(m: MessageRecord): RoomNotification {
  const data = {
    from: m.from,
    ...(m.to !== null ? { to: m.to } : {}),
    body: m.body,
    timestamp: m.timestamp.toISOString(),
    seq: m.seq,
    id: m.id,
    replyTo: m.replyTo,
    threadId: threadOf(m),
    mentions: m.mentions,
    ...(m.ackRequired ? { ackRequired: true } : {}),
    ...(m.kind === 'human' ? { kind: 'human' } : {}),
  }
  return { method: 'notifications/message', params: { level: 'info', logger: `room/${m.roomId}`, data } }
}

/** One MCP session on this instance: its SDK server and transport, and what it remembers. */
export class McpSession {
  server!: Server
  transport!: WebStandardStreamableHTTPServerTransport
  /** Its room's messages from the live feed (kept once closed: it still tells how far the session got). */
  feed: Subscription<RoomNotification> | null = null
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

  /** Room seq of the last message the feed gave this session or passed over. */
  get lastSeq(): number {
    return this.feed?.position ?? 0
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

  /** Hands a notification to the GET stream's log (true), or keeps it for the next tool result. */
  deliver(n: RoomNotification): boolean {
    if (this.closed || !this.wants(n.params.level)) return false
    if (this.state.usesStream) {
      void this.exclusive(() => this.server.notification(n)).catch(() => {})
      return true
    }
    this.buffer.push(n)
    if (this.buffer.length > MAX_BUFFERED) this.buffer.shift()
    return false
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
