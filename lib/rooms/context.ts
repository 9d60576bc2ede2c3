// What every part of the room service shares: storage, bus, clock, limits, and the steps they all take.
import { errors } from '../errors.ts'
import type { EventBus } from '../events/bus.ts'
import { hashToken, newId } from '../ids.ts'
import { endpointProblem } from '../net/address.ts'
import type { AgentRecord, Posted, RoomRecord, Store } from '../store.ts'
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

export interface Authed {
  agent: AgentRecord
  room: RoomRecord
}

/** A room-bot notice, posted in the same transaction as the change it reports. */
export const notice = (body: string) => ({ id: newId(), body })

export class RoomContext {
  readonly store: Store
  readonly events: EventBus
  readonly clock: () => Date
  /** Delivery cursors the surfaces move (receipts). */
  readonly deliveries: DeliveryMarks
  private readonly tokenListeners = new Set<(digest: string) => void>()

  constructor(readonly opts: RoomServiceOptions) {
    this.store = opts.store
    this.events = opts.events
    this.clock = opts.clock ?? (() => new Date())
    this.deliveries = new DeliveryMarks(this.store, opts.onFeedError ?? (() => {}))
  }

  async publish(roomId: string, posted: Posted): Promise<void> {
    await this.events.publish({ roomId, seq: posted.seq })
  }

  onTokenSeen(cb: (digest: string) => void): () => void {
    this.tokenListeners.add(cb)
    return () => this.tokenListeners.delete(cb)
  }

  tokenSeen(digest: string): void {
    for (const cb of this.tokenListeners) cb(digest)
  }

  /** The agent behind a token; with `roomRef`, the token must belong to that room. */
  async authenticate(token: string, roomRef?: string): Promise<Authed> {
    const found = await this.store.agentByToken(hashToken(token).toString('hex'))
    if (!found) throw errors.invalidToken()
    this.tokenSeen(found.agent.tokenHash)
    if (roomRef !== undefined && !refersTo(roomRef, found.room)) throw errors.wrongRoom()
    return found
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
