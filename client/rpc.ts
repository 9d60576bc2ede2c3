/** One A2A action over fetch (`SendMessage` to /a2a), and the client's typed error. */
import type { ConveneErrorCode } from './types.ts'

/** An error with the server's code (`INVALID_TOKEN`, `ROOM_NOT_FOUND`, …) or one of the client's own. */
export class ConveneError extends Error {
  readonly code: ConveneErrorCode
  /** HTTP status, when the server answered with one that is not 200. */
  readonly status?: number
  /** Seconds the server asked to wait before trying again (429, 503). */
  readonly retryAfter?: number
  constructor(code: ConveneErrorCode, message: string, extra: { status?: number; retryAfter?: number; cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause })
    this.name = 'ConveneError'
    this.code = code
    this.status = extra.status
    this.retryAfter = extra.retryAfter
  }
}

/** An action's reply: the human text, the data part and the room it concerns. */
export interface Reply {
  text: string
  data: Record<string, unknown>
  roomId?: string
}

export interface Transport {
  server: string
  fetch: typeof fetch
  headers: Record<string, string>
}

let nextId = 1

/** Why a fetch failed, in a few words (`connection refused`), from the error or its cause. */
export function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause
  const code = cause?.code ?? (err as { code?: string })?.code
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'unknown host'
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset'
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timed out'
  return cause?.message ?? (err as Error)?.message ?? String(err)
}

const retryAfterOf = (res: Response) => {
  const v = Number(res.headers.get('retry-after'))
  return Number.isFinite(v) && v > 0 ? v : undefined
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Calls one action with all its parameters in `metadata`; resolves to the reply, throws ConveneError. */
export async function callAction(t: Transport, action: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<Reply> {
  const body = {
    jsonrpc: '2.0',
    id: nextId++,
    method: 'SendMessage',
    params: { message: { role: 'ROLE_USER', messageId: crypto.randomUUID(), parts: [{ text: '' }], metadata: { ...params, action } } },
  }
  let res: Response
  try {
    res = await t.fetch(`${t.server}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...t.headers },
      body: JSON.stringify(body),
      signal,
    })
  } catch (err) {
    if (signal?.aborted) throw err
    throw new ConveneError('NETWORK_ERROR', `cannot reach ${t.server}: ${networkReason(err)}`, { cause: err })
  }
  const status = res.status
  const retryAfter = retryAfterOf(res)
  let reply: unknown
  try {
    reply = await res.json()
  } catch {
    throw new ConveneError('HTTP_ERROR', `${t.server}/a2a answered HTTP ${status} without JSON (is it a Convene server?)`, { status })
  }
  if (!isObject(reply)) throw new ConveneError('PROTOCOL_ERROR', 'the server sent no JSON-RPC reply', { status })
  if (isObject(reply.error)) {
    const message = String(reply.error.message ?? 'JSON-RPC error').replace(/^Error: /, '')
    const code = status === 429 ? 'RATE_LIMITED' : status === 503 ? 'UNAVAILABLE' : 'PROTOCOL_ERROR'
    throw new ConveneError(code, message, { status, retryAfter })
  }
  const result = isObject(reply.result) ? reply.result : {}
  const message = isObject(result.message) ? result.message : result
  const parts = Array.isArray(message.parts) ? message.parts.filter(isObject) : []
  const text = String(parts.find((p) => typeof p.text === 'string')?.text ?? '')
  const data = parts.find((p) => isObject(p.data))?.data as Record<string, unknown> | undefined
  if (isObject(data?.error)) {
    const e = data.error as { code?: string; message?: string }
    throw new ConveneError((e.code ?? 'PROTOCOL_ERROR') as ConveneErrorCode, e.message ?? text.replace(/^Error: /, ''), {
      status: status === 200 ? undefined : status,
      retryAfter,
    })
  }
  return { text, data: data ?? {}, roomId: typeof message.contextId === 'string' ? message.contextId : undefined }
}
