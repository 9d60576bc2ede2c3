import { errors } from '../errors.ts'
import type { EventBus, RoomEvent } from '../events.ts'
import { hashToken, isUuid, newId, newToken, sameDigest } from '../ids.ts'
import { RoomFeed } from '../feed/room-feed.ts'
import { endpointProblem } from '../net/address.ts'
import { hashPassword, verifyPassword } from '../password.ts'
import {
  NameTakenError,
  RoomNameRaceError,
  type AgentRecord,
  type MessageRecord,
  type Posted,
  type RoomRecord,
  type RoomType,
  type Store,
} from '../store.ts'
import { checkAgentName, checkRoomName, normalizeRoomName } from './names.ts'
import { SlidingWindow } from './quota.ts'
import { toWire, type WireMessage } from './wire.ts'

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
  /** Where the live feed reports store reads that failed. */
  onFeedError?: (err: unknown) => void
}

export interface Result<D> {
  text: string
  data: D
  /** The room the result belongs to (A2A contextId). */
  contextId?: string
}

export type GitAccess =
  | { ok: true; roomId: string; agent: { name: string; admin: boolean } | null }
  | { ok: false; reason: 'not-found' | 'auth-required' | 'forbidden' | 'bad-token' }

export interface Authed {
  agent: AgentRecord
  room: RoomRecord
}

const UNREAD_PAGE = 500
const notice = (body: string) => ({ id: newId(), body })
const missed = (messages: WireMessage[]) =>
  messages.length > 0 ? { missedMessages: messages, missedCount: messages.length } : {}

/** Every room rule lives here; protocol plugins only translate to and from these calls. */
export class RoomService {
  readonly store: Store
  readonly events: EventBus
  readonly clock: () => Date
  private readonly opts: RoomServiceOptions
  private readonly deletedListeners = new Set<(ids: string[]) => void | Promise<void>>()
  private readonly tokenListeners = new Set<(digest: string) => void>()
  private readonly creations: SlidingWindow
  /** This instance's live feed of room messages (SSE, MCP notifications, the web page). */
  readonly feed: RoomFeed

  constructor(opts: RoomServiceOptions) {
    this.opts = opts
    this.store = opts.store
    this.events = opts.events
    this.clock = opts.clock ?? (() => new Date())
    this.creations = new SlidingWindow(opts.maxRoomsPerCallerPerHour ?? 0, 3_600_000)
    this.feed = new RoomFeed({ store: opts.store, events: opts.events, onError: opts.onFeedError ?? (() => {}) })
  }

  // ---- rooms ----

  async create(p: {
    agentName: string
    name?: string
    password?: string
    description?: string
    type?: RoomType
    agentEndpoint?: string
  }, caller?: string) {
    checkAgentName(p.agentName)
    this.checkEndpoint(p.agentEndpoint)
    if (caller !== undefined && !this.creations.take(caller, this.clock().getTime())) {
      throw errors.tooManyRooms(this.creations.max)
    }
    const id = newId()
    const name = p.name ? normalizeRoomName(p.name) : id
    checkRoomName(name, 'name')
    const token = newToken()
    const passwordHash = p.password ? await hashPassword(p.password) : null
    for (let attempt = 0; ; attempt++) {
      const same = await this.store.roomsByName(name)
      await this.checkNameFree(name, p.password, same)
      try {
        const posted = await this.store.createRoom(
          { id, name, passwordHash, description: p.description ?? '', type: p.type ?? 'group' },
          { id: newId(), roomId: id, name: p.agentName, tokenHash: hashToken(token).toString('hex'), role: 'admin', endpoint: p.agentEndpoint ?? null },
          notice(`${p.agentName} created the room`),
          same.map((r) => r.id),
          this.clock(),
        )
        await this.publish(id, posted)
        this.tokenSeen(hashToken(token).toString('hex'))
        break
      } catch (e) {
        if (!(e instanceof RoomNameRaceError) || attempt >= 3) throw e
      }
    }
    return {
      text: `Room created: ${id}. Joined as ${p.agentName} (admin).`,
      contextId: id,
      data: {
        roomId: id,
        name,
        description: p.description ?? '',
        type: p.type ?? 'group',
        passwordProtected: passwordHash !== null,
        agentName: p.agentName,
        agentToken: token,
      },
    }
  }

  /** The name+password identity rules. */
  private async checkNameFree(name: string, password: string | undefined, same: RoomRecord[]) {
    if (!password) {
      if (same.some((r) => r.passwordHash === null)) throw errors.roomExists(name)
      if (same.length > 0) throw errors.passwordRequired(name)
      return
    }
    for (const r of same) {
      if (r.passwordHash && (await verifyPassword(password, r.passwordHash))) throw errors.roomExists(name)
    }
  }

  /** Finds a room by UUID, name, or `name:password` (+ optional separate password). */
  async resolveRoom(ref: string, password?: string): Promise<RoomRecord> {
    if (isUuid(ref)) {
      const room = await this.store.roomById(ref.toLowerCase())
      if (!room) throw errors.roomNotFound(ref)
      return room
    }
    const colon = ref.indexOf(':')
    const rawName = colon >= 0 ? ref.slice(0, colon) : ref
    const pw = (colon >= 0 ? ref.slice(colon + 1) : '') || password || ''
    const name = normalizeRoomName(rawName)
    const rooms = name ? await this.store.roomsByName(name) : []
    if (rooms.length === 0) throw errors.roomNotFound(rawName)
    const open = rooms.find((r) => r.passwordHash === null)
    if (pw) {
      for (const r of rooms) if (r.passwordHash && (await verifyPassword(pw, r.passwordHash))) return r
      if (open && rooms.length === 1) return open
      throw errors.invalidPassword()
    }
    if (open) return open
    throw errors.invalidPassword()
  }

  async info(p: { roomId: string; password?: string }) {
    const room = await this.resolveRoom(p.roomId, p.password)
    const agents = await this.store.agents(room.id)
    return {
      text: `Room ${room.name} (${room.type}): ${agents.length} agent(s)`,
      contextId: room.id,
      data: {
        roomId: room.id,
        name: room.name,
        description: room.description,
        type: room.type,
        passwordProtected: room.passwordHash !== null,
        createdAt: room.createdAt.toISOString(),
        agents: agents.map((a) => ({ name: a.name, role: a.role, joinedAt: a.joinedAt.toISOString() })),
      },
    }
  }

  async list(p: { search?: string; limit?: number; offset?: number }) {
    const { rooms, total } = await this.store.listRooms({ search: p.search, limit: p.limit ?? 20, offset: p.offset ?? 0 })
    return {
      text: total === 0 ? 'No rooms' : `${rooms.length} of ${total} room(s)`,
      data: {
        rooms: rooms.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })),
        total,
      },
    }
  }

  async update(p: { agentToken: string; description?: string; type?: RoomType }) {
    const { agent, room } = await this.requireAdmin(p.agentToken)
    if (p.description === undefined && p.type === undefined) throw errors.nothingToUpdate()
    const changes = [
      ...(p.description !== undefined ? ['description'] : []),
      ...(p.type !== undefined ? [`type=${p.type}`] : []),
    ].join(', ')
    const posted = await this.store.updateRoom(
      room.id,
      { description: p.description, type: p.type },
      notice(`Room updated by ${agent.name}: ${changes}`),
      this.clock(),
    )
    await this.publish(room.id, posted)
    return { text: `Room updated: ${changes}`, contextId: room.id, data: {} }
  }

  // ---- membership ----

  async join(p: { roomId: string; agentName: string; password?: string; agentToken?: string; agentEndpoint?: string }, signal?: AbortSignal) {
    checkAgentName(p.agentName)
    this.checkEndpoint(p.agentEndpoint)
    const room = await this.resolveRoom(p.roomId, p.password)
    const existing = await this.store.agentByName(room.id, p.agentName)
    if (existing) {
      const given = p.agentToken ? hashToken(p.agentToken) : null
      if (!given || !sameDigest(given, Buffer.from(existing.tokenHash, 'hex'))) throw errors.nameTaken(p.agentName)
      this.tokenSeen(existing.tokenHash)
      await this.store.setEndpoint(existing.id, p.agentEndpoint ?? null, this.clock())
      const messages = await this.drainUnread(existing, undefined, true, signal)
      return {
        text: `Reconnected to room ${room.id} as ${p.agentName}`,
        contextId: room.id,
        data: { roomId: room.id, agentName: p.agentName, agentToken: p.agentToken!, role: existing.role, ...missed(messages) },
      }
    }
    const max = this.opts.maxAgentsPerRoom ?? 0
    if (max > 0 && (await this.store.agents(room.id)).length >= max) throw errors.roomFull(max)
    const token = newToken()
    const agent = {
      id: newId(),
      roomId: room.id,
      name: p.agentName,
      tokenHash: hashToken(token).toString('hex'),
      role: 'member' as const,
      endpoint: p.agentEndpoint ?? null,
    }
    let posted: Posted
    try {
      posted = await this.store.addAgent(agent, notice(`${p.agentName} joined the room`), this.clock())
    } catch (e) {
      if (e instanceof NameTakenError) throw errors.nameTaken(p.agentName)
      throw e
    }
    await this.publish(room.id, posted)
    this.tokenSeen(agent.tokenHash)
    const messages = await this.drainUnread({ id: agent.id, roomId: room.id }, undefined, true, signal)
    return {
      text: `Joined room ${room.id} as ${p.agentName}`,
      contextId: room.id,
      data: { roomId: room.id, agentName: p.agentName, agentToken: token, role: 'member' as const, ...missed(messages) },
    }
  }

  async leave(p: { agentToken: string; roomId?: string }) {
    const { agent, room } = await this.authenticate(p.agentToken, p.roomId)
    await this.removeAgent(room, agent, `${agent.name} left the room`)
    return { text: `Left room ${room.id}`, contextId: room.id, data: {} }
  }

  async promote(p: { agentToken: string; targetAgent: string }) {
    const { agent, room, target } = await this.adminOn(p)
    const posted = await this.store.setRole(room.id, target.id, 'admin', notice(`${target.name} was promoted to admin by ${agent.name}`), this.clock())
    if (posted) await this.publish(room.id, posted)
    return { text: `Promoted ${target.name} to admin`, contextId: room.id, data: {} }
  }

  async demote(p: { agentToken: string; targetAgent: string }) {
    const { agent, room, target } = await this.adminOn(p)
    const posted = await this.store.setRole(room.id, target.id, 'member', notice(`${target.name} was demoted to member by ${agent.name}`), this.clock())
    if (!posted) throw errors.lastAdmin()
    await this.publish(room.id, posted)
    return { text: `Demoted ${target.name} to member`, contextId: room.id, data: {} }
  }

  async kick(p: { agentToken: string; targetAgent: string }) {
    const { agent, room, target } = await this.adminOn(p)
    if (target.id === agent.id) throw errors.kickSelf()
    await this.removeAgent(room, target, `${target.name} was kicked from the room by ${agent.name}`)
    return { text: `Kicked ${target.name} from the room`, contextId: room.id, data: {} }
  }

  private async removeAgent(room: RoomRecord, agent: AgentRecord, body: string) {
    const { posted } = await this.store.removeAgent(room.id, agent.id, notice(body), (name) => notice(`${name} is now an admin`), this.clock())
    for (const p of posted) await this.publish(room.id, p)
  }

  private async adminOn(p: { agentToken: string; targetAgent: string }) {
    const authed = await this.requireAdmin(p.agentToken)
    const target = await this.store.agentByName(authed.room.id, p.targetAgent)
    if (!target) throw errors.agentNotFound(p.targetAgent)
    return { ...authed, target }
  }

  private async requireAdmin(token: string): Promise<Authed> {
    const authed = await this.authenticate(token)
    if (authed.agent.role !== 'admin') throw errors.adminRequired()
    return authed
  }

  /** The agent behind a token; with `roomRef`, the token must belong to that room. */
  async authenticate(token: string, roomRef?: string): Promise<Authed> {
    const found = await this.store.agentByToken(hashToken(token).toString('hex'))
    if (!found) throw errors.invalidToken()
    this.tokenSeen(found.agent.tokenHash)
    if (roomRef !== undefined && !refersTo(roomRef, found.room)) throw errors.wrongRoom()
    return found
  }

  // ---- messages ----

  async send(p: { agentToken: string; text: string; to?: string }, signal?: AbortSignal) {
    const { agent, room } = await this.authenticate(p.agentToken)
    if ([...p.text].length > this.opts.maxMessageChars) throw errors.invalid('text', `must be at most ${this.opts.maxMessageChars} characters`)
    if (room.type === 'channel' && agent.role !== 'admin') throw errors.channelAdminOnly()
    let toId: string | null = null
    if (p.to !== undefined) {
      const recipient = await this.store.agentByName(room.id, p.to)
      if (!recipient) throw errors.agentNotFound(p.to)
      toId = recipient.id
    }
    const id = newId()
    const posted = await this.store.postMessage({
      id,
      roomId: room.id,
      from: agent.name,
      fromId: agent.id,
      to: p.to ?? null,
      toId,
      body: p.text,
      timestamp: this.clock(),
    })
    await this.publish(room.id, posted)
    const messages = posted.caughtUp ? [] : await this.drainUnread(agent, posted.seq, true, signal)
    return { text: 'Message sent', contextId: room.id, data: { id, seq: posted.seq, ...missed(messages) } }
  }

  async history(p: { agentToken: string; roomId: string; limit?: number; offset?: number }) {
    const { agent, room } = await this.authenticate(p.agentToken, p.roomId)
    const { messages, total } = await this.store.history(agent, p.limit ?? 20, p.offset ?? 0)
    return {
      text: `${messages.length} of ${total} message(s)`,
      contextId: room.id,
      data: { messages: messages.map(toWire), total },
    }
  }

  async unread(p: { agentToken: string; peek?: boolean }, signal?: AbortSignal) {
    const { agent, room } = await this.authenticate(p.agentToken)
    const messages = await this.drainUnread(agent, undefined, !p.peek, signal)
    return unreadResult(room.id, messages)
  }

  /**
   * Long-poll: returns as soon as anything is unread (cursor moves), or empty after `timeout` seconds.
   * Once `signal` aborts (the client left) nothing is read any more, so nothing is marked read for nobody.
   * An agent removed meanwhile (kicked, left elsewhere) ends the wait at once with Invalid agentToken.
   */
  async wait(p: { agentToken: string; timeout?: number }, signal?: AbortSignal) {
    const { agent, room } = await this.authenticate(p.agentToken)
    const deadline = Date.now() + (p.timeout ?? 30) * 1000
    for (;;) {
      if (signal?.aborted) return unreadResult(room.id, [])
      // Listen before reading, so an event committed in between is not missed.
      const woke = this.nextEvent(room.id, deadline - Date.now(), signal)
      const messages = await this.drainUnread(agent, undefined, true, signal)
      if (messages.length > 0 || Date.now() >= deadline || signal?.aborted) {
        woke.cancel()
        return unreadResult(room.id, messages)
      }
      // Nothing to read is also what a removed agent sees: tell it apart before sleeping.
      if (!(await this.store.existingAgents([agent.id])).has(agent.id)) {
        woke.cancel()
        throw errors.invalidToken()
      }
      await woke.promise
    }
  }

  private nextEvent(roomId: string, ms: number, signal?: AbortSignal) {
    let cancel = () => {}
    const promise = new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        unsubscribe()
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, ms))
      const unsubscribe = this.events.subscribe((e) => e.roomId === roomId && done())
      signal?.addEventListener('abort', done, { once: true })
      cancel = done
    })
    return { promise, cancel }
  }

  /**
   * All unread messages (paged, never truncated); moves the cursor unless `move` is false. Once `signal`
   * aborts (the client left), nothing more is read and what was read is handed back (the cursor rewinds to
   * before it), so nothing is ever marked read for nobody; the result is then empty.
   */
  async drainUnread(agent: { id: string; roomId: string }, upTo?: number, move = true, signal?: AbortSignal): Promise<WireMessage[]> {
    const out: WireMessage[] = []
    let after: number | undefined
    for (;;) {
      if (signal?.aborted) break
      const { messages, more } = await this.store.readUnread(agent, { upTo, after, limit: UNREAD_PAGE, move })
      out.push(...messages.map(toWire))
      if (!more) break
      if (!move) after = messages.at(-1)!.seq
    }
    if (!signal?.aborted) return out
    if (move && out.length > 0) await this.store.rewindCursor(agent.id, out[0].seq - 1)
    return []
  }

  // ---- hooks for the other surfaces ----

  /** Posts a room-bot notice (git pushes and the like). */
  async postNotice(roomId: string, body: string): Promise<void> {
    const posted = await this.store.postMessage({ ...notice(body), roomId, from: 'room-bot', fromId: null, to: null, toId: null, timestamp: this.clock() })
    await this.publish(roomId, posted)
  }

  /**
   * Git access to a room by name or UUID. Credentials are the room password (any user name) or an agent's
   * name and agentToken (then `agent` says who pushes); protected rooms need one of them unless named by UUID.
   * A token of the room under another name, or an agent's name with a wrong token, is refused like a wrong password.
   */
  async gitAccess(ref: string, creds?: { user: string; password: string }): Promise<GitAccess> {
    const byId = isUuid(ref)
    const rooms = byId ? [await this.store.roomById(ref.toLowerCase())].filter((r) => r !== null) : await this.store.roomsByName(normalizeRoomName(ref))
    if (rooms.length === 0) return { ok: false, reason: 'not-found' }
    if (creds && isUuid(creds.password)) {
      const found = await this.store.agentByToken(hashToken(creds.password).toString('hex'))
      if (found && rooms.some((r) => r.id === found.room.id)) {
        if (found.agent.name !== creds.user) return { ok: false, reason: 'bad-token' }
        this.tokenSeen(found.agent.tokenHash)
        return { ok: true, roomId: found.room.id, agent: { name: found.agent.name, admin: found.agent.role === 'admin' } }
      }
    }
    if (creds) {
      for (const r of rooms) if (r.passwordHash && (await verifyPassword(creds.password, r.passwordHash))) return { ok: true, roomId: r.id, agent: null }
    }
    const open = byId ? rooms[0] : rooms.find((r) => r.passwordHash === null)
    if (!open) return { ok: false, reason: creds ? 'forbidden' : 'auth-required' }
    if (creds && (await this.store.agentByName(open.id, creds.user))) return { ok: false, reason: 'bad-token' }
    return { ok: true, roomId: open.id, agent: null }
  }

  /** `cb` hears the digest (hex) of every agentToken just issued or verified against the store. */
  onTokenSeen(cb: (digest: string) => void): () => void {
    this.tokenListeners.add(cb)
    return () => this.tokenListeners.delete(cb)
  }

  private tokenSeen(digest: string): void {
    for (const cb of this.tokenListeners) cb(digest)
  }

  onRoomsDeleted(cb: (roomIds: string[]) => void | Promise<void>): () => void {
    this.deletedListeners.add(cb)
    return () => this.deletedListeners.delete(cb)
  }

  /** Deletes rooms idle for longer than the TTL, then tells listeners (repositories go with them). */
  async reapIdleRooms(): Promise<string[]> {
    const cutoff = new Date(this.clock().getTime() - this.opts.roomTtlDays * 86_400_000)
    const ids = await this.store.deleteIdleRooms(cutoff)
    if (ids.length > 0) for (const cb of this.deletedListeners) await cb(ids)
    return ids
  }

  private checkEndpoint(endpoint: string | undefined) {
    if (endpoint === undefined) return
    const problem = endpointProblem(endpoint, this.opts.allowPrivateEndpoints)
    if (problem) throw errors.invalid('agentEndpoint', problem)
  }

  private async publish(roomId: string, posted: Posted) {
    const event: RoomEvent = { roomId, seq: posted.seq }
    await this.events.publish(event)
  }
}

function unreadResult(roomId: string, messages: WireMessage[]) {
  return {
    text: messages.length === 0 ? 'No unread messages' : `${messages.length} unread message(s)`,
    contextId: roomId,
    data: { messages, total: messages.length },
  }
}

/** Does a room reference (UUID, name or name:password) name this room? */
function refersTo(ref: string, room: RoomRecord): boolean {
  if (isUuid(ref)) return ref.toLowerCase() === room.id
  const name = ref.includes(':') ? ref.slice(0, ref.indexOf(':')) : ref
  return normalizeRoomName(name) === room.name
}

export type { MessageRecord }
