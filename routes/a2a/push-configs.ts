/** A2A push notification configs of room subscription tasks: Create/Get/List/Delete (1.0 names and 0.3 tasks/pushNotificationConfig/*). */
import type { FastifyRequest } from 'fastify'
import { ActionError } from '../../lib/errors.ts'
import { RPC, rpcResult, type RpcId } from '../../lib/net/jsonrpc.ts'
import type { PushConfigInput } from '../../lib/rooms/room-tasks.ts'
import type { RoomService } from '../../lib/rooms/service.ts'
import type { PushConfigRecord } from '../../lib/store.ts'
import { a2aError, isObject, type A2AVersion } from './envelope.ts'
import { findTask } from './task-methods.ts'

const CREATE = new Set(['CreateTaskPushNotificationConfig', 'tasks/pushNotificationConfig/set'])
const GET = new Set(['GetTaskPushNotificationConfig', 'tasks/pushNotificationConfig/get'])
const LIST = new Set(['ListTaskPushNotificationConfigs', 'ListTaskPushNotificationConfig', 'tasks/pushNotificationConfig/list'])
const DELETE = new Set(['DeleteTaskPushNotificationConfig', 'tasks/pushNotificationConfig/delete'])
export const isPushConfigMethod = (m: string) => CREATE.has(m) || GET.has(m) || LIST.has(m) || DELETE.has(m)

/** The config as sent back: never the credentials, only their scheme. */
function configJson(v: A2AVersion, c: PushConfigRecord) {
  const auth = c.authScheme ? { authentication: v === '1.0' ? { scheme: c.authScheme } : { schemes: [c.authScheme] } } : {}
  const body = { id: c.id, url: c.url, ...(c.token ? { token: c.token } : {}), ...auth }
  return v === '1.0' ? { taskId: c.taskId, ...body } : { taskId: c.taskId, pushNotificationConfig: body }
}

/** The task id and config fields, from either generation's params (0.3 nests the config, 1.0 does not). */
function read(method: string, params: Record<string, unknown>): PushConfigInput & { taskId: string } {
  const modern = !method.startsWith('tasks/')
  const cfg = modern ? params : isObject(params.pushNotificationConfig) ? params.pushNotificationConfig : {}
  const auth = isObject(cfg.authentication) ? cfg.authentication : {}
  const id = modern ? params.id : (params.pushNotificationConfigId ?? cfg.id)
  return {
    taskId: String((modern ? params.taskId : (params.taskId ?? params.id)) ?? ''),
    id: typeof id === 'string' && id ? id : undefined,
    url: cfg.url,
    token: cfg.token,
    scheme: Array.isArray(auth.schemes) ? auth.schemes[0] : auth.scheme,
    credentials: auth.credentials,
  }
}

export async function pushConfigMethod(method: string, params: unknown, v: A2AVersion, req: FastifyRequest, service: RoomService, id: RpcId) {
  const bad = (why: string) => a2aError(id, RPC.INVALID_PARAMS, `Invalid params: ${why}`, v)
  const notFound = (what: string) => a2aError(id, RPC.TASK_NOT_FOUND, `${what} not found`, v)
  if (!isObject(params)) return bad('params must be an object')
  const input = read(method, params)
  const task = await findTask(service, req, { id: input.taskId })
  if (!task) return notFound('Task')
  const tasks = service.roomTasks

  if (LIST.has(method)) {
    const configs = (await tasks.pushConfigs(task)).map((c) => configJson(v, c))
    return rpcResult(id, v === '1.0' ? { configs, nextPageToken: '' } : configs)
  }
  if (CREATE.has(method)) {
    try {
      const made = await tasks.putPushConfig(task, input)
      return made ? rpcResult(id, configJson(v, made)) : notFound('Task (still working)')
    } catch (err) {
      if (err instanceof ActionError) return bad(err.message)
      throw err
    }
  }
  if (!input.id) return bad('the config id is required')
  if (DELETE.has(method)) return (await tasks.deletePushConfig(task, input.id)) ? rpcResult(id, v === '1.0' ? {} : null) : notFound('Push notification config')
  const c = await tasks.pushConfig(task, input.id)
  return c ? rpcResult(id, configJson(v, c)) : notFound('Push notification config')
}
