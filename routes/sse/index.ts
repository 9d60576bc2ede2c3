/** SSE routes: an agent's live stream of its room and the web page's streams (spectator, joined person), with their limits and sweep. */
import { bearerToken } from '../../lib/net/bearer.ts'
import cookie from '@fastify/cookie'
import sseModule, { type SSEPluginOptions } from '@fastify/sse'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import type { Config } from '../../lib/config.ts'
import { ActionError } from '../../lib/errors.ts'
import { clientAddress } from '../../lib/net/client-address.ts'
import { ErrorReply } from '../../lib/net/http-error.ts'
import { PERSON_COOKIE } from '../../lib/net/person-cookie.ts'
import type { RoomRecord } from '../../lib/store.ts'
import { refersTo, splitRoomRef } from '../../lib/rooms/refs.ts'
import { SseStream } from './stream.ts'

/** Query parameters are optional strings: a missing or empty one gets the route's own 401, not a validation 400. */
const StreamQuery = Type.Object({
  agentToken: Type.Optional(Type.String()),
  /** Resume point for clients that cannot send the Last-Event-ID header. */
  lastEventId: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
})
/** The stream itself is hijacked; only refusals go through the serializer. */
const refusals = { '4xx': ErrorReply, '5xx': ErrorReply }
const agentStream = { params: Type.Object({ roomId: Type.String() }), querystring: StreamQuery, response: refusals }
const spectatorStream = { params: Type.Object({ room: Type.String() }), querystring: StreamQuery, response: refusals }
const pageStream = { params: Type.Object({ roomName: Type.String() }), querystring: StreamQuery, response: refusals }

/** The CommonJS export itself is the fastify-plugin wrapped plugin (its `fastifySSE` named export is not). */
const sse = sseModule as unknown as FastifyPluginAsync<SSEPluginOptions>

const fail = (reply: FastifyReply, status: number, error: string, message: string) => reply.status(status).send({ error, message })

/**
 * SSE: an agent's stream of the room (`/api/messages/:roomId/sse`) and the read-only spectator stream of public
 * messages for the web page (`/api/rooms/:room/stream`). `id:` is the seq; Last-Event-ID resumes.
 */
const sseRoutes: FastifyPluginAsync<{ config: Config }> = async (fastify, { config }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const service = app.rooms
  // Strings pass through as they are (pings' empty data); heartbeats are our pings, sent by each stream.
  await app.register(sse, { heartbeatInterval: 0, serializer: (d) => (typeof d === 'string' ? d : JSON.stringify(d)) })
  // Only the room page's own stream reads a cookie: the person who joined from that page.
  await app.register(cookie)

  const open = new Set<SseStream>()
  /** Open spectator streams by client address. */
  const spectators = new Map<string, number>()
  app.metrics.provide('sseStreams', () => open.size)
  // Kicks and leaves cut streams at once (the feed sees their notices); this catches what has no notice, such as
  // a room deleted for idleness, within one ping interval.
  const sweep = setInterval(async () => {
    const agents = [...open].filter((s) => s.agentId !== null)
    if (agents.length === 0) return
    try {
      const alive = await service.liveAgents([...new Set(agents.map((s) => s.agentId!))])
      for (const s of agents) if (!alive.has(s.agentId!)) s.end()
    } catch (err) {
      app.log.warn({ err }, 'sse membership sweep failed')
    }
  }, config.ssePingSeconds * 1000)
  sweep.unref()
  app.addHook('preClose', async () => {
    clearInterval(sweep)
    for (const s of open) s.end()
  })

  async function stream(req: FastifyRequest, reply: FastifyReply, roomId: string, agentId: string | null, latest: number, queryResume?: string) {
    const resume = lastEventId(reply.sse.lastEventId ?? queryResume)
    reply.sse.keepAlive()
    reply.hijack()
    reply.sse.sendHeaders(200)
    reply.raw.flushHeaders()
    const s = new SseStream(reply.raw, reply.sse, service.feed, {
      roomId,
      agentId,
      after: resume ?? latest,
      bufferBytes: config.sseClientBufferBytes,
      pingMs: config.ssePingSeconds * 1000,
      onDelivered: agentId === null ? undefined : (seq) => service.delivered(agentId, 'sse', seq),
    })
    open.add(s)
    try {
      await s.run()
    } catch (err) {
      req.log.warn({ err }, 'sse stream failed')
      s.end()
    } finally {
      open.delete(s)
    }
  }

  app.get(
    '/api/messages/:roomId/sse',
    { schema: agentStream, sse: { kind: 'only', heartbeat: false } },
    async (req, reply) => {
      const token = req.query.agentToken || bearer(req.headers.authorization)
      if (!token) return fail(reply, 401, 'MISSING_PARAMETER', 'agentToken is required')
      const authed = await service.authenticate(token).catch((e) => (e instanceof ActionError ? null : Promise.reject(e)))
      if (!authed) return fail(reply, 401, 'INVALID_TOKEN', 'Invalid agentToken')
      const ref = req.params.roomId
      if (!refersTo(ref, authed.room)) {
        if (!(await service.roomExists(ref))) return fail(reply, 404, 'ROOM_NOT_FOUND', `Room not found: ${ref}`)
        return fail(reply, 403, 'TOKEN_WRONG_ROOM', 'agentToken does not belong to this room')
      }
      const max = config.maxSseStreamsPerAgent
      if (max > 0 && [...open].filter((s) => s.agentId === authed.agent.id).length >= max) {
        return fail(reply, 429, 'RATE_LIMITED', `Too many open streams for this agent: at most ${max} (per instance)`)
      }
      await stream(req, reply, authed.room.id, authed.agent.id, await service.lastSeq(authed.room.id), req.query.lastEventId)
    },
  )

  /** A spectator's stream of a room's public messages (counted per client address: spectators need no credentials). */
  async function spectate(req: FastifyRequest, reply: FastifyReply, ref: string, password: string | undefined) {
    const address = clientAddress(req.ip)
    const max = config.maxSseStreamsPerIp
    const held = spectators.get(address) ?? 0
    if (max > 0 && held >= max) {
      return fail(reply, 429, 'RATE_LIMITED', `Too many open spectator streams from this address: at most ${max} (per instance)`)
    }
    spectators.set(address, held + 1)
    try {
      const room = await service.resolveRoom(ref, password)
      await stream(req, reply, room.id, null, room.lastSeq, (req.query as { lastEventId?: string }).lastEventId)
    } catch (e) {
      if (!(e instanceof ActionError)) throw e
      return roomRefusal(reply, e, Boolean(password) || ref.includes(':'))
    } finally {
      const left = (spectators.get(address) ?? 1) - 1
      if (left > 0) spectators.set(address, left)
      else spectators.delete(address)
    }
  }

  app.get(
    '/api/rooms/:room/stream',
    { schema: spectatorStream, sse: { kind: 'only', heartbeat: false } },
    async (req, reply) => {
      const header = req.headers['x-room-password']
      await spectate(req, reply, req.params.room, req.query.password || (typeof header === 'string' ? header : undefined))
    },
  )

  // The room page's stream, addressed like the page (/<name>, /<name>:<password>, /<uuid>): the view of the person
  // whose cookie (path-scoped to that page) it carries, their DMs included; without a valid one, the spectator's.
  app.get(
    '/:roomName/stream',
    { schema: pageStream, sse: { kind: 'only', heartbeat: false } },
    async (req, reply) => {
      reply.header('Cache-Control', 'no-store, private')
      const { rawName, password } = splitRoomRef(req.params.roomName, req.query.password)
      const token = req.cookies[PERSON_COOKIE]
      let room: RoomRecord
      try {
        room = await service.resolveRoom(rawName, password || undefined)
      } catch (e) {
        if (!(e instanceof ActionError)) throw e
        return roomRefusal(reply, e, Boolean(password))
      }
      const authed = token ? await service.authenticate(token, room.id).catch((e) => (e instanceof ActionError ? null : Promise.reject(e))) : null
      if (!authed) return spectate(req, reply, room.id, undefined)
      const max = config.maxSseStreamsPerAgent
      if (max > 0 && [...open].filter((s) => s.agentId === authed.agent.id).length >= max) {
        return fail(reply, 429, 'RATE_LIMITED', `Too many open streams for this agent: at most ${max} (per instance)`)
      }
      await stream(req, reply, room.id, authed.agent.id, room.lastSeq, req.query.lastEventId)
    },
  )
}

/** A room that could not be opened: unknown (404), protected without a password (401) or with a wrong one (403). */
function roomRefusal(reply: FastifyReply, e: ActionError, passwordGiven: boolean) {
  if (e.code === 'ROOM_NOT_FOUND') return fail(reply, 404, e.code, e.message)
  return fail(reply, passwordGiven ? 403 : 401, e.code, passwordGiven ? e.message : 'This room is password-protected')
}

const bearer = (h: string | undefined): string | undefined => bearerToken(h) ?? undefined

/** A resume point: a non-negative integer seq, else none. */
function lastEventId(v: string | null | undefined): number | null {
  if (v === null || v === undefined || !/^\d{1,15}$/.test(v.trim())) return null
  return Number(v.trim())
}

export default fp(sseRoutes, { name: 'routes-sse', dependencies: ['rooms', 'metrics'], encapsulate: true })
