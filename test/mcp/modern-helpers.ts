// The v2 SDK client (MCP 2026-07-28) against a test server: stateless calls, listen streams, raw JSON-RPC.
import type { TestContext } from 'node:test'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { createTaskSessionFromClient } from '@modelcontextprotocol/ext-tasks/client'

export const MODERN = '2026-07-28'
export const TASKS = 'io.modelcontextprotocol/tasks'

export interface ModernClient {
  client: Client
  /** Calls a tool; the JSON the text block carries is parsed into `json`. */
  call(name: string, args?: Record<string, unknown>): Promise<{ isError?: boolean; text: string; json: any; structuredContent?: any }>
  close(): Promise<void>
}

/** A v2 client that negotiates (server/discover) against `${url}/mcp`; `bearer` goes in the Authorization header. */
export async function connectModern(t: TestContext | null, url: string, opts: { bearer?: string } = {}): Promise<ModernClient> {
  const headers: Record<string, string> = opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {}
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } })
  const client = new Client({ name: 'convene-test-v2', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } })
  client.onerror = () => {}
  await client.connect(transport)
  const close = () => client.close().catch(() => {})
  t?.after(close)
  return {
    client,
    close,
    async call(name, args = {}) {
      const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: any }
      const text = r.content.map((c) => c.text ?? '').join('\n')
      const first = r.content[0]?.text ?? ''
      const nl = first.indexOf('\n')
      let json: any = null
      if (nl >= 0) json = JSON.parse(first.slice(nl + 1))
      return { isError: r.isError, text, json, structuredContent: r.structuredContent }
    },
  }
}

let ids = 0

/** Posts one JSON-RPC message with the 2026-07-28 headers (Mcp-Method, and Mcp-Name naming the tool, task or resource). */
async function post(url: string, message: { method: string; params?: Record<string, unknown> }, version: string, bearer?: string) {
  const params = message.params ?? {}
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': version,
    'mcp-method': message.method,
  }
  const name = params.name ?? params.taskId ?? params.uri
  if (typeof name === 'string') headers['mcp-name'] = name
  if (bearer) headers.authorization = `Bearer ${bearer}`
  const res = await fetch(`${url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: ++ids, ...message }) })
  const text = await res.text()
  const body = res.headers.get('content-type')?.includes('text/event-stream') ? JSON.parse(/data: (.*)\n/.exec(text)![1]) : JSON.parse(text)
  return { status: res.status, body }
}

/** One raw 2026-07-28 JSON-RPC request (the per-request envelope included); resolves with the parsed body. */
export function modernRpc(
  url: string,
  method: string,
  params: Record<string, unknown> = {},
  opts: { bearer?: string; tasks?: boolean; version?: string } = {},
): Promise<{ status: number; body: any }> {
  const version = opts.version ?? MODERN
  const _meta = {
    'io.modelcontextprotocol/protocolVersion': version,
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': opts.tasks ? { extensions: { [TASKS]: {} } } : {},
  }
  return post(url, { method, params: { ...params, _meta } }, version, opts.bearer)
}

/**
 * A Tasks-extension session (the official requester, @modelcontextprotocol/ext-tasks) over a v2 client. The SDK
 * client refuses task results, so the extension sends its requests through this raw dispatcher, as hosts do.
 */
export function taskSession(url: string, client: Client) {
  return createTaskSessionFromClient(client, {
    endpointId: url,
    rawDispatch: async (request) => {
      const { body } = await post(url, request as { method: string; params?: Record<string, unknown> }, MODERN)
      return 'error' in body ? { kind: 'error', error: body.error } : { kind: 'result', result: body.result }
    },
    v2RequestFraming: { protocolVersion: MODERN, clientInfo: { name: 'convene-test-tasks', version: '1' }, clientCapabilities: {} },
  })
}
