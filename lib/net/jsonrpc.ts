/** JSON-RPC 2.0 vocabulary shared by A2A, MCP, push and the HTTP plugins: error codes, requests, errors, results. */

export const RPC = {
  PARSE: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL: -32603,
  /** Implementation-defined server errors (-32000 to -32099). */
  SERVER_ERROR: -32000,
  /** MCP: the Mcp-Session-Id names no live session. */
  SESSION_NOT_FOUND: -32001,
  /** A2A: no such task (or not the caller's). */
  TASK_NOT_FOUND: -32001,
  /** A2A: the task has already ended. */
  TASK_NOT_CANCELABLE: -32002,
  /** A2A: push notification configs are not offered. */
  PUSH_NOT_SUPPORTED: -32003,
  /** A2A: the operation is not supported (e.g. streaming in a batch). */
  UNSUPPORTED_OPERATION: -32004,
  /** A2A: the A2A-Version header names a version this server does not speak. */
  VERSION_NOT_SUPPORTED: -32009,
} as const

export type RpcCode = (typeof RPC)[keyof typeof RPC]
export type RpcId = string | number | null

export interface RpcError {
  jsonrpc: '2.0'
  id: RpcId
  error: { code: number; message: string; data?: unknown }
}

export function rpcError(id: RpcId, code: RpcCode, message: string, data?: unknown): RpcError {
  const error: RpcError['error'] = { code, message }
  if (data !== undefined) error.data = data
  return { jsonrpc: '2.0', id, error }
}

export const rpcResult = <T>(id: RpcId, result: T) => ({ jsonrpc: '2.0' as const, id, result })

export const rpcRequest = <P>(id: RpcId, method: string, params: P) => ({ jsonrpc: '2.0' as const, id, method, params })

/** The id of a request, as far as it has a usable one (null otherwise). */
export function rpcIdOf(body: unknown): RpcId {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null
  const id = (body as { id?: unknown }).id
  return typeof id === 'string' || typeof id === 'number' ? id : null
}
