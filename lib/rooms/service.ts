// The room service: the one door to room data. Every room rule lives behind it; protocol plugins only translate.
import { RoomFeed } from '../feed/room-feed.ts'
import type { AgentKind, RoomRecord, RoomType, Surface } from '../store.ts'
import { RoomContext, type Authed, type RoomServiceOptions } from './context.ts'
import { gitAccess, type GitAccess } from './git-access.ts'
import { Membership } from './membership.ts'
import { Messaging } from './messaging.ts'
import { landing, roomView } from './page.ts'
import { Leases } from './leases.ts'
import { acknowledge, status } from './receipts.ts'
import { RoomTasks } from './room-tasks.ts'
import { Rooms } from './rooms.ts'
import { search, searchPublic, type SearchParams } from './search.ts'
import { WaitTasks, type WaitTask } from './wait-tasks.ts'
import { Waits } from './waits.ts'

export type { Participant } from './page.ts'
export type { Result } from './replies.ts'
export type { WaitTask } from './wait-tasks.ts'
export { KEEP_ENDED_MS as WAIT_TASK_KEPT_MS } from './wait-tasks.ts'
export { MAX_QUERY_CHARS } from './search.ts'

export class RoomService {
  /** This instance's live feed of room messages (SSE, MCP notifications, the web page). */
  readonly feed: RoomFeed
  /** Room subscriptions as A2A Tasks (room.subscribe). */
  readonly roomTasks: RoomTasks
  readonly #ctx: RoomContext
  readonly #rooms: Rooms
  readonly #messaging: Messaging
  readonly #membership: Membership
  readonly #waits: Waits
  readonly #waitTasks: WaitTasks
  readonly #leases: Leases
  readonly #deletedListeners = new Set<(ids: string[]) => void | Promise<void>>()

  constructor(opts: RoomServiceOptions) {
    const ctx = (this.#ctx = new RoomContext(opts))
    this.#rooms = new Rooms(ctx)
    this.#messaging = new Messaging(ctx)
    this.#membership = new Membership(ctx, this.#rooms, this.#messaging)
    this.#waits = new Waits(ctx, this.#messaging)
    this.#waitTasks = new WaitTasks(ctx, this.#messaging)
    this.#leases = new Leases(ctx)
    this.roomTasks = new RoomTasks(ctx)
    this.feed = new RoomFeed({ store: opts.store, events: opts.events, onError: opts.onFeedError ?? (() => {}) })
  }

  // ---- actions (see lib/actions/table.ts) ----

  create(p: Parameters<Rooms['create']>[0], caller?: string) {
    return this.#rooms.create(p, caller)
  }
  info(p: { roomId: string; password?: string }) {
    return this.#rooms.info(p)
  }
  list(p: { search?: string; limit?: number; offset?: number }) {
    return this.#rooms.list(p)
  }
  update(p: { agentToken: string; description?: string; type?: RoomType }) {
    return this.#rooms.update(p)
  }
  /** `kind` 'human': a person joining from the web page (the actions never pass it). */
  join(p: Parameters<Membership['join']>[0], signal?: AbortSignal, kind?: AgentKind) {
    return this.#membership.join(p, signal, kind)
  }
  leave(p: { agentToken: string; roomId?: string }) {
    return this.#membership.leave(p)
  }
  promote(p: { agentToken: string; targetAgent: string }) {
    return this.#membership.promote(p)
  }
  demote(p: { agentToken: string; targetAgent: string }) {
    return this.#membership.demote(p)
  }
  kick(p: { agentToken: string; targetAgent: string }) {
    return this.#membership.kick(p)
  }
  send(p: { agentToken: string; text: string; to?: string; replyTo?: string; ackRequired?: boolean }, signal?: AbortSignal) {
    return this.#messaging.send(p, signal)
  }
  history(p: { agentToken: string; roomId: string; limit?: number; offset?: number }) {
    return this.#messaging.history(p)
  }
  search(p: SearchParams) {
    return search(this.#ctx, p)
  }
  thread(p: { agentToken: string; threadId: string; roomId?: string; limit?: number; offset?: number }) {
    return this.#messaging.thread(p)
  }
  unread(p: { agentToken: string; peek?: boolean; mentionsOnly?: boolean }, signal?: AbortSignal) {
    return this.#messaging.unread(p, signal)
  }
  wait(p: { agentToken: string; timeout?: number; mentionsOnly?: boolean }, signal?: AbortSignal) {
    return this.#waits.wait(p, signal)
  }
  ack(p: { agentToken: string; messageIds: string[]; roomId?: string }) {
    return acknowledge(this.#ctx, p)
  }
  status(p: { agentToken: string; messageId: string; roomId?: string }) {
    return status(this.#ctx, this.#ctx.deliveries, p)
  }
  subscribe(p: { agentToken: string; roomId?: string }) {
    return this.roomTasks.subscribe(p)
  }
  leaseAcquire(p: Parameters<Leases['acquire']>[0]) {
    return this.#leases.acquire(p)
  }
  leaseRenew(p: Parameters<Leases['renew']>[0]) {
    return this.#leases.renew(p)
  }
  leaseRelease(p: Parameters<Leases['release']>[0]) {
    return this.#leases.release(p)
  }
  leaseList(p: Parameters<Leases['list']>[0]) {
    return this.#leases.list(p)
  }

  // ---- wait tasks: message.wait outliving its request (MCP Tasks) ----

  /** Starts a wait (timeout in seconds, default 3600, at most 86400); it completes at once if something is unread. */
  startWaitTask(p: { agentToken: string; timeout?: number; mentionsOnly?: boolean }): Promise<WaitTask> {
    return this.#waitTasks.create(p)
  }
  /** The task behind a handle, null if unknown (or ended over an hour ago). */
  waitTask(id: string): Promise<WaitTask | null> {
    return this.#waitTasks.get(id)
  }
  /** Cancels a working task; an ended one is returned unchanged; null if unknown. */
  cancelWaitTask(id: string): Promise<WaitTask | null> {
    return this.#waitTasks.cancel(id)
  }
  /** `cb` runs once when the task has ended, whichever instance ended it; returns the unsubscribe. */
  followWaitTask(id: string, cb: (t: WaitTask) => void): () => void {
    return this.#waitTasks.follow(id, cb)
  }

  // ---- lifecycle ----

  /** Starts the background work: wait tasks (completed on room events, swept every `waitTaskSweepMs`) and lease expiry. */
  start(opts: { waitTaskSweepMs?: number; leaseSweepMs?: number } = {}): Promise<void> {
    this.#leases.start(opts.leaseSweepMs ?? 5000)
    return this.#waitTasks.start(opts.waitTaskSweepMs ?? 5000)
  }
  /** Stops the background work and waits for what is under way. */
  async close(): Promise<void> {
    await this.#waitTasks.close()
    await this.#leases.close()
    await this.roomTasks.flush().catch(() => {})
    await this.#ctx.deliveries.flush()
  }

  // ---- for the protocol surfaces ----

  /** The agent behind a token; with `roomRef`, the token must belong to that room. */
  authenticate(token: string, roomRef?: string): Promise<Authed> {
    return this.#ctx.authenticate(token, roomRef)
  }

  /** Tokens in this instance's lookup cache: only tokens the store knows (tests check that unknown ones earn none). */
  get cachedTokens(): number {
    return this.#ctx.cachedTokens
  }

  /** Finds a room by UUID, name, or `name:password` (+ optional separate password). */
  resolveRoom(ref: string, password?: string): Promise<RoomRecord> {
    return this.#rooms.resolve(ref, password)
  }

  /** Whether a reference names any room at all (whatever its password). */
  async roomExists(ref: string): Promise<boolean> {
    return (await this.#rooms.candidates(ref)).length > 0
  }

  /** `cb` hears every event of the room (its latest seq), from this instance or another; returns the unsubscribe. */
  onRoomEvent(roomId: string, cb: (seq: number) => void): () => void {
    return this.#ctx.events.subscribe((e) => {
      if (e.roomId === roomId) cb(e.seq)
    })
  }

  /** Which of these agents are still in their rooms (not left, kicked or expired). */
  liveAgents(ids: string[]): Promise<Set<string>> {
    return this.#ctx.store.existingAgents(ids)
  }

  /** A room's latest seq (0 if it is gone). */
  async lastSeq(roomId: string): Promise<number> {
    return this.#ctx.lastSeq(roomId)
  }

  /** Unread messages for an agent (see Messaging.drainUnread): MCP piggy-backs them on tool results. */
  drainUnread(agent: { id: string; roomId: string }, upTo?: number, move = true, signal?: AbortSignal, via: Surface = 'unread') {
    return this.#messaging.drainUnread(agent, upTo, move, signal, { via })
  }

  /** A surface (a stream) delivered the room up to `seq` to the agent: its delivery cursor there moves (receipts). */
  delivered(agentId: string, surface: Surface, seq: number): void {
    this.#ctx.deliveries.note(agentId, surface, seq)
  }

  /** Posts a room-bot notice (git pushes and the like). */
  postNotice(roomId: string, body: string): Promise<void> {
    return this.#messaging.postNotice(roomId, body)
  }

  gitAccess(ref: string, creds?: { user: string; password: string }): Promise<GitAccess> {
    return gitAccess(this.#ctx, ref, creds)
  }

  /** The leases a push to this room must respect (see Leases.pushRules); null when none applies. */
  leaseRules(roomId: string, pusher: { name: string; admin: boolean } | null, override: boolean) {
    return this.#leases.pushRules(roomId, pusher, override)
  }

  /** A room's active leases, for its page. */
  roomLeases(roomId: string) {
    return this.#leases.ofRoom(roomId)
  }

  /** Drops and announces expired leases now (tests, and after a clock moves). */
  expireLeases(): Promise<void> {
    return this.#leases.sweepNow()
  }

  /** Runs `fn` while no other instance works on this room's repository. */
  withRepoLock<T>(roomId: string, fn: () => Promise<T>): Promise<T> {
    return this.#ctx.store.withLock(`git:${roomId}`, fn)
  }

  /** The landing page's figures and the public rooms it lists. */
  landing() {
    return landing(this.#ctx.store)
  }

  /** The web page's search: the room's public messages only (`param` names the query in errors). */
  searchPublic(room: RoomRecord, p: { query?: string; limit?: number; offset?: number }, param?: string) {
    return searchPublic(this.#ctx, room, p, param)
  }

  /** What a room page shows: people and recent public messages. */
  roomView(room: RoomRecord) {
    return roomView(this.#ctx.store, room, Date.now())
  }

  /** Whether storage answers (readiness checks). */
  ping(): Promise<void> {
    return this.#ctx.store.ping()
  }

  /** `cb` hears the digest (hex) of every agentToken just issued or verified against the store. */
  /** Told of rooms where an agent set a push endpoint on this instance. */
  onEndpoint(cb: (roomId: string) => void): () => void {
    return this.#ctx.onEndpoint(cb)
  }

  onTokenSeen(cb: (digest: string) => void): () => void {
    return this.#ctx.onTokenSeen(cb)
  }

  onRoomsDeleted(cb: (roomIds: string[]) => void | Promise<void>): () => void {
    this.#deletedListeners.add(cb)
    return () => this.#deletedListeners.delete(cb)
  }

  /** Deletes rooms idle for longer than the TTL, then tells listeners (repositories go with them). */
  async reapIdleRooms(): Promise<string[]> {
    const { store, clock, opts } = this.#ctx
    const ids = await store.deleteIdleRooms(new Date(clock().getTime() - opts.roomTtlDays * 86_400_000))
    if (ids.length > 0) {
      await this.#waitTasks.roomsDeleted(ids)
      for (const cb of this.#deletedListeners) await cb(ids)
    }
    return ids
  }
}
