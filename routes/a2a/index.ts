/** A2A JSON-RPC routes: POST /a2a dispatches SendMessage to the action table; GET /a2a and the agent cards describe it. */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { RoomTask } from '../../lib/rooms/room-tasks.ts'
import fp from 'fastify-plugin'
import { docsText, findAction, invokeAction, ACTIONS } from '../../lib/actions/index.ts'
import type { Config } from '../../lib/config.ts'
import { ActionError, isStoreUnavailable } from '../../lib/errors.ts'
import { clientAddress } from '../../lib/net/client-address.ts'
import { bodyTooLargeMessage, isBodyTooLarge } from '../../lib/net/drain.ts'
import { RPC, rpcIdOf, rpcResult, type RpcId } from '../../lib/net/jsonrpc.ts'
import { agentCard, discover } from './card.ts'
import { streamOnce, TaskStream } from './stream.ts'
import { findTask, isTaskMethod, STREAM_METHODS, taskMethod } from './task-methods.ts'
import { isPushConfigMethod, pushConfigMethod } from './push-configs.ts'
import { a2aError, agentMessage, copyFields, errorMessage, isObject, parseVersion, readParts, type A2AVersion } from './envelope.ts'

const SEND_METHODS = new Set(['SendMessage', 'message/send'])
/** Streams of one task open on this instance (a client resuming needs one; a few allow overlap). */
const MAX_STREAMS_PER_TASK = 4

const a2a: FastifyPluginAsync<{ config: Config }> = async (app, { config }) => {
  const service = app.rooms
  const unavailable = new WeakSet<FastifyRequest>()
  const streams = new Set<TaskStream>()
  // Open task streams would hold close() up: they end (the tasks go on; clients resume with SubscribeToTask).
  app.addHook('preClose', async () => {
    for (const s of streams) s.close()
  })

  // Every body is parsed here, whatever its content type, so that malformed JSON gets a JSON-RPC parse error, not
  // an HTTP 400; what the rate limiter needs from it is handed over before the limiter runs.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: config.bodyLimitBytes }, (req, text, done) => {
    const body = parseBody(String(text))
    if (body.ok) req.rpcCharge = chargeOf(body.value)
    done(null, body)
  })
  // An over-limit body is answered in JSON-RPC too; other errors go to the server's handler.
  app.setErrorHandler((err, req, reply) => {
    if (!isBodyTooLarge(err)) throw err
    const version = parseVersion(req.headers['a2a-version']) ?? '0.3'
    return reply.status(413).send(a2aError(null, RPC.INVALID_REQUEST, `Error: ${bodyTooLargeMessage(config.bodyLimitBytes)}`, version))
  })

  app.post('/a2a', async (req, reply) => {
    const version = parseVersion(req.headers['a2a-version'])
    const parsed = (req.body as Body | undefined) ?? parseBody('')
    if (!parsed.ok) return a2aError(null, RPC.PARSE, 'Parse error: the body is not valid JSON', version ?? '0.3')
    const payload = parsed.value
    if (!version) {
      return a2aError(rpcIdOf(payload), RPC.VERSION_NOT_SUPPORTED, `Version not supported: ${req.headers['a2a-version']}`, '1.0')
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
    if (isObject(payload) && typeof payload.method === 'string' && STREAM_METHODS.has(payload.method) && payload.jsonrpc === '2.0') {
      const failed = await stream(payload.method, payload.params, version, req, reply, rpcIdOf(payload), abort.signal)
      return failed ?? reply
    }
    if (Array.isArray(payload)) {
      if (payload.length === 0) return a2aError(null, RPC.INVALID_REQUEST, 'Invalid Request: empty batch', version)
      const replies = (await Promise.all(payload.map((one) => handle(one, version, req, abort.signal)))).filter((r) => r !== null)
      return send(replies.length ? replies : null)
    }
    return send(await handle(payload, version, req, abort.signal))
  })

  app.get('/a2a', async (_req, reply) => reply.type('text/plain; charset=utf-8').send(docsText(ACTIONS)))
  // The card's shape follows the A2A-Version header (an unknown one gets the 1.0 card).
  const card = async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('vary', 'A2A-Version')
    return agentCard(req.baseUrl, parseVersion(req.headers['a2a-version']) ?? '1.0')
  }
  app.get('/.well-known/agent-card.json', card)
  app.get('/.well-known/agent.json', card)

  /** One JSON-RPC request → its reply (null for a notification). */
  async function handle(body: unknown, version: A2AVersion, req: FastifyRequest, signal: AbortSignal) {
    if (!isObject(body) || body.jsonrpc !== '2.0' || typeof body.method !== 'string') {
      return a2aError(rpcIdOf(body), RPC.INVALID_REQUEST, 'Invalid Request: expected {"jsonrpc":"2.0","method":…}', version)
    }
    const id = rpcIdOf(body)
    const notification = !('id' in body)
    const reply = await dispatch(body.method, body.params, version, req, signal, id)
    return notification ? null : reply
  }

  async function dispatch(method: string, params: unknown, version: A2AVersion, req: FastifyRequest, signal: AbortSignal, id: RpcId) {
    const ok = (result: unknown) => rpcResult(id, result)
    if (method === 'rpc.discover') return ok(discover(req.baseUrl))
    if (method === 'help') return ok(await run('help', {}, undefined, version, req, signal))
    if (STREAM_METHODS.has(method)) return a2aError(id, RPC.UNSUPPORTED_OPERATION, `Unsupported operation: ${method} streams, so it cannot be batched`, version)
    if (isTaskMethod(method)) return taskMethod(method, params, version, req, service, id)
    if (isPushConfigMethod(method)) return pushConfigMethod(method, params, version, req, service, id)
    if (!SEND_METHODS.has(method)) return a2aError(id, RPC.METHOD_NOT_FOUND, `Method not found: ${method}`, version)
    const call = actionCall(params)
    if (!call) return a2aError(id, RPC.INVALID_PARAMS, 'Invalid params: params.message must be an object', version)
    return ok(await run(call.action, call.raw, call.contextId, version, req, signal))
  }

  /**
   * The streaming methods. SendStreamingMessage with room.subscribe streams the new task; any other action streams
   * its one reply; SubscribeToTask resumes a task after the Last-Event-ID header (else after what was last written).
   * Returns a JSON-RPC error when nothing was streamed.
   */
  async function stream(method: string, params: unknown, version: A2AVersion, req: FastifyRequest, reply: FastifyReply, id: RpcId, signal: AbortSignal) {
    let task: RoomTask | null
    let after: number
    if (method === 'SubscribeToTask' || method === 'tasks/resubscribe') {
      task = await findTask(service, req, params)
      if (!task) return a2aError(id, RPC.TASK_NOT_FOUND, 'Task not found', version)
      const last = Number(req.headers['last-event-id'])
      after = Number.isInteger(last) && last >= task.startSeq ? last : task.cursor
    } else {
      const call = actionCall(params)
      if (!call) return a2aError(id, RPC.INVALID_PARAMS, 'Invalid params: params.message must be an object', version)
      const def = findAction(call.action)
      const answer = await run(call.action, call.raw, call.contextId, version, req, signal)
      const taskId = def?.name === 'room.subscribe' ? resultData(answer)?.taskId : undefined
      reply.hijack()
      if (typeof taskId !== 'string') return streamOnce(reply.raw, id, answer)
      task = await service.roomTasks.get(taskId)
      if (!task) return streamOnce(reply.raw, id, answer)
      after = task.startSeq
    }
    // (a task SendStreamingMessage just made has none yet: only resumes can be refused, before anything is sent)
    if (!reply.sent && [...streams].filter((x) => x.taskId === task.id).length >= MAX_STREAMS_PER_TASK) {
      return a2aError(id, RPC.UNSUPPORTED_OPERATION, `Too many streams of this task (at most ${MAX_STREAMS_PER_TASK}); close one first`, version)
    }
    if (!reply.sent) reply.hijack()
    const s = new TaskStream(reply.raw, service, version, id, task)
    streams.add(s)
    s.start(after)
    await s.done
    streams.delete(s)
    return null
  }

  async function run(action: string, raw: Record<string, unknown>, contextId: string | undefined, version: A2AVersion, req: FastifyRequest, signal: AbortSignal) {
    try {
      const result = await invokeAction(service, action, raw, { signal, caller: clientAddress(req.ip) })
      return agentMessage(version, result.text, result.data, result.roomId ?? contextId)
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

type Body = { ok: true; value: unknown } | { ok: false }

/** The action a SendMessage-style request names, its parameters (data parts, then metadata) and its room. */
function actionCall(params: unknown): { action: string; raw: Record<string, unknown>; contextId?: string } | null {
  if (!isObject(params) || !isObject(params.message)) return null
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
  return { action, raw, contextId }
}

/** The data part of an agent reply, in either generation. */
function resultData(answer: unknown): Record<string, unknown> | undefined {
  const m = isObject(answer) && isObject(answer.message) ? answer.message : answer
  const parts = isObject(m) && Array.isArray(m.parts) ? m.parts : []
  const data = parts.find((p: unknown) => isObject(p) && isObject(p.data)) as { data: Record<string, unknown> } | undefined
  return data?.data
}

function parseBody(text: string): Body {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}

/** For the rate limiter: the agentToken the (first) call carries, and how many calls a batch holds. */
function chargeOf(payload: unknown) {
  const first = Array.isArray(payload) ? payload[0] : payload
  const message = isObject(first) && isObject(first.params) ? first.params.message : undefined
  const token = isObject(message) && isObject(message.metadata) ? message.metadata.agentToken : undefined
  return { agentToken: typeof token === 'string' ? token : undefined, calls: Array.isArray(payload) ? payload.length : 1 }
}

// Not a dependency: the limits plugin (without it, the rpcCharge set above goes unread).
export default fp(a2a, { name: 'routes-a2a', dependencies: ['http', 'rooms'], encapsulate: true })
