/**
 * MCP: tool-call throughput (sendMessage, many sessions) and notification latency (one room, 100 sessions
 * with open GET streams), against a server process of its own. Usage: tsx bench/mcp.ts [--calls 5000]
 */
import { Pool } from 'undici'
import { percentile, startServer } from './server.ts'

const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
}

let nextId = 1
const rpc = (method: string, params: Record<string, unknown>) => JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params })

/** The JSON-RPC response in an SSE or JSON body. */
function response(body: string): any {
  for (const line of body.split('\n')) {
    if (!line.startsWith('data:') || !line.slice(5).trim()) continue
    const msg = JSON.parse(line.slice(5))
    if ('result' in msg || 'error' in msg) return msg
  }
  return body.trim().startsWith('{') ? JSON.parse(body) : null
}

function client(url: string, connections: number) {
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 10_000 })
  const post = async (payload: string, sessionId?: string) => {
    const res = await pool.request({
      path: '/mcp',
      method: 'POST',
      headers: { ...HEADERS, ...(sessionId ? { 'mcp-session-id': sessionId } : {}) },
      body: payload,
    })
    const text = await res.body.text()
    return { status: res.statusCode, sessionId: res.headers['mcp-session-id'] as string | undefined, msg: response(text) }
  }
  const session = async () => {
    const init = await post(rpc('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } }))
    await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), init.sessionId)
    return init.sessionId!
  }
  const tool = async (sessionId: string, name: string, args: Record<string, unknown>) => {
    const r = await post(rpc('tools/call', { name, arguments: args }), sessionId)
    const result = r.msg?.result
    if (!result || result.isError) throw new Error(`${name} failed: ${JSON.stringify(r.msg)}`)
    return result
  }
  return { pool, session, tool }
}

/** sendMessage through many sessions (one agent per room), CONCURRENCY requests in flight. */
export async function throughput(url: string, sessions: number, calls: number, concurrency: number) {
  const c = client(url, concurrency)
  try {
    const ids = await Promise.all(Array.from({ length: sessions }, () => c.session()))
    await Promise.all(ids.map((sid, i) => c.tool(sid, 'createRoom', { agentName: 'bench', name: `mcp-bench-${i}-${Date.now()}` })))
    const burst = async (n: number) => {
      let next = 0
      const t0 = performance.now()
      await Promise.all(
        Array.from({ length: concurrency }, async (_, w) => {
          for (let i = next++; i < n; i = next++) await c.tool(ids[(w + i) % sessions], 'sendMessage', { text: `message ${i}` })
        }),
      )
      return n / ((performance.now() - t0) / 1000)
    }
    await burst(Math.min(1000, calls)) // warm-up
    return Math.round(await burst(calls))
  } finally {
    await c.pool.close()
  }
}

/** One room, `readers` sessions with open GET streams; latency from just before each send to each receipt. */
export async function latency(url: string, readers: number, messages: number) {
  const c = client(url, 16)
  const streams: AbortController[] = []
  try {
    const sender = await c.session()
    const name = `mcp-latency-${Date.now()}`
    await c.tool(sender, 'createRoom', { agentName: 'sender', name })
    const samples: number[] = []
    const sentAt = new Map<number, number>()
    let received = 0
    let notify = () => {}
    const ids = await Promise.all(Array.from({ length: readers }, () => c.session()))
    for (const [i, sid] of ids.entries()) await c.tool(sid, 'joinRoom', { roomId: name, agentName: `reader-${i}` })
    await Promise.all(
      ids.map(async (sid) => {
        const abort = new AbortController()
        streams.push(abort)
        const res = await fetch(`${url}/mcp`, { headers: { ...HEADERS, 'mcp-session-id': sid }, signal: abort.signal })
        if (res.status !== 200) throw new Error(`GET stream ${res.status}`)
        void (async () => {
          let buf = ''
          try {
            for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
              buf += chunk
              let i: number
              while ((i = buf.indexOf('\n\n')) >= 0) {
                const block = buf.slice(0, i)
                buf = buf.slice(i + 2)
                const data = block.split('\n').find((l) => l.startsWith('data:') && l.slice(5).trim())
                const body: string | undefined = data ? JSON.parse(data.slice(5)).params?.data?.body : undefined
                const n = body?.startsWith('lat ') ? Number(body.slice(4)) : NaN
                if (sentAt.has(n)) {
                  samples.push(performance.now() - sentAt.get(n)!)
                  received++
                  notify()
                }
              }
            }
          } catch {
            // aborted at the end
          }
        })()
      }),
    )
    for (let n = 0; n < messages; n++) {
      const all = new Promise<void>((resolve) => {
        const target = (n + 1) * readers
        notify = () => received >= target && resolve()
      })
      sentAt.set(n, performance.now())
      await c.tool(sender, 'sendMessage', { text: `lat ${n}` })
      await Promise.race([all, new Promise((r) => setTimeout(r, 5000))])
    }
    samples.sort((a, b) => a - b)
    return { p50: +percentile(samples, 50).toFixed(1), p99: +percentile(samples, 99).toFixed(1), delivered: samples.length, expected: readers * messages }
  } finally {
    for (const a of streams) a.abort()
    await c.pool.close()
  }
}

export async function run(opts: { databaseUrl?: string; calls?: number; sessions?: number; readers?: number; messages?: number } = {}) {
  // 164 sessions from one address stand for many clients: lift the per-address cap (100 by default).
  const srv = await startServer({ databaseUrl: opts.databaseUrl, env: { MAX_MCP_SESSIONS_PER_IP: '0' } })
  try {
    const sessions = opts.sessions ?? 64
    const perSec = await throughput(srv.url, sessions, opts.calls ?? 5000, 32)
    console.error(`[mcp ${srv.backend}] sendMessage via MCP: ${perSec} calls/s (${sessions} sessions)`)
    const readers = opts.readers ?? 100
    const lat = await latency(srv.url, readers, opts.messages ?? 100)
    console.error(`[mcp ${srv.backend}] notification latency with ${readers} sessions: p50 ${lat.p50} ms, p99 ${lat.p99} ms (${lat.delivered}/${lat.expected})`)
    const b = srv.backend
    return {
      [`mcp sendMessage calls/s, ${sessions} sessions (${b})`]: perSec,
      [`mcp notification p50 ms, ${readers} sessions (${b})`]: lat.p50,
      [`mcp notification p99 ms, ${readers} sessions (${b})`]: lat.p99,
      [`mcp notifications delivered (${b})`]: `${lat.delivered}/${lat.expected}`,
      [`server RSS MB after mcp (${b})`]: Math.round(srv.rssMb()),
    }
  } finally {
    await srv.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`)
    return i >= 0 ? Number(process.argv[i + 1]) : undefined
  }
  console.log(await run({ databaseUrl: process.env.DATABASE_URL || undefined, calls: arg('calls'), messages: arg('messages') }))
}
