import rateLimit from '@fastify/rate-limit'
import underPressure from '@fastify/under-pressure'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../lib/config.ts'

const JSON_RPC_PATHS = /^\/(a2a|mcp)(\/|\?|$)/

/** Who a request counts against: its agentToken or MCP session when it has one, else its IP. */
function clientKey(req: FastifyRequest): string {
  const query = req.query as Record<string, unknown> | undefined
  if (typeof query?.agentToken === 'string') return `token:${query.agentToken}`
  const session = req.headers['mcp-session-id']
  if (typeof session === 'string') return `mcp:${session}`
  const body = typeof req.body === 'string' ? safeParse(req.body) : req.body
  const token = (body as any)?.params?.message?.metadata?.agentToken
  if (typeof token === 'string') return `token:${token}`
  return `ip:${req.ip}`
}

function safeParse(s: string): unknown {
  try {
    return s.length < 1_000_000 ? JSON.parse(s) : null
  } catch {
    return null
  }
}

/** Rate limits per client, and 503s before the process is overwhelmed. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    if (config.rateLimitMax > 0) {
      await app.register(rateLimit, {
        global: true,
        hook: 'preHandler',
        max: config.rateLimitMax,
        timeWindow: config.rateLimitWindowSeconds * 1000,
        keyGenerator: clientKey,
        errorResponseBuilder: (req, ctx) => {
          const message = `Rate limit exceeded: at most ${ctx.max} requests per ${Math.round(ctx.ttl / 1000) || config.rateLimitWindowSeconds} s, retry in ${ctx.after}`
          // A2A and MCP clients read JSON-RPC errors; the status stays 429 with Retry-After.
          if (JSON_RPC_PATHS.test(req.url)) {
            return { statusCode: 429, message: `Error: ${message}`, jsonrpc: '2.0', id: null, error: { code: -32000, message: `Error: ${message}` } }
          }
          return { statusCode: 429, error: 'Too Many Requests', message }
        },
      })
    }
    await app.register(underPressure, {
      maxEventLoopDelay: config.maxEventLoopDelayMs,
      maxHeapUsedBytes: config.maxHeapUsedBytes,
      retryAfter: 10,
      pressureHandler: (req, reply, type) => {
        reply.header('Retry-After', '10')
        const message = `Server overloaded (${type}), retry shortly`
        if (JSON_RPC_PATHS.test(req.url)) reply.status(503).send({ jsonrpc: '2.0', id: null, error: { code: -32000, message: `Error: ${message}` } })
        else reply.status(503).send({ error: 'Service Unavailable', message })
      },
    })
  },
  { name: 'limits' },
)
