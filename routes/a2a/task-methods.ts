/** The A2A Tasks API for room subscriptions: GetTask, ListTasks, CancelTask (1.0 and 0.3 names). */
import { bearerToken } from '../../lib/net/bearer.ts'
import type { FastifyRequest } from 'fastify'
import { ActionError } from '../../lib/errors.ts'
import { RPC, rpcResult, type RpcId } from '../../lib/net/jsonrpc.ts'
import type { RoomTask } from '../../lib/rooms/room-tasks.ts'
import type { RoomService } from '../../lib/rooms/service.ts'
import { a2aError, isObject, type A2AVersion } from './envelope.ts'
import { taskJson } from '../../lib/a2a/task-shapes.ts'

const GET = new Set(['GetTask', 'tasks/get'])
const LIST = new Set(['ListTasks', 'tasks/list'])
const CANCEL = new Set(['CancelTask', 'tasks/cancel'])
export const STREAM_METHODS = new Set(['SendStreamingMessage', 'message/stream', 'SubscribeToTask', 'tasks/resubscribe'])
export const isTaskMethod = (m: string) => GET.has(m) || LIST.has(m) || CANCEL.has(m)

/** The agentToken of an `Authorization: Bearer` header, if any. */
export const bearer = (req: FastifyRequest): string | undefined => bearerToken(req.headers.authorization) ?? undefined

/**
 * The task `params.id` names, if the caller may see it: the id is an unguessable handle; a Bearer agentToken, when
 * sent, must be the task's agent's. Anything else is "not found", with nothing said about whether it exists.
 */
export async function findTask(service: RoomService, req: FastifyRequest, params: unknown): Promise<RoomTask | null> {
  const id = isObject(params) && typeof params.id === 'string' ? params.id : ''
  const task = await service.roomTasks.get(id)
  if (!task) return null
  const token = bearer(req)
  if (token === undefined) return task
  try {
    const { agent } = await service.authenticate(token)
    return agent.id === task.agentId ? task : null
  } catch {
    return null
  }
}

const notFound = (id: RpcId, v: A2AVersion) => a2aError(id, RPC.TASK_NOT_FOUND, 'Task not found', v)

export async function taskMethod(method: string, params: unknown, v: A2AVersion, req: FastifyRequest, service: RoomService, id: RpcId) {
  if (LIST.has(method)) {
    const p = isObject(params) ? params : {}
    const token = bearer(req) ?? (isObject(p.metadata) && typeof p.metadata.agentToken === 'string' ? p.metadata.agentToken : undefined)
    if (!token) return a2aError(id, RPC.INVALID_PARAMS, 'Invalid params: ListTasks needs your agentToken (Authorization: Bearer <agentToken>)', v)
    const size = Number(p.pageSize ?? 50)
    const offset = Number(p.pageToken || 0)
    if (!Number.isInteger(size) || size < 1 || size > 100) return a2aError(id, RPC.INVALID_PARAMS, 'Invalid params: pageSize must be an integer from 1 to 100', v)
    if (!Number.isInteger(offset) || offset < 0) return a2aError(id, RPC.INVALID_PARAMS, 'Invalid params: pageToken is not one this server gave', v)
    try {
      const { tasks, total } = await service.roomTasks.list(token, size, offset)
      const next = offset + tasks.length < total ? String(offset + tasks.length) : ''
      return rpcResult(id, { tasks: tasks.map((t) => taskJson(v, t)), nextPageToken: next, pageSize: size, totalSize: total })
    } catch (err) {
      if (err instanceof ActionError) return a2aError(id, RPC.INVALID_PARAMS, `Invalid params: ${err.message}`, v)
      throw err
    }
  }
  const task = await findTask(service, req, params)
  if (!task) return notFound(id, v)
  if (GET.has(method)) {
    const n = isObject(params) && params.historyLength !== undefined ? Number(params.historyLength) : 0
    if (!Number.isInteger(n) || n < 0 || n > 100) return a2aError(id, RPC.INVALID_PARAMS, 'Invalid params: historyLength must be an integer from 0 to 100', v)
    return rpcResult(id, taskJson(v, task, await service.roomTasks.history(task, n)))
  }
  // CancelTask
  if (task.state !== 'working') return a2aError(id, RPC.TASK_NOT_CANCELABLE, `Task cannot be canceled: it is ${task.state}`, v)
  const ended = (await service.roomTasks.end(task.id, 'canceled', 'canceled by the client')) ?? (await service.roomTasks.get(task.id))
  return rpcResult(id, taskJson(v, ended ?? task))
}
