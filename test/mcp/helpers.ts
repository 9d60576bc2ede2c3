import type { TestContext } from 'node:test'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { LoggingMessageNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js'

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
