/** A2A wire shapes: protocol version, JSON-RPC errors, agent messages and incoming parts, in both generations. */
import { randomUUID } from 'node:crypto'
import type { ErrorCode } from '../../lib/errors.ts'
import { RPC, rpcError, type RpcCode, type RpcId } from '../../lib/net/jsonrpc.ts'

import type { A2AVersion } from '../../lib/a2a/task-shapes.ts'

export type { A2AVersion } from '../../lib/a2a/task-shapes.ts'

export function parseVersion(header: string | string[] | undefined): A2AVersion | null {
  const v = (Array.isArray(header) ? header[0] : header)?.trim()
  if (!v) return '0.3'
  if (/^0\.3(\.\d+)?$/.test(v)) return '0.3'
  if (/^1(\.0)?(\.\d+)?$/.test(v)) return '1.0'
  return null
}

const REASONS: Record<number, string> = {
  [RPC.PARSE]: 'PARSE_ERROR',
  [RPC.INVALID_REQUEST]: 'INVALID_REQUEST',
  [RPC.METHOD_NOT_FOUND]: 'METHOD_NOT_FOUND',
  [RPC.INVALID_PARAMS]: 'INVALID_PARAMS',
  [RPC.INTERNAL]: 'INTERNAL_ERROR',
  [RPC.VERSION_NOT_SUPPORTED]: 'VERSION_NOT_SUPPORTED',
  [RPC.TASK_NOT_FOUND]: 'TASK_NOT_FOUND',
  [RPC.TASK_NOT_CANCELABLE]: 'TASK_NOT_CANCELABLE',
  [RPC.PUSH_NOT_SUPPORTED]: 'PUSH_NOTIFICATION_NOT_SUPPORTED',
  [RPC.UNSUPPORTED_OPERATION]: 'UNSUPPORTED_OPERATION',
}

/** A JSON-RPC error in the client's generation: A2A 1.0 adds google.rpc-style error details. */
export function a2aError(id: RpcId, code: RpcCode, message: string, version: A2AVersion = '0.3') {
  const data = version === '1.0' ? [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: REASONS[code], domain: 'a2a-protocol.org' }] : undefined
  return rpcError(id, code, message, data)
}

/** An agent reply message: a text part and a data part, in the client's generation. */
export function agentMessage(version: A2AVersion, text: string, data: unknown, contextId?: string) {
  const messageId = randomUUID()
  const ctx = contextId ? { contextId } : {}
  if (version === '1.0') {
    return { message: { messageId, role: 'ROLE_AGENT', parts: [{ text }, { data }], ...ctx } }
  }
  return { kind: 'message', messageId, role: 'agent', parts: [{ kind: 'text', text }, { kind: 'data', data }], ...ctx }
}

export const errorMessage = (version: A2AVersion, code: ErrorCode, message: string, contextId?: string) =>
  agentMessage(version, `Error: ${message}`, { error: { code, message } }, contextId)

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Text and data parts of an incoming message, in either generation's shape. */
export function readParts(parts: unknown): { texts: string[]; data: Record<string, unknown> } {
  const texts: string[] = []
  const data: Record<string, unknown> = {}
  if (!Array.isArray(parts)) return { texts, data }
  for (const p of parts) {
    if (!isObject(p)) continue
    if (typeof p.text === 'string' && (p.kind === undefined || p.kind === 'text')) texts.push(p.text)
    else if (isObject(p.data) && (p.kind === undefined || p.kind === 'data')) copyFields(data, p.data)
  }
  return { texts, data }
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** Copies own fields, never prototype-bearing keys. */
export function copyFields(into: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(from)) if (!UNSAFE_KEYS.has(k)) into[k] = v
  return into
}
