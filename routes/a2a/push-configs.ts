/** A2A push notification configs of room subscription tasks: Create/Get/List/Delete (1.0 names and 0.3 tasks/pushNotificationConfig/*). */
import { randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { endpointProblem } from '../../lib/net/address.ts'
import { RPC, rpcResult, type RpcId } from '../../lib/net/jsonrpc.ts'
import type { RoomService } from '../../lib/rooms/service.ts'
import type { PushConfigRecord, Store } from '../../lib/store.ts'
import { a2aError, isObject, type A2AVersion } from './envelope.ts'
import { findTask } from './task-methods.ts'

export const MAX_CONFIGS_PER_TASK = 4
const CREATE = new Set(['CreateTaskPushNotificationConfig', 'tasks/pushNotificationConfig/set'])
const GET = new Set(['GetTaskPushNotificationConfig', 'tasks/pushNotificationConfig/get'])
const LIST = new Set(['ListTaskPushNotificationConfigs', 'ListTaskPushNotificationConfig', 'tasks/pushNotificationConfig/list'])
const DELETE = new Set(['DeleteTaskPushNotificationConfig', 'tasks/pushNotificationConfig/delete'])
export const isPushConfigMethod = (m: string) => CREATE.has(m) || GET.has(m) || LIST.has(m) || DELETE.has(m)

const SCHEME = /^[A-Za-z][A-Za-z0-9._~+-]{0,63}$/
/** Header-safe text: visible ASCII and spaces, no line breaks. */
const HEADER_TEXT = /^[\x20-\x7e]{1,4096}$/
const CONFIG_ID = /^[A-Za-z0-9._-]{1,64}$/

/** The config as sent back: never the credentials, only that there are some. */
function configJson(v: A2AVersion, c: PushConfigRecord) {
  const auth = c.authScheme ? { authentication: v === '1.0' ? { scheme: c.authScheme } : { schemes: [c.authScheme] } } : {}
  const body = { id: c.id, url: c.url, ...(c.token ? { token: c.token } : {}), ...auth }
  return v === '1.0' ? { taskId: c.taskId, ...body } : { taskId: c.taskId, pushNotificationConfig: body }
}

interface Input {
  taskId: string
  id?: string
  url?: unknown
  token?: unknown
  scheme?: unknown
  credentials?: unknown
}

/** The request's fields, from either generation's params. */
function read(method: string, params: Record<string, unknown>): Input {
  if (!method.startsWith('tasks/')) {
    const auth = isObject(params.authentication) ? params.authentication : {}
    return {
      taskId: String(params.taskId ?? ''),
      id: typeof params.id === 'string' ? params.id : undefined,
      url: params.url,
      token: params.token,
      scheme: auth.scheme,
      credentials: auth.credentials,
    }
  }
  const cfg = isObject(params.pushNotificationConfig) ? params.pushNotificationConfig : {}
  const auth = isObject(cfg.authentication) ? cfg.authentication : {}
  const id = typeof params.pushNotificationConfigId === 'string' ? params.pushNotificationConfigId : typeof cfg.id === 'string' ? cfg.id : undefined
  return {
    taskId: String(params.taskId ?? params.id ?? ''),
    id,
    url: cfg.url,
    token: cfg.token,
    scheme: Array.isArray(auth.schemes) ? auth.schemes[0] : auth.scheme,
    credentials: auth.credentials,
  }
}

export async function pushConfigMethod(
  method: string,
  params: unknown,
  v: A2AVersion,
  req: FastifyRequest,
  service: RoomService,
  store: Pick<Store, 'putPushConfig' | 'pushConfig' | 'pushConfigs' | 'deletePushConfig' | 'lastSeqs'>,
  allowPrivate: boolean,
  id: RpcId,
) {
  const bad = (why: string) => a2aError(id, RPC.INVALID_PARAMS, `Invalid params: ${why}`, v)
  if (!isObject(params)) return bad('params must be an object')
  const input = read(method, params)
  const task = await findTask(service, req, { id: input.taskId })
  if (!task) return a2aError(id, RPC.TASK_NOT_FOUND, 'Task not found', v)

  if (LIST.has(method)) {
    const configs = (await store.pushConfigs(task.id)).map((c) => configJson(v, c))
    return rpcResult(id, v === '1.0' ? { configs, nextPageToken: '' } : configs)
  }
  if (GET.has(method) || DELETE.has(method)) {
    if (!input.id) return bad('the config id is required')
    if (DELETE.has(method)) {
      if (!(await store.deletePushConfig(task.id, input.id))) return a2aError(id, RPC.TASK_NOT_FOUND, 'Push notification config not found', v)
      return rpcResult(id, v === '1.0' ? {} : null)
    }
    const c = await store.pushConfig(task.id, input.id)
    return c ? rpcResult(id, configJson(v, c)) : a2aError(id, RPC.TASK_NOT_FOUND, 'Push notification config not found', v)
  }

  // Create: checked like an agentEndpoint (public http(s) only), header values safe to send
  if (typeof input.url !== 'string' || !input.url) return bad('url is required')
  const problem = endpointProblem(input.url, allowPrivate)
  if (problem) return bad(`url ${problem}`)
  const configId = input.id ?? randomBytes(8).toString('hex')
  if (!CONFIG_ID.test(configId)) return bad('id must be 1–64 letters, digits, ".", "_" or "-"')
  if (input.token !== undefined && input.token !== '' && (typeof input.token !== 'string' || !HEADER_TEXT.test(input.token))) return bad('token must be printable ASCII, at most 4096 characters')
  const scheme = input.scheme === undefined || input.scheme === '' ? null : input.scheme
  if (scheme !== null && (typeof scheme !== 'string' || !SCHEME.test(scheme))) return bad('authentication.scheme must be an HTTP auth scheme such as Bearer')
  if (scheme !== null && input.credentials !== undefined && (typeof input.credentials !== 'string' || !HEADER_TEXT.test(input.credentials))) {
    return bad('authentication.credentials must be printable ASCII, at most 4096 characters')
  }
  const record = {
    taskId: task.id,
    id: configId,
    url: input.url,
    token: typeof input.token === 'string' && input.token ? input.token : null,
    authScheme: scheme,
    authCredentials: scheme !== null && typeof input.credentials === 'string' ? input.credentials : null,
  }
  const after = (await store.lastSeqs([task.roomId])).get(task.roomId) ?? task.cursor
  const put = await store.putPushConfig(record, after, MAX_CONFIGS_PER_TASK, new Date())
  if (put === 'gone') return a2aError(id, RPC.TASK_NOT_FOUND, 'Task not found (or no longer working)', v)
  if (put === 'full') return bad(`a task has at most ${MAX_CONFIGS_PER_TASK} push notification configs`)
  return rpcResult(id, configJson(v, { ...record, createdAt: new Date() }))
}
