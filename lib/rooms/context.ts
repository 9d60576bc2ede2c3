// What every part of the room service shares: storage, bus, clock, limits, and the steps they all take.
import { errors } from '../errors.ts'
import type { EventBus } from '../events/bus.ts'
import { hashToken, newId } from '../ids.ts'
import { endpointProblem } from '../net/address.ts'
import type { Posted, Store } from '../store.ts'
import { AuthCache, type Authed } from './auth-cache.ts'
import { DeliveryMarks } from './receipts.ts'
import { refersTo } from './refs.ts'

export interface RoomServiceOptions {
  store: Store
  events: EventBus
  clock?: () => Date
  roomTtlDays: number
  allowPrivateEndpoints: boolean
  maxMessageChars: number
  /** 0: no limit. */
  maxAgentsPerRoom?: number
  /** Rooms one caller may create per hour on this instance; 0: no limit. */
  maxRoomsPerCallerPerHour?: number
  /** Where the live feed reports store reads that failed (and receipts their writes). */
  onFeedError?: (err: unknown) => void
  /** Working wait tasks one agent may have (default 8; 0: no limit). */
  maxWaitTasksPerAgent?: number
  /** Where background wait-task work (passes, sweeps) reports failures. */
  onWaitTaskError?: (err: unknown) => void
}

export type { Authed }

/** A room-bot notice, posted in the same transaction as the change it reports. */
export const notice = (body: string) => ({ id: newId(), body })

export class RoomContext {
  readonly store: Store
  readonly events: EventBus
  readonly clock: () => Date
  /** Delivery cursors the surfaces move (receipts). */
  readonly deliveries: DeliveryMarks
  private readonly tokenListeners = new Set<(digest: string) => void>()
  private readonly endpointListeners = new Set<(roomId: string) => void>()
  private readonly auth = new AuthCache()

  constructor(readonly opts: RoomServiceOptions) {
    this.store = opts.store
    this.events = opts.events
    this.clock = opts.clock ?? (() => new Date())
    this.deliveries = new DeliveryMarks(this.store, opts.onFeedError ?? (() => {}))
    // Changes made on any instance (and events that may hide one, when the bus lost some) drop cached lookups.
    this.events.subscribe((e) => e.changed && this.auth.dropRoom(e.roomId))
    this.events.onUnsure?.(() => this.auth.clear())
  }

  /** Tokens in this instance's lookup cache. */
  get cachedTokens(): number {
    return this.auth.size
  }

  /** `changed`: the room's agents or settings changed (join, leave, kick, role, endpoint, room update). */
  async publish(roomId: string, posted: Posted, changed = false): Promise<void> {
    if (changed) this.auth.dropRoom(roomId)
    await this.events.publish(changed ? { roomId, seq: posted.seq, changed } : { roomId, seq: posted.seq })
  }

  onTokenSeen(cb: (digest: string) => void): () => void {
    this.tokenListeners.add(cb)
    return () => this.tokenListeners.delete(cb)
  }

  tokenSeen(digest: string): void {
    for (const cb of this.tokenListeners) cb(digest)
  }

  onEndpoint(cb: (roomId: string) => void): () => void {
    this.endpointListeners.add(cb)
    return () => this.endpointListeners.delete(cb)
  }

  /** An agent of the room joined (or rejoined) with a push endpoint. */
  endpointSet(roomId: string, endpoint: string | null | undefined): void {
    if (endpoint) for (const cb of this.endpointListeners) cb(roomId)
  }

  /** The agent behind a token; with `roomRef`, the token must belong to that room. */
  async authenticate(token: string, roomRef?: string): Promise<Authed> {
    const digest = hashToken(token).toString('hex')
    let found = this.auth.get(digest)
    if (!found) {
      const epoch = this.auth.epoch
      const read = await this.store.agentByToken(digest)
      if (!read) throw errors.invalidToken()
      this.auth.set(digest, (found = read), epoch)
    }
    this.tokenSeen(found.agent.tokenHash)
    if (roomRef !== undefined && !refersTo(roomRef, found.room)) throw errors.wrongRoom()
    return found
  }

  /** A room's latest seq, read now (0 if it is gone). */
  async lastSeq(roomId: string): Promise<number> {
    return (await this.store.lastSeqs([roomId])).get(roomId) ?? 0
  }

  async requireAdmin(token: string): Promise<Authed> {
    const authed = await this.authenticate(token)
    if (authed.agent.role !== 'admin') throw errors.adminRequired()
    return authed
  }

  /** An outbound URL (push endpoint) is public http(s), unless private ones are allowed. */
  checkEndpoint(endpoint: string | undefined, param = 'agentEndpoint'): void {
    if (endpoint === undefined) return
    const problem = endpointProblem(endpoint, this.opts.allowPrivateEndpoints)
    if (problem) throw errors.invalid(param, problem)
  }
}
