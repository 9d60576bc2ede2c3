// The live MCP sessions of this instance: created, restored from the database, expired and closed.
import { randomUUID } from 'node:crypto'
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import type { RoomService } from '../../lib/rooms/service.ts'
import { EventLog, SessionEvents } from './event-log.ts'
import type { McpHost } from './host.ts'
import { hydrate } from './hydrate.ts'
import { createMcpServer } from './mcp-server.ts'
import { McpSession, roomNotification } from './session.ts'
import { emptyState, SessionStore, sessionKey, type SessionState } from './session-store.ts'

/** Live transports idle this long leave memory (their rows stay; the next request restores them). */
const MEMORY_IDLE_MS = 10 * 60_000
/** A notification feed whose catch-up failed tries again after this long. */
const RETRY_MS = 1000
/** last_seen is written at most this often per session. */
const TOUCH_EVERY_MS = 60_000

export interface RegistryOptions {
  service: RoomService
  mcpStore: FastifyInstance['mcpStore']
  log: FastifyBaseLogger
  idleMs: number
  instructions: string
  /** Sessions one client address may hold in memory on this instance; 0: no limit. */
  maxPerAddress: number
  /** The clock the room service runs on (tests move it). */
  clock: () => Date
}

/** Every MCP session of this plugin instance: creation, restore from the database, expiry, shutdown. */
export class SessionRegistry implements McpHost {
  readonly sessions = new Map<string, McpSession>()
  private readonly restoring = new Map<string, Promise<McpSession | null>>()
  /** Sessions created here, by the client address that created them, while they are in memory. */
  private readonly owner = new WeakMap<McpSession, string>()
  private readonly perAddress = new Map<string, number>()
  /** The client address of each session's latest request (room creation is counted per address). */
  private readonly lastAddress = new WeakMap<McpSession, string>()
  private readonly store: SessionStore
  private readonly events: EventLog
  private readonly timer: NodeJS.Timeout
  private closing = false

  constructor(private readonly opts: RegistryOptions) {
    this.store = new SessionStore(opts.mcpStore)
    this.events = new EventLog(opts.mcpStore)
    this.timer = setInterval(() => void this.sweep(), Math.min(60_000, Math.max(1000, opts.idleMs / 4)))
    this.timer.unref()
  }

  get service(): RoomService {
    return this.opts.service
  }

  private now(): number {
    return this.opts.clock().getTime()
  }

  /**
   * A session for an `initialize` request from `address`: registered and persisted once the transport accepts it
   * (`settle` after the request). Null when the address holds its maximum already.
   */
  async initializing(address: string): Promise<McpSession | null> {
    const held = this.perAddress.get(address) ?? 0
    if (this.opts.maxPerAddress > 0 && held >= this.opts.maxPerAddress) return null
    this.perAddress.set(address, held + 1)
    let session: McpSession
    try {
      session = await this.build(randomUUID(), emptyState(), false)
    } catch (err) {
      this.release(address)
      throw err
    }
    this.owner.set(session, address)
    return session
  }

  /** After its `initialize` request: a session the transport did not accept frees its address's place. */
  settle(session: McpSession): void {
    if (this.sessions.get(session.id) !== session) this.disown(session)
  }

  private disown(session: McpSession): void {
    const address = this.owner.get(session)
    if (address === undefined) return
    this.owner.delete(session)
    this.release(address)
  }

  private release(address: string): void {
    const held = (this.perAddress.get(address) ?? 1) - 1
    if (held > 0) this.perAddress.set(address, held)
    else this.perAddress.delete(address)
  }

  /** The live or stored session with this id; null if unknown or expired. */
  async find(id: string): Promise<McpSession | null> {
    const live = this.sessions.get(id)
    if (live) {
      if (this.now() - live.lastSeen <= this.opts.idleMs || live.streams > 0) return live
      await this.end(live)
      return null
    }
    let pending = this.restoring.get(id)
    if (!pending) {
      pending = this.restore(id).finally(() => this.restoring.delete(id))
      this.restoring.set(id, pending)
    }
    return pending
  }

  private async restore(id: string): Promise<McpSession | null> {
    const state = await this.store.load(id, new Date(this.now() - this.opts.idleMs))
    if (!state) return null
    const session = await this.build(id, state, true)
    this.sessions.set(id, session)
    if (session.joined) {
      // A stream user catches up on what it missed while no instance held it; others start from now.
      const from = state.usesStream ? state.notifyAfter : await this.opts.service.lastSeq(state.roomId!)
      await this.attach(session, from)
      await session.settled()
    }
    return session
  }

  private async build(id: string, state: SessionState, restored: boolean): Promise<McpSession> {
    const session = new McpSession(id, sessionKey(id), state, this.now())
    session.transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      eventStore: new SessionEvents(this.events, session.key, () => new Date(this.now()), (fn) => session.exclusive(fn)),
      onsessioninitialized: async () => {
        await this.store.insert(id, session.state, new Date(this.now()))
        this.sessions.set(id, session)
      },
      onsessionclosed: async () => {
        await this.store.delete(id)
      },
    })
    if (restored) hydrate(session.transport, id)
    session.transport.onclose = () => this.forget(session)
    session.server = createMcpServer(this, session, this.opts.instructions)
    await session.server.connect(session.transport)
    return session
  }

  /** Drops a session from memory (its row stays). */
  private forget(session: McpSession): void {
    if (session.closed) return
    session.closed = true
    session.abort.abort()
    session.feed?.close()
    this.disown(session)
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id)
  }

  /** Ends a session for good: memory, row and event log. */
  async end(session: McpSession): Promise<void> {
    await session.transport.close()
    await this.store.delete(session.id)
  }

  addressOf(session: McpSession): string | undefined {
    return this.lastAddress.get(session)
  }

  touch(session: McpSession, address: string): void {
    this.lastAddress.set(session, address)
    const now = this.now()
    session.lastSeen = now
    if (now - session.persistedSeen >= Math.min(TOUCH_EVERY_MS, this.opts.idleMs / 4)) {
      session.persistedSeen = now
      this.store.touch([session.id], new Date(now)).catch((err) => this.opts.log.warn({ err }, 'mcp session touch failed'))
    }
  }

  async save(session: McpSession): Promise<void> {
    session.persistedSeen = this.now()
    await this.store.save(session.id, session.state, new Date(session.persistedSeen))
  }

  /** createRoom/joinRoom succeeded: the session now acts as this agent. */
  async bind(session: McpSession, agentToken: string): Promise<void> {
    const { agent, room } = await this.opts.service.authenticate(agentToken)
    const lastSeq = await this.opts.service.lastSeq(room.id)
    session.state = { ...session.state, agentToken, agentId: agent.id, roomId: room.id, notifyAfter: lastSeq }
    await this.save(session)
    await this.attach(session, lastSeq)
  }

  /** Notifies a session of its room's messages after `afterSeq`; resolves once anything missed is queued. */
  private async attach(session: McpSession, afterSeq: number): Promise<void> {
    session.feed?.close()
    const { roomId, agentId } = session.state
    if (!roomId) return
    const sub = (session.feed = this.opts.service.feed.subscribe(roomId, afterSeq, {
      agentId,
      skipOwn: true,
      format: roomNotification,
      deliver: (n, seq) => {
        if (session.deliver(n) && agentId) this.opts.service.delivered(agentId, 'mcp', seq)
      },
      // Kicked or left: none left waiting for the next tool result either.
      cut: () => void session.takeBuffered(),
    }))
    await sub.ready.catch((err) => {
      this.opts.log.warn({ err }, 'mcp notification fan-out failed')
      // The store failed while catching up: try again shortly from where it got, while the session still wants it.
      setTimeout(() => {
        if (!session.closed && session.feed === sub) void this.attach(session, sub.position)
      }, RETRY_MS).unref()
    })
  }

  async unbind(session: McpSession): Promise<void> {
    session.feed?.close()
    session.state = { ...session.state, agentToken: null, agentId: null, roomId: null }
    await this.save(session)
  }

  async setLevel(session: McpSession, level: string): Promise<void> {
    session.state = { ...session.state, logLevel: level }
    await this.save(session)
  }

  /** The client opened the GET stream: from now on notifications are logged for it. */
  async useStream(session: McpSession): Promise<void> {
    if (session.state.usesStream) return
    session.takeBuffered()
    session.state = { ...session.state, usesStream: true, notifyAfter: session.lastSeq }
    await this.save(session)
  }

  /** Periodic: frees idle transports, persists last use, forgets expired sessions. */
  async sweep(): Promise<void> {
    if (this.closing) return
    const now = this.now()
    const seen: string[] = []
    for (const s of [...this.sessions.values()]) {
      if (s.streams > 0) s.lastSeen = now
      if (s.lastSeen > s.persistedSeen) {
        s.persistedSeen = s.lastSeen
        seen.push(s.id)
      }
      if (now - s.lastSeen > Math.min(MEMORY_IDLE_MS, this.opts.idleMs)) await s.transport.close()
    }
    try {
      await this.store.touch(seen, new Date(now))
      await this.store.expire(new Date(now - this.opts.idleMs))
    } catch (err) {
      this.opts.log.warn({ err }, 'mcp session sweep failed')
    }
  }

  /** Shutdown: end every stream (open streams would hold server.close()), keep the rows. */
  async closeAll(): Promise<void> {
    this.closing = true
    clearInterval(this.timer)
    const live = [...this.sessions.values()]
    const seen = live.filter((s) => s.lastSeen > s.persistedSeen).map((s) => s.id)
    await Promise.allSettled(live.map((s) => s.transport.close()))
    await this.store.touch(seen, new Date(this.now())).catch(() => {})
  }
}
