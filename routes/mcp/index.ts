/** MCP over Streamable HTTP at /mcp: session lookup and limits, JSON-RPC errors, then the SDK transport. */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ACTIONS, toolMap } from '../../lib/actions/index.ts'
import type { Config } from '../../lib/config.ts'
import { isStoreUnavailable } from '../../lib/errors.ts'
import { bodyTooLargeMessage, isBodyTooLarge } from '../../lib/net/drain.ts'
import { clientAddress } from '../../lib/net/client-address.ts'
import { RPC, rpcError, type RpcCode } from '../../lib/net/jsonrpc.ts'
import { originGuard } from './guard.ts'
import { modernMcp } from './modern.ts'
import { holdFor, sendResponse } from './respond.ts'
import { webRequest } from './web-request.ts'
import { SessionRegistry } from './registry.ts'
import { secondListener } from './second-listener.ts'

const INTRO = 'Convene: rooms where AI agents talk in real time and share a git repository.'
const UNREAD = 'Every tool result carries your new unread messages ("New messages:" block; structuredContent.unread, shaped as messageHistory\'s messages).'

/** MCP 2025-11-25: the session holds the agent. */
const INSTRUCTIONS = [
  INTRO,
  'Start with createRoom or joinRoom; the session remembers your agentToken and room, so other tools need neither.',
  UNREAD,
  'Use waitForMessages to block until someone writes to you. Room events also arrive as notifications/message.',
  '(This is MCP 2025-11-25. Clients that negotiate 2026-07-28 get no session: they pass the agentToken to each tool.)',
  '',
  toolMap(ACTIONS),
].join('\n')

/** MCP 2026-07-28: no session; the agentToken travels with each call. */
const MODERN_INSTRUCTIONS = [
  INTRO,
  'Start with createRoom or joinRoom: they return your agentToken. Pass it as the `agentToken` argument of every other tool',
  '(or send it as an `Authorization: Bearer <agentToken>` header); roomId defaults to its room.',
  UNREAD,
  'waitForMessages blocks until someone writes to you; with the Tasks extension it runs as a task (timeout up to 86400 s)',
  'that completes when a message arrives. Your room is the resource convene://rooms/<roomId>; subscriptions/listen on it',
  '(with the Bearer header) tells you when it changes.',
  '(This is MCP 2026-07-28. Clients on 2025-11-25 initialize a session instead, and the session holds the agentToken.)',
  '',
  toolMap(ACTIONS),
].join('\n')

const fail = (reply: FastifyReply, status: number, code: RpcCode, message: string) => reply.status(status).send(rpcError(null, code, message))

const isInitialize = (body: unknown): boolean =>
  Array.isArray(body) ? body.some(isInitialize) : (body as { method?: unknown } | null)?.method === 'initialize'

/** MCP over Streamable HTTP at /mcp: one SDK server + transport per session, sessions kept in the database. */
const mcp: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const service = app.rooms
  const registry = new SessionRegistry({
    service,
    mcpStore: app.mcpStore,
    log: app.log,
    idleMs: config.mcpSessionIdleSeconds * 1000,
    instructions: INSTRUCTIONS,
    maxPerAddress: config.maxMcpSessionsPerIp,
    clock: app.clock,
  })
  app.metrics.provide('mcpSessions', () => registry.sessions.size)
  if (app.hasDecorator('clientIds')) app.clientIds.liveSession = (id) => registry.sessions.has(id)

  app.addHook('onRequest', originGuard(config))
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isStoreUnavailable(err)) {
      req.log.warn({ err }, 'store unavailable')
      reply.header('Retry-After', '1')
      return fail(reply, 503, RPC.SERVER_ERROR, 'Service temporarily unavailable (database), try again shortly')
    }
    if (isBodyTooLarge(err)) return fail(reply, 413, RPC.INVALID_REQUEST, `Error: ${bodyTooLargeMessage(config.bodyLimitBytes)}`)
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (status === 500) req.log.error({ err }, 'mcp request failed')
    const code = err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError ? RPC.PARSE : RPC.SERVER_ERROR
    return fail(reply, status, code, status === 500 ? 'Internal error' : err.message)
  })
  const modern = modernMcp({
    service,
    reposDir: config.reposDir,
    instructions: MODERN_INSTRUCTIONS,
    log: app.log,
    bodyLimit: config.bodyLimitBytes,
    maxStreamsPerAddress: config.maxSseStreamsPerIp,
  })
  app.metrics.provide('mcpListenStreams', () => modern.listenStreams)
  // Responses in flight (streams): shutdown waits for them to end so their connections are idle when the server closes.
  const inFlight = new Set<Promise<unknown>>()
  app.addHook('preClose', async () => {
    await Promise.all([registry.closeAll(), modern.close()])
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.allSettled(inFlight), new Promise((r) => (timer = setTimeout(r, 2000)))])
    clearTimeout(timer)
  })
  if (config.mcpPort !== undefined) secondListener(app, config)

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    if (await modern.claims(req)) return modern.serve(req, reply)
    const given = req.headers['mcp-session-id']
    const id = Array.isArray(given) ? given[0] : given
    let session
    const address = clientAddress(req.ip)
    const created = req.method === 'POST' && isInitialize(req.body)
    if (created) {
      // The session is stored from inside the SDK, which would report a database outage as a parse error.
      await service.ping()
      session = await registry.initializing(address)
      if (!session) {
        const max = config.maxMcpSessionsPerIp
        return fail(reply, 429, RPC.SERVER_ERROR, `Too many MCP sessions from this address: at most ${max} live sessions (per instance); end unused ones with DELETE /mcp`)
      }
    } else if (id) {
      // Only `initialize` creates a session: an unknown id stores nothing, and the client starts over (MCP spec).
      session = await registry.find(id)
      if (!session) return fail(reply, 404, RPC.SESSION_NOT_FOUND, 'Session not found: it ended or expired. Start a new session: send initialize without an Mcp-Session-Id header')
    } else {
      return fail(reply, 400, RPC.SERVER_ERROR, 'Bad Request: Mcp-Session-Id header is required')
    }
    registry.touch(session, address)
    const stream = req.method === 'GET' && String(req.headers.accept ?? '').includes('text/event-stream')
    if (stream) {
      await registry.useStream(session)
      session.streams++
    }
    const done = new Promise((resolve) => reply.raw.once('close', resolve))
    inFlight.add(done)
    void done.then(() => {
      inFlight.delete(done)
      if (stream) session.streams--
    })
    try {
      const response = await session.transport.handleRequest(webRequest(req, reply), { parsedBody: req.body })
      return await sendResponse(reply, response, req.method === 'POST' ? holdFor(req.body) : 0)
    } finally {
      if (created) registry.settle(session)
    }
  }

  // The rate limiter charges each call of a batch: it learns their number from here, not from the body.
  const countCalls = async (req: FastifyRequest) => {
    if (Array.isArray(req.body)) req.rpcCharge = { calls: req.body.length }
    // A 2026-07-28 call carries its agent's token as an argument: its bucket is the agent's.
    const token = (req.body as { params?: { arguments?: { agentToken?: unknown } } } | null)?.params?.arguments?.agentToken
    if (typeof token === 'string') req.rpcCharge = { calls: 1, agentToken: token }
  }
  app.route({ method: ['POST', 'GET', 'DELETE'], url: '/mcp', bodyLimit: config.bodyLimitBytes, preValidation: countCalls, handler: handle })
}

// Not a dependency: the limits plugin (clientIds is probed; without it, rpcCharge goes unread).
export default fp(mcp, { name: 'routes-mcp', dependencies: ['db', 'rooms', 'metrics'], encapsulate: true })
