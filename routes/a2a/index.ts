import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { docsText, findAction, invokeAction, ACTIONS } from '../../lib/actions/index.ts'
import type { Config } from '../../lib/config.ts'
import { ActionError, isStoreUnavailable } from '../../lib/errors.ts'
import { clientAddress } from '../../lib/net/client-address.ts'
import { bodyTooLargeMessage, isBodyTooLarge } from '../../lib/net/drain.ts'
import { agentCard, discover } from './card.ts'
import {
  agentMessage,
  copyFields,
  errorMessage,
  isObject,
  parseVersion,
  readParts,
  rpcError,
  RPC,
  type A2AVersion,
  type RpcId,
} from './envelope.ts'

const SEND_METHODS = new Set(['SendMessage', 'message/send'])

/** A2A JSON-RPC 2.0 at POST /a2a, its docs at GET /a2a, and the agent card. */
const a2a: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const service = app.rooms
  if (!service) throw new Error('a2a routes need the rooms plugin')
  const unavailable = new WeakSet<FastifyRequest>()

  // Every body is read as text so that malformed JSON gets a JSON-RPC parse error, not an HTTP 400.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: config.bodyLimitBytes }, (_req, body, done) => done(null, body))
  // An over-limit body is answered in JSON-RPC too; other errors go to the server's handler.
  app.setErrorHandler((err, req, reply) => {
    if (!isBodyTooLarge(err)) throw err
    const version = parseVersion(req.headers['a2a-version']) ?? '0.3'
    return reply.status(413).send(rpcError(null, RPC.INVALID_REQUEST, `Error: ${bodyTooLargeMessage(config.bodyLimitBytes)}`, version))
  })

  app.post('/a2a', async (req, reply) => {
    const version = parseVersion(req.headers['a2a-version'])
    let payload: unknown
    try {
      payload = JSON.parse(String(req.body ?? ''))
    } catch {
      return rpcError(null, RPC.PARSE, 'Parse error: the body is not valid JSON', version ?? '0.3')
    }
    if (!version) {
      return rpcError(idOf(payload), RPC.VERSION_NOT_SUPPORTED, `Version not supported: ${req.headers['a2a-version']}`, '1.0')
    }
    const abort = new AbortController()
    // The request's own 'close' fires once its body is read; the response's, before it finished, means the client left.
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort()
    })
    // A database outage answers 503 + Retry-After (the JSON-RPC body still says what failed).
    const send = (body: unknown) => {
      if (!unavailable.has(req)) return body ?? reply.status(204).send()
      reply.status(503).header('Retry-After', '1')
      return body ?? reply.send()
    }
    if (Array.isArray(payload)) {
      if (payload.length === 0) return rpcError(null, RPC.INVALID_REQUEST, 'Invalid Request: empty batch', version)
      const replies = (await Promise.all(payload.map((one) => handle(one, version, req, abort.signal)))).filter((r) => r !== null)
      return send(replies.length ? replies : null)
    }
    return send(await handle(payload, version, req, abort.signal))
  })

  app.get('/a2a', async (_req, reply) => reply.type('text/plain; charset=utf-8').send(docsText(ACTIONS)))
  app.get('/.well-known/agent-card.json', async (req) => agentCard(req.baseUrl))
  app.get('/.well-known/agent.json', async (req) => agentCard(req.baseUrl))

  /** One JSON-RPC request → its reply (null for a notification). */
  async function handle(body: unknown, version: A2AVersion, req: FastifyRequest, signal: AbortSignal) {
    if (!isObject(body) || body.jsonrpc !== '2.0' || typeof body.method !== 'string') {
      return rpcError(idOf(body), RPC.INVALID_REQUEST, 'Invalid Request: expected {"jsonrpc":"2.0","method":…}', version)
    }
    const id = idOf(body)
    const notification = !('id' in body)
    const reply = await dispatch(body.method, body.params, version, req, signal, id)
    return notification ? null : reply
  }

  async function dispatch(method: string, params: unknown, version: A2AVersion, req: FastifyRequest, signal: AbortSignal, id: RpcId) {
    const ok = (result: unknown) => ({ jsonrpc: '2.0' as const, id, result })
    if (method === 'rpc.discover') return ok(discover(req.baseUrl))
    if (method === 'help') return ok(await run('help', {}, undefined, version, req, signal))
    if (!SEND_METHODS.has(method)) return rpcError(id, RPC.METHOD_NOT_FOUND, `Method not found: ${method}`, version)
    if (!isObject(params) || !isObject(params.message)) {
      return rpcError(id, RPC.INVALID_PARAMS, 'Invalid params: params.message must be an object', version)
    }
    const message = params.message
    const metadata = isObject(message.metadata) ? message.metadata : {}
    const contextId = typeof message.contextId === 'string' && message.contextId ? message.contextId : undefined
    const { texts, data } = readParts(message.parts)
    const raw = copyFields(copyFields({}, data), metadata)
    let action = typeof raw.action === 'string' ? raw.action : undefined
    delete raw.action
    if (!action) action = contextId && raw.agentToken ? 'message.send' : 'help'

    const def = findAction(action)
    if (def?.a2a.context && raw[def.a2a.context] === undefined && contextId) raw[def.a2a.context] = contextId
    if (def?.a2a.text && raw[def.a2a.text] === undefined && texts[0]) raw[def.a2a.text] = texts[0]
    return ok(await run(action, raw, contextId, version, req, signal))
  }

  async function run(action: string, raw: Record<string, unknown>, contextId: string | undefined, version: A2AVersion, req: FastifyRequest, signal: AbortSignal) {
    try {
      const result = await invokeAction(service, action, raw, { signal, caller: clientAddress(req.ip) })
      return agentMessage(version, result.text, result.data, result.contextId ?? contextId)
    } catch (err) {
      if (err instanceof ActionError) return errorMessage(version, err.code, err.message, contextId)
      if (isStoreUnavailable(err)) {
        unavailable.add(req)
        req.log.warn({ err, action }, 'store unavailable')
        return errorMessage(version, 'UNAVAILABLE', 'Service temporarily unavailable (database), try again shortly', contextId)
      }
      req.log.error({ err, action }, 'action failed')
      return errorMessage(version, 'UNAVAILABLE', 'Internal error, try again shortly', contextId)
    }
  }
}

function idOf(body: unknown): RpcId {
  if (!isObject(body)) return null
  const id = body.id
  return typeof id === 'string' || typeof id === 'number' ? id : null
}

export default a2a
