/** The 2026-07-28 side of /mcp: stateless, any instance serves any request; listen streams are served here. */
import { bearerToken } from '../../lib/net/bearer.ts'
import { createMcpHandler, isLegacyRequest } from '@modelcontextprotocol/server'
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify'
import type { RoomService } from '../../lib/rooms/service.ts'
import { clientAddress } from '../../lib/net/client-address.ts'
import { RPC, rpcError } from '../../lib/net/jsonrpc.ts'
import { serveListen, type ListenFilter } from './listen.ts'
import { holdFor, sendResponse } from './respond.ts'
import { webRequest } from './web-request.ts'
import { modernServer, type ModernRequest } from './modern-server.ts'

export const MODERN_REVISION = '2026-07-28'
const PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion'

interface RpcBody {
  id?: string | number
  method?: unknown
  params?: { _meta?: Record<string, unknown>; notifications?: unknown }
}

export const bearerOf = (req: FastifyRequest): string | null => bearerToken(req.headers.authorization)

export function modernMcp(opts: {
  service: RoomService
  reposDir: string
  instructions: string
  log: FastifyBaseLogger
  bodyLimit: number
  /** Listen streams one client address may hold open on this instance (0: no limit). */
  maxStreamsPerAddress: number
}) {
  const { service } = opts
  const handler = createMcpHandler((ctx) => modernServer(service, opts.reposDir, opts.instructions, ctx), {
    legacy: 'reject',
    maxRequestBodySize: opts.bodyLimit,
    onerror: (err) => opts.log.debug({ err }, 'mcp request refused'),
  })

  const streams = new Set<() => void>()
  const perAddress = new Map<string, number>()
  return {
    /**
     * Whether this request speaks 2026-07-28. A session id or an initialize is the 2025 protocol for certain;
     * anything else is decided by the SDK's own classification.
     */
    async claims(req: FastifyRequest): Promise<boolean> {
      if (req.method !== 'POST' || req.headers['mcp-session-id'] !== undefined) return false
      const body = req.body as RpcBody | RpcBody[] | undefined
      if (!Array.isArray(body) && body?.method === 'initialize') return false
      // The per-request envelope's claim is what the SDK routes on: a request carrying it is never legacy.
      if (!Array.isArray(body) && typeof body?.params?._meta?.[PROTOCOL_VERSION] === 'string') return true
      return !(await isLegacyRequest(webRequest(req, null), body ?? null))
    },

    async serve(req: FastifyRequest, reply: FastifyReply) {
      const body = req.body as RpcBody
      const bearer = bearerOf(req)
      if (body?.method === 'subscriptions/listen' && body.params?._meta?.[PROTOCOL_VERSION] === MODERN_REVISION && typeof body.params.notifications === 'object' && body.params.notifications !== null) {
        const address = clientAddress(req.ip)
        const held = perAddress.get(address) ?? 0
        const max = opts.maxStreamsPerAddress
        if (max > 0 && held >= max) {
          return reply.status(429).send(rpcError(body.id ?? null, RPC.SERVER_ERROR, `Too many open listen streams from this address: at most ${max} (per instance)`))
        }
        perAddress.set(address, held + 1)
        reply.raw.once('close', () => {
          const left = (perAddress.get(address) ?? 1) - 1
          if (left > 0) perAddress.set(address, left)
          else perAddress.delete(address)
        })
        return serveListen(service, reply, body.id ?? 0, bearer, body.params.notifications as ListenFilter, streams)
      }
      const extra: ModernRequest = { bearer, address: clientAddress(req.ip) }
      const response = await handler.fetch(webRequest(req, reply), {
        parsedBody: req.body,
        authInfo: { token: '', clientId: 'convene', scopes: [], extra: extra as unknown as Record<string, unknown> },
      })
      return sendResponse(reply, response, holdFor(req.body))
    },

    /** Open listen streams (the metrics gauge). */
    get listenStreams() {
      return streams.size
    },

    /** Shutdown: listen streams end gracefully (clients re-listen elsewhere), in-flight calls are aborted. */
    async close() {
      for (const end of [...streams]) end()
      await handler.close()
    },
  }
}
