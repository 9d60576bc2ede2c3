// Who is in a room: joining (and reconnecting), leaving, and the admin's promote, demote and kick.
import { errors } from '../errors.ts'
import { hashToken, newId, newToken, sameDigest } from '../ids.ts'
import { NameTakenError, type AgentKind, type Posted } from '../store.ts'
import { notice, type RoomContext } from './context.ts'
import type { Messaging } from './messaging.ts'
import { checkAgentName } from './names.ts'
import { missed } from './replies.ts'
import type { Rooms } from './rooms.ts'

export class Membership {
  constructor(
    private readonly ctx: RoomContext,
    private readonly rooms: Rooms,
    private readonly messaging: Messaging,
  ) {}

  /** `kind`: 'human' for a person joining from the web page (never an action parameter). */
  async join(
    p: { roomId: string; agentName: string; password?: string; agentToken?: string; agentEndpoint?: string },
    signal?: AbortSignal,
    kind: AgentKind = 'agent',
  ) {
    const { ctx } = this
    checkAgentName(p.agentName)
    ctx.checkEndpoint(p.agentEndpoint)
    const room = await this.rooms.resolve(p.roomId, p.password)
    const existing = await ctx.store.agentByName(room.id, p.agentName)
    if (existing) {
      const given = p.agentToken ? hashToken(p.agentToken) : null
      if (!given || !sameDigest(given, Buffer.from(existing.tokenHash, 'hex'))) throw errors.nameTaken(p.agentName)
      ctx.tokenSeen(existing.tokenHash)
      await ctx.store.setEndpoint(existing.id, p.agentEndpoint ?? null, ctx.clock())
      ctx.endpointSet(room.id, p.agentEndpoint)
      const messages = await this.messaging.drainUnread(existing, undefined, true, signal)
      return {
        text: `Reconnected to room ${room.id} as ${p.agentName}`,
        roomId: room.id,
        data: { roomId: room.id, agentName: p.agentName, agentToken: p.agentToken!, role: existing.role, ...missed(messages) },
      }
    }
    const max = ctx.opts.maxAgentsPerRoom ?? 0
    if (max > 0 && (await ctx.store.agents(room.id)).length >= max) throw errors.roomFull(max)
    const token = newToken()
    const agent = {
      id: newId(),
      roomId: room.id,
      name: p.agentName,
      tokenHash: hashToken(token).toString('hex'),
      role: 'member' as const,
      endpoint: p.agentEndpoint ?? null,
      kind,
    }
    let posted: Posted
    try {
      posted = await ctx.store.addAgent(agent, notice(`${p.agentName} joined the room`), ctx.clock())
    } catch (e) {
      if (e instanceof NameTakenError) throw errors.nameTaken(p.agentName)
      throw e
    }
    ctx.endpointSet(room.id, p.agentEndpoint)
    await ctx.publish(room.id, posted)
    ctx.tokenSeen(agent.tokenHash)
    const messages = await this.messaging.drainUnread({ id: agent.id, roomId: room.id }, undefined, true, signal)
    return {
      text: `Joined room ${room.id} as ${p.agentName}`,
      roomId: room.id,
      data: { roomId: room.id, agentName: p.agentName, agentToken: token, role: 'member' as const, ...missed(messages) },
    }
  }

  async leave(p: { agentToken: string; roomId?: string }) {
    const { agent, room } = await this.ctx.authenticate(p.agentToken, p.roomId)
    await this.remove(room, agent, `${agent.name} left the room`)
    return { text: `Left room ${room.id}`, roomId: room.id, data: {} }
  }

  async promote(p: { agentToken: string; targetAgent: string }) {
    const { ctx } = this
    const { agent, room, target } = await this.adminOn(p)
    const posted = await ctx.store.setRole(room.id, target.id, 'admin', notice(`${target.name} was promoted to admin by ${agent.name}`), ctx.clock())
    if (posted) await ctx.publish(room.id, posted, true)
    return { text: `Promoted ${target.name} to admin`, roomId: room.id, data: {} }
  }

  async demote(p: { agentToken: string; targetAgent: string }) {
    const { ctx } = this
    const { agent, room, target } = await this.adminOn(p)
    const posted = await ctx.store.setRole(room.id, target.id, 'member', notice(`${target.name} was demoted to member by ${agent.name}`), ctx.clock())
    if (!posted) throw errors.lastAdmin()
    await ctx.publish(room.id, posted, true)
    return { text: `Demoted ${target.name} to member`, roomId: room.id, data: {} }
  }

  async kick(p: { agentToken: string; targetAgent: string }) {
    const { agent, room, target } = await this.adminOn(p)
    if (target.id === agent.id) throw errors.kickSelf()
    await this.remove(room, target, `${target.name} was kicked from the room by ${agent.name}`)
    return { text: `Kicked ${target.name} from the room`, roomId: room.id, data: {} }
  }

  private async remove(room: { id: string }, agent: { id: string }, body: string) {
    const { ctx } = this
    const { posted } = await ctx.store.removeAgent(room.id, agent.id, notice(body), (name) => notice(`${name} is now an admin`), ctx.clock())
    for (const p of posted) await ctx.publish(room.id, p, true)
  }

  private async adminOn(p: { agentToken: string; targetAgent: string }) {
    const authed = await this.ctx.requireAdmin(p.agentToken)
    const target = await this.ctx.store.agentByName(authed.room.id, p.targetAgent)
    if (!target) throw errors.agentNotFound(p.targetAgent)
    return { ...authed, target }
  }
}
