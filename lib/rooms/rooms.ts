// Rooms themselves: creating, finding by reference, describing, listing and updating them.
import { errors } from '../errors.ts'
import { hashToken, newId, newToken } from '../ids.ts'
import { hashPassword, verifyPassword } from './password.ts'
import { RoomNameRaceError, type RoomRecord, type RoomType } from '../store.ts'
import { notice, type RoomContext } from './context.ts'
import { checkAgentName, checkRoomName, normalizeRoomName } from './names.ts'
import { SlidingWindow } from './quota.ts'
import { parseRoomRef } from './refs.ts'

export class Rooms {
  private readonly creations: SlidingWindow

  constructor(private readonly ctx: RoomContext) {
    this.creations = new SlidingWindow(ctx.opts.maxRoomsPerCallerPerHour ?? 0, 3_600_000)
  }

  async create(
    p: { agentName: string; name?: string; password?: string; description?: string; type?: RoomType; agentEndpoint?: string },
    caller?: string,
  ) {
    const { ctx } = this
    checkAgentName(p.agentName)
    ctx.checkEndpoint(p.agentEndpoint)
    if (caller !== undefined && !this.creations.take(caller, ctx.clock().getTime())) throw errors.tooManyRooms(this.creations.max)
    const id = newId()
    const name = p.name ? normalizeRoomName(p.name) : id
    checkRoomName(name, 'name')
    const token = newToken()
    const tokenHash = hashToken(token).toString('hex')
    const passwordHash = p.password ? await hashPassword(p.password) : null
    for (let attempt = 0; ; attempt++) {
      const same = await ctx.store.roomsByName(name)
      await this.checkNameFree(name, p.password, same)
      try {
        const posted = await ctx.store.createRoom(
          { id, name, passwordHash, description: p.description ?? '', type: p.type ?? 'group' },
          { id: newId(), roomId: id, name: p.agentName, tokenHash, role: 'admin', endpoint: p.agentEndpoint ?? null },
          notice(`${p.agentName} created the room`),
          same.map((r) => r.id),
          ctx.clock(),
        )
        ctx.endpointSet(id, p.agentEndpoint)
        await ctx.publish(id, posted)
        ctx.tokenSeen(tokenHash)
        break
      } catch (e) {
        if (!(e instanceof RoomNameRaceError) || attempt >= 3) throw e
      }
    }
    return {
      text: `Room created: ${id}. Joined as ${p.agentName} (admin).`,
      roomId: id,
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

  /** The rooms a reference names, before any password check. */
  async candidates(ref: string): Promise<RoomRecord[]> {
    const r = parseRoomRef(ref)
    if (r.kind === 'id') return [await this.ctx.store.roomById(r.id)].filter((room) => room !== null)
    return r.name ? this.ctx.store.roomsByName(r.name) : []
  }

  /** Finds a room by UUID, name, or `name:password` (+ optional separate password). */
  async resolve(ref: string, password?: string): Promise<RoomRecord> {
    const r = parseRoomRef(ref, password)
    const rooms = await this.candidates(ref)
    if (rooms.length === 0) throw errors.roomNotFound(r.kind === 'id' ? ref : r.rawName)
    if (r.kind === 'id') return rooms[0]
    const open = rooms.find((room) => room.passwordHash === null)
    if (r.password) {
      for (const room of rooms) if (room.passwordHash && (await verifyPassword(r.password, room.passwordHash))) return room
      if (open && rooms.length === 1) return open
      throw errors.invalidPassword()
    }
    if (open) return open
    throw errors.invalidPassword()
  }

  async info(p: { roomId: string; password?: string }) {
    const room = await this.resolve(p.roomId, p.password)
    const agents = await this.ctx.store.agents(room.id)
    return {
      text: `Room ${room.name} (${room.type}): ${agents.length} agent(s)`,
      roomId: room.id,
      data: {
        roomId: room.id,
        name: room.name,
        description: room.description,
        type: room.type,
        passwordProtected: room.passwordHash !== null,
        createdAt: room.createdAt.toISOString(),
        agents: agents.map((a) => ({ name: a.name, role: a.role, joinedAt: a.joinedAt.toISOString(), ...(a.kind === 'human' ? { kind: 'human' as const } : {}) })),
      },
    }
  }

  async list(p: { search?: string; limit?: number; offset?: number }) {
    const { rooms, total } = await this.ctx.store.listRooms({ search: p.search, limit: p.limit ?? 20, offset: p.offset ?? 0 })
    return {
      text: total === 0 ? 'No rooms' : `${rooms.length} of ${total} room(s)`,
      data: { rooms: rooms.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })), total },
    }
  }

  async update(p: { agentToken: string; description?: string; type?: RoomType }) {
    const { ctx } = this
    const { agent, room } = await ctx.requireAdmin(p.agentToken)
    if (p.description === undefined && p.type === undefined) throw errors.nothingToUpdate()
    const changes = [
      ...(p.description !== undefined ? ['description'] : []),
      ...(p.type !== undefined ? [`type=${p.type}`] : []),
    ].join(', ')
    const posted = await ctx.store.updateRoom(
      room.id,
      { description: p.description, type: p.type },
      notice(`Room updated by ${agent.name}: ${changes}`),
      ctx.clock(),
    )
    await ctx.publish(room.id, posted, true)
    return { text: `Room updated: ${changes}`, roomId: room.id, data: {} }
  }
}
