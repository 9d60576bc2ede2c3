import type { TestContext } from 'node:test'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { LoggingMessageNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { Agent, setGlobalDispatcher } from 'undici'

// Idle client connections would hold app.close() for undici's default 4 s keep-alive.
setGlobalDispatcher(new Agent({ keepAliveTimeout: 50, keepAliveMaxTimeout: 50 }))

export interface McpClient {
  client: Client
  transport: StreamableHTTPClientTransport
  /** Room notifications received so far (params.data), in order. */
  notes: { logger?: string; data: any }[]
  /** Resolves with the next notification matching `pred` (already received ones count). */
  nextNote(pred?: (n: { logger?: string; data: any }) => boolean, timeoutMs?: number): Promise<{ logger?: string; data: any }>
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult & { json: any; structuredContent?: any }>
  close(): Promise<void>
}

/** A real SDK client connected to `${url}/mcp`, closed after the test. */
export async function connect(
  t: TestContext | null,
  url: string,
  opts: { sessionId?: string; fetch?: typeof fetch } = {},
): Promise<McpClient> {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    sessionId: opts.sessionId,
    fetch: opts.fetch,
    reconnectionOptions: { initialReconnectionDelay: 50, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1.5, maxRetries: 40 },
  })
  const client = new Client({ name: 'convene-test', version: '1.0.0' })
  const notes: McpClient['notes'] = []
  const waiters = new Set<() => void>()
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    notes.push({ logger: n.params.logger, data: n.params.data })
    for (const w of [...waiters]) w()
  })
  client.onerror = () => {}
  if (opts.sessionId) {
    // Reusing a session id: no initialize, as a client that survived a server restart would.
    await client.connect(transport)
  } else {
    await client.connect(transport)
  }
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await client.close().catch(() => {})
  }
  t?.after(close)
  let seen = 0
  return {
    client,
    transport,
    notes,
    close,
    nextNote(pred = () => true, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          while (seen < notes.length) {
            const n = notes[seen++]
            if (pred(n)) {
              waiters.delete(check)
              clearTimeout(timer)
              resolve(n)
              return
            }
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error('no notification in time'))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    async call(name, args = {}) {
      const r = (await client.callTool({ name, arguments: args })) as CallToolResult
      const first = (r.content[0] as { text: string }).text
      const nl = first.indexOf('\n')
      return { ...r, json: nl >= 0 ? JSON.parse(first.slice(nl + 1)) : null }
    },
  }
}

export const text = (r: CallToolResult, i = 0): string => (r.content[i] as { text: string }).text

export const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
}

/** Parses an SSE body into events. */
export function parseSse(body: string): { id?: string; event?: string; data: string }[] {
  return body
    .split('\n\n')
    .filter((b) => b.trim() && !b.startsWith(':'))
    .map((block) => {
      const e: { id?: string; event?: string; data: string } = { data: '' }
      for (const line of block.split('\n')) {
        const i = line.indexOf(':')
        const field = line.slice(0, i)
        const value = line.slice(i + 1).replace(/^ /, '')
        if (field === 'id') e.id = value
        else if (field === 'event') e.event = value
        else if (field === 'data') e.data += value
      }
      return e
    })
}

let rpcId = 1
/** One JSON-RPC message over plain fetch; returns the response and, for SSE bodies, the JSON-RPC messages. */
export async function post(url: string, message: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(message) })
  const body = await res.text()
  const type = res.headers.get('content-type') ?? ''
  const events = type.includes('text/event-stream') ? parseSse(body) : []
  const messages = type.includes('text/event-stream')
    ? events.filter((e) => e.data.trim()).map((e) => JSON.parse(e.data))
    : body
      ? [JSON.parse(body)]
      : []
  return { res, body, events, messages, sessionId: res.headers.get('mcp-session-id') }
}

export const request = (method: string, params: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id: rpcId++, method, params })

/** Initialises a session over plain fetch and returns its id. */
export async function rawSession(url: string): Promise<string> {
  const init = await post(
    url,
    request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }),
  )
  const id = init.sessionId!
  await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': id })
  return id
}

export async function rawTool(url: string, sessionId: string, name: string, args: Record<string, unknown> = {}) {
  const r = await post(url, request('tools/call', { name, arguments: args }), { 'mcp-session-id': sessionId })
  const result = r.messages.find((m) => 'result' in m || 'error' in m)
  return { ...r, result: result?.result, error: result?.error }
}

/** Reads an SSE response body event by event. */
export function sseReader(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  const queue: { id?: string; event?: string; data: string }[] = []
  return {
    async next(timeoutMs = 5000): Promise<{ id?: string; event?: string; data: string }> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        if (queue.length) return queue.shift()!
        const i = buf.indexOf('\n\n')
        if (i >= 0) {
          const block = buf.slice(0, i + 2)
          buf = buf.slice(i + 2)
          queue.push(...parseSse(block))
          continue
        }
        const left = deadline - Date.now()
        if (left <= 0) throw new Error('no SSE event in time')
        let timer!: NodeJS.Timeout
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error('no SSE event in time')), left))),
        ]).finally(() => clearTimeout(timer))
        if (chunk.done) throw new Error('stream ended')
        buf += chunk.value
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  }
}

/** Two sessions on a fresh app: alice creates a room, bob joins it. */
export async function aliceAndBob(t: TestContext, url: string) {
  const a = await connect(t, url)
  const b = await connect(t, url)
  const name = `room-${Math.random().toString(36).slice(2, 10)}`
  const { json: room } = await a.call('createRoom', { agentName: 'alice', name })
  await b.call('joinRoom', { roomId: name, agentName: 'bob' })
  return { a, b, name, room }
}
