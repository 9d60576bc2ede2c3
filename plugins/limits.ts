/** Per-client rate limits (buckets keyed by known token, live MCP session or address) and overload 503s. */
import { createHash } from 'node:crypto'
import rateLimit from '@fastify/rate-limit'
import underPressure from '@fastify/under-pressure'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../lib/config.ts'
import { clientAddress } from '../lib/net/client-address.ts'
import { RPC, rpcError } from '../lib/net/jsonrpc.ts'
import { RecentSet } from './recent-set.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Which client identities the rate limiter may count apart from their address. */
    clientIds: ClientIds
  }
  interface FastifyRequest {
    /** Set by a JSON-RPC route once it has parsed the body, before the limiter runs. */
    rpcCharge: RpcCharge | null
  }
}

/** What the limiter needs from a JSON-RPC body: the agentToken it carries (if any) and how many calls it holds. */
export interface RpcCharge {
  agentToken?: string
  calls: number
}

const JSON_RPC_PATHS = /^\/(a2a|mcp)(\/|\?|$)/
/** Verified agentTokens remembered; beyond this the least recently used fall back to their address until seen again. */
const KNOWN_TOKENS = 50_000
const KNOWN_TOKEN_MS = 15 * 60_000

/**
 * A token or session id gets a bucket of its own only once it is known to exist: every check here is in memory, so
 * made-up ones are charged to their address before any handler looks them up in the database.
 */
export class ClientIds {
  private readonly tokens = new RecentSet(KNOWN_TOKENS, KNOWN_TOKEN_MS)
  /** Set by the MCP routes: whether a session id is live on this instance. */
  liveSession: (id: string) => boolean = () => false

  tokenSeen(digest: string): void {
    this.tokens.add(digest)
  }

  /** The token's digest if it was issued or verified lately, else null. */
  knownToken(token: string): string | null {
    const digest = createHash('sha256').update(token, 'utf8').digest('hex')
    return this.tokens.has(digest) ? digest : null
  }
}

/** Every agentToken the request carries, in the places the surfaces read them from. */
function tokensOf(req: FastifyRequest): string[] {
  const out: string[] = []
  const query = req.query as Record<string, unknown> | undefined
  if (typeof query?.agentToken === 'string') out.push(query.agentToken)
  const auth = req.headers.authorization
  const bearer = auth ? /^Bearer\s+(\S+)$/i.exec(auth) : null
  if (bearer) out.push(bearer[1])
  const basic = auth ? /^Basic\s+(\S+)$/i.exec(auth) : null
  if (basic) {
    const pair = Buffer.from(basic[1], 'base64').toString('utf8')
    if (pair.includes(':')) out.push(pair.slice(pair.indexOf(':') + 1))
  }
  if (req.rpcCharge?.agentToken !== undefined) out.push(req.rpcCharge.agentToken)
  return out
}

/** Rate limits per client, and 503s before the process is overwhelmed. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const ids = new ClientIds()
    app.decorate('clientIds', ids)
    app.decorateRequest('rpcCharge', null)
    if (app.hasDecorator('rooms')) app.rooms.onTokenSeen((digest) => ids.tokenSeen(digest))

    /** Who a request counts against: a known agentToken or live MCP session, else its address. */
    const clientKey = (req: FastifyRequest): string => {
      for (const token of tokensOf(req)) {
        const digest = ids.knownToken(token)
        if (digest) return `token:${digest}`
      }
      const session = req.headers['mcp-session-id']
      if (typeof session === 'string' && ids.liveSession(session)) return `mcp:${session}`
      return `ip:${clientAddress(req.ip)}`
    }

    const refusal = (req: FastifyRequest, max: number, ttlSeconds: number) => {
      const message = `Rate limit exceeded: at most ${max} requests per ${config.rateLimitWindowSeconds} s, retry in ${ttlSeconds} s`
      // A2A and MCP clients read JSON-RPC errors; the status stays 429 with Retry-After.
      if (JSON_RPC_PATHS.test(req.url)) {
        return Object.assign(new Error(`Error: ${message}`), { statusCode: 429, rpc: rpcError(null, RPC.SERVER_ERROR, `Error: ${message}`) })
      }
      return Object.assign(new Error(message), { statusCode: 429, error: 'Too Many Requests' })
    }

    if (config.rateLimitMax > 0) {
      await app.register(rateLimit, {
        global: true,
        hook: 'preHandler',
        max: config.rateLimitMax,
        timeWindow: config.rateLimitWindowSeconds * 1000,
        keyGenerator: clientKey,
        // Counters kept (least recently used dropped): room for every remembered token, so churning through many
        // real tokens cannot push an address's counter out and reset it.
        cache: KNOWN_TOKENS + 10_000,
        errorResponseBuilder: (req, ctx) => refusal(req, ctx.max, Math.max(1, Math.ceil(ctx.ttl / 1000))),
      })
      // The hook above charged a request once; a JSON-RPC batch is charged once more per further element.
      const charge = app.createRateLimit()
      const chargeBatch = async (req: FastifyRequest, reply: FastifyReply) => {
        const calls = req.rpcCharge?.calls ?? 1
        for (let i = 1; i < calls; i++) {
          const r = await charge(req)
          if (r.isAllowed || !r.isExceeded) continue
          reply.header('x-ratelimit-limit', r.max).header('x-ratelimit-remaining', 0)
          reply.header('x-ratelimit-reset', r.ttlInSeconds).header('retry-after', r.ttlInSeconds)
          throw refusal(req, r.max, Math.max(1, r.ttlInSeconds))
        }
      }
      app.addHook('onRoute', (route) => {
        if (route.config?.rateLimit === false) return
        route.preHandler = [...(Array.isArray(route.preHandler) ? route.preHandler : route.preHandler ? [route.preHandler] : []), chargeBatch]
      })
    }
    await app.register(underPressure, {
      maxEventLoopDelay: config.maxEventLoopDelayMs,
      maxHeapUsedBytes: config.maxHeapUsedBytes,
      retryAfter: 10,
      pressureHandler: (req, reply, type) => {
        reply.header('Retry-After', '10')
        const message = `Server overloaded (${type}), retry shortly`
        if (JSON_RPC_PATHS.test(req.url)) reply.status(503).send(rpcError(null, RPC.SERVER_ERROR, `Error: ${message}`))
        else reply.status(503).send({ error: 'Service Unavailable', message })
      },
    })
  },
  { name: 'limits' },
)
