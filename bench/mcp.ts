/**
 * MCP: tool-call throughput (sendMessage) on both revisions — 2025-11-25 sessions and 2026-07-28 stateless calls,
 * taking turns — notification latency (one room, 100 sessions with open GET streams) and wait-task wake-up
 * latency (2026-07-28 listen streams), against a server process of its own.
 * Usage: tsx bench/mcp.ts [--calls 5000] [--messages 100] [--rounds 200] [--only throughput] [--revision session|stateless]
 * (`--only throughput` skips notification and wake-up latency; `--revision` times one revision alone, e.g. to profile it.)
 */
import { Pool } from 'undici'
import { argValue } from './args.ts'
import { percentile, postgresCpuMs, startServer } from './server.ts'

const LEGACY = '2025-11-25'
const MODERN = '2026-07-28'
const TASKS = 'io.modelcontextprotocol/tasks'

const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': LEGACY,
}

/** What a 2026-07-28 request carries instead of a session: the method (and tool) in headers, the envelope in `_meta`. */
const modernHeaders = (method: string, name?: string) => ({
  ...HEADERS,
  'mcp-protocol-version': MODERN,
  'mcp-method': method,
  ...(name ? { 'mcp-name': name } : {}),
})
const envelope = (tasks = false) => ({
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': tasks ? { extensions: { [TASKS]: {} } } : {},
})

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

/** Hands each JSON-RPC message of an SSE body to `onMessage` until the stream ends or is aborted. */
async function readSse(body: NonNullable<Response['body']>, onMessage: (msg: any) => void) {
  let buf = ''
  try {
    for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
      buf += chunk
      let i: number
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const data = buf.slice(0, i).split('\n').find((l) => l.startsWith('data:') && l.slice(5).trim())
        buf = buf.slice(i + 2)
        if (data) onMessage(JSON.parse(data.slice(5)))
      }
    }
  } catch {
    // aborted at the end
  }
}

function client(url: string, connections: number) {
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 10_000 })
  const post = async (payload: string, headers: Record<string, string>) => {
    const res = await pool.request({ path: '/mcp', method: 'POST', headers, body: payload })
    const text = await res.body.text()
    return { status: res.statusCode, sessionId: res.headers['mcp-session-id'] as string | undefined, msg: response(text) }
  }
  const resultOf = (name: string, r: { msg: any }) => {
    const result = r.msg?.result
    if (!result || result.isError) throw new Error(`${name} failed: ${JSON.stringify(r.msg)}`)
    return result
  }
  const withSession = (sessionId?: string) => ({ ...HEADERS, ...(sessionId ? { 'mcp-session-id': sessionId } : {}) })
  const session = async () => {
    const init = await post(rpc('initialize', { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'bench', version: '1' } }), withSession())
    await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), withSession(init.sessionId))
    return init.sessionId!
  }
  const tool = async (sessionId: string, name: string, args: Record<string, unknown>) =>
    resultOf(name, await post(rpc('tools/call', { name, arguments: args }), withSession(sessionId)))
  /** A 2026-07-28 tools/call; `tasks` declares the Tasks extension. */
  const modernTool = async (name: string, args: Record<string, unknown>, tasks = false) =>
    resultOf(name, await post(rpc('tools/call', { name, arguments: args, _meta: envelope(tasks) }), modernHeaders('tools/call', name)))
  return { pool, session, tool, modernTool }
}

type Client = ReturnType<typeof client>
type Revision = 'session' | 'stateless'
/** Sends one message as agent `i`. */
type Sender = (i: number, text: string) => Promise<unknown>

/** `agents` 2025-11-25 sessions, each alone in its room. */
async function sessionSenders(c: Client, agents: number): Promise<Sender> {
  const ids = await Promise.all(Array.from({ length: agents }, () => c.session()))
  await Promise.all(ids.map((sid, i) => c.tool(sid, 'createRoom', { agentName: 'bench', name: `mcp-bench-${i}-${Date.now()}` })))
  return (i, text) => c.tool(ids[i], 'sendMessage', { text })
}

/** `agents` 2026-07-28 agents, each alone in its room: no session, the agentToken rides every call. */
async function statelessSenders(c: Client, agents: number): Promise<Sender> {
  const created = await Promise.all(
    Array.from({ length: agents }, (_, i) => c.modernTool('createRoom', { agentName: 'bench', name: `mcp-modern-${i}-${Date.now()}` })),
  )
  const tokens: string[] = created.map((r) => r.structuredContent.agentToken)
  return (i, text) => c.modernTool('sendMessage', { agentToken: tokens[i], text })
}

/**
 * sendMessage calls/s on each revision, `agents` agents each, CONCURRENCY requests in flight. After a warm-up of
 * each, the two take turns (session, stateless, stateless, session; calls/2 each), so the host's drift hits both.
 * `cpuMs` reads the server's CPU time, for its CPU per call; `dbCpuMs`, PostgreSQL's (when it runs on this machine).
 * The bench process's own CPU (the client) is reported too: the three share the machine.
 */
export async function throughput(
  url: string,
  agents: number,
  calls: number,
  concurrency: number,
  cpuMs: () => number,
  revision?: Revision,
  dbCpuMs: () => number = () => 0,
) {
  const c = client(url, concurrency)
  try {
    const senders = {
      session: revision === 'stateless' ? null : await sessionSenders(c, agents),
      stateless: revision === 'session' ? null : await statelessSenders(c, agents),
    }
    const seconds = { session: 0, stateless: 0 }
    const cpu = { session: 0, stateless: 0 }
    const dbCpu = { session: 0, stateless: 0 }
    const clientCpu = { session: 0, stateless: 0 }
    const ownMs = () => {
      const u = process.cpuUsage()
      return (u.user + u.system) / 1000
    }
    const burst = async (send: Sender, n: number) => {
      let next = 0
      const t0 = performance.now()
      await Promise.all(
        Array.from({ length: concurrency }, async (_, w) => {
          for (let i = next++; i < n; i = next++) await send((w + i) % agents, `message ${i}`)
        }),
      )
      return (performance.now() - t0) / 1000
    }
    for (const send of Object.values(senders)) if (send) await burst(send, Math.min(1000, calls))
    const half = Math.ceil(calls / 2)
    for (const rev of ['session', 'stateless', 'stateless', 'session'] as const) {
      const send = senders[rev]
      if (!send) continue
      const [cpu0, db0, own0] = [cpuMs(), dbCpuMs(), ownMs()]
      seconds[rev] += await burst(send, half)
      cpu[rev] += cpuMs() - cpu0
      dbCpu[rev] += dbCpuMs() - db0
      clientCpu[rev] += ownMs() - own0
    }
    const us = (ms: number) => Math.round((ms * 1000) / (2 * half))
    const rate = (rev: keyof typeof seconds) =>
      senders[rev] ? { perSec: Math.round((2 * half) / seconds[rev]), cpuUs: us(cpu[rev]), dbCpuUs: us(dbCpu[rev]), clientCpuUs: us(clientCpu[rev]) } : null
    return { session: rate('session'), stateless: rate('stateless') }
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
        void readSse(res.body!, (msg) => {
          const body: string | undefined = msg.params?.data?.body
          const n = body?.startsWith('lat ') ? Number(body.slice(4)) : NaN
          if (sentAt.has(n)) {
            samples.push(performance.now() - sentAt.get(n)!)
            received++
            notify()
          }
        })
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

/** A `subscriptions/listen` stream following one task, once acknowledged: `done` resolves at its notifications/tasks. */
async function listenTask(url: string, taskId: string, abort: AbortController) {
  const res = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: modernHeaders('subscriptions/listen'),
    body: rpc('subscriptions/listen', { notifications: { taskIds: [taskId] }, _meta: envelope() }),
    signal: abort.signal,
  })
  if (res.status !== 200) throw new Error(`listen ${res.status}: ${await res.text()}`)
  let acked!: (followed: boolean) => void
  let ended!: (e: { at: number; task: any }) => void
  const acknowledged = new Promise<boolean>((r) => (acked = r))
  const done = new Promise<{ at: number; task: any }>((r) => (ended = r))
  void readSse(res.body!, (msg) => {
    if (msg.method === 'notifications/subscriptions/acknowledged') acked(!!msg.params?.notifications?.taskIds?.includes(taskId))
    if (msg.method === 'notifications/tasks' && msg.params?.taskId === taskId) ended({ at: performance.now(), task: msg.params })
  })
  if (!(await acknowledged)) throw new Error(`listen did not follow task ${taskId}`)
  return { done }
}

/**
 * Wait-task wake-up (2026-07-28): `pairs` rooms in parallel, each with a waiter and a sender, `rounds` rounds
 * in all, one after another within a room. A round: the waiter starts `waitForMessages` as a task and follows it
 * on a listen stream; the sender sends; latency from the send's request start to the task's notifications/tasks.
 */
export async function wakeups(url: string, rounds: number, pairs: number) {
  const c = client(url, 2 * pairs)
  const samples: number[] = []
  const odd: string[] = []
  try {
    await Promise.all(
      Array.from({ length: pairs }, async (_, p) => {
        const room = await c.modernTool('createRoom', { agentName: 'sender', name: `mcp-wake-${p}-${Date.now()}` })
        const sender: string = room.structuredContent.agentToken
        const joined = await c.modernTool('joinRoom', { roomId: room.structuredContent.roomId, agentName: 'waiter' })
        const waiter: string = joined.structuredContent.agentToken
        for (let n = p; n < rounds; n += pairs) {
          const task = await c.modernTool('waitForMessages', { agentToken: waiter, timeout: 3600 }, true)
          if (task.resultType !== 'task' || task.status !== 'working') throw new Error(`no working task: ${JSON.stringify(task)}`)
          const abort = new AbortController()
          try {
            const { done } = await listenTask(url, task.taskId, abort)
            const t0 = performance.now()
            await c.modernTool('sendMessage', { agentToken: sender, text: `wake ${n}` })
            const end = await Promise.race([done, new Promise<null>((r) => setTimeout(() => r(null), 5000))])
            if (end === null) odd.push(`round ${n}: no notifications/tasks in 5 s`)
            else if (end.task.status !== 'completed' || !JSON.stringify(end.task.result).includes(`wake ${n}`)) odd.push(`round ${n}: ${JSON.stringify(end.task).slice(0, 300)}`)
            else samples.push(end.at - t0)
          } finally {
            abort.abort()
          }
        }
      }),
    )
    samples.sort((a, b) => a - b)
    return { p50: +percentile(samples, 50).toFixed(1), p99: +percentile(samples, 99).toFixed(1), completed: samples.length, odd }
  } finally {
    await c.pool.close()
  }
}

export async function run(
  opts: { databaseUrl?: string; calls?: number; sessions?: number; readers?: number; messages?: number; rounds?: number; only?: 'throughput'; revision?: Revision } = {},
) {
  // 164 sessions from one address stand for many clients: lift the per-address cap (100 by default).
  const srv = await startServer({ databaseUrl: opts.databaseUrl, env: { MAX_MCP_SESSIONS_PER_IP: '0' } })
  const b = srv.backend
  try {
    const sessions = opts.sessions ?? 64
    const dbCpuMs = srv.databaseUrl ? postgresCpuMs : undefined
    const { session, stateless } = await throughput(srv.url, sessions, opts.calls ?? 5000, 32, srv.cpuMs, opts.revision, dbCpuMs)
    const calls = (r: typeof session) =>
      r ? `${r.perSec} calls/s (CPU a call: server ${r.cpuUs} µs${dbCpuMs ? `, PostgreSQL ${r.dbCpuUs} µs` : ''}, client ${r.clientCpuUs} µs)` : 'not run'
    console.error(`[mcp ${b}] sendMessage, ${sessions} agents: ${LEGACY} sessions ${calls(session)}, ${MODERN} stateless ${calls(stateless)}`)
    const figures = {
      [`mcp sendMessage calls/s, ${sessions} sessions (${b})`]: session?.perSec ?? '-',
      [`mcp ${MODERN} stateless sendMessage calls/s, ${sessions} agents (${b})`]: stateless?.perSec ?? '-',
      [`mcp sendMessage server CPU µs a call, session / stateless (${b})`]: `${session?.cpuUs ?? '-'} / ${stateless?.cpuUs ?? '-'}`,
    }
    if (opts.only === 'throughput') return figures
    const readers = opts.readers ?? 100
    const lat = await latency(srv.url, readers, opts.messages ?? 100)
    console.error(`[mcp ${b}] notification latency with ${readers} sessions: p50 ${lat.p50} ms, p99 ${lat.p99} ms (${lat.delivered}/${lat.expected})`)
    const rounds = opts.rounds ?? 200
    const pairs = 4
    const wake = await wakeups(srv.url, rounds, pairs)
    console.error(`[mcp ${b}] task wake-up, ${pairs} rooms in parallel: p50 ${wake.p50} ms, p99 ${wake.p99} ms (${wake.completed}/${rounds})`)
    for (const o of wake.odd.slice(0, 5)) console.error(`[mcp ${b}] odd wake-up: ${o}`)
    return {
      ...figures,
      [`mcp notification p50 ms, ${readers} sessions (${b})`]: lat.p50,
      [`mcp notification p99 ms, ${readers} sessions (${b})`]: lat.p99,
      [`mcp notifications delivered (${b})`]: `${lat.delivered}/${lat.expected}`,
      [`mcp task wake-up p50 ms, ${pairs} rooms (${b})`]: wake.p50,
      [`mcp task wake-up p99 ms, ${pairs} rooms (${b})`]: wake.p99,
      [`mcp task wake-ups completed (${b})`]: `${wake.completed}/${rounds}`,
      [`server RSS MB after mcp (${b})`]: Math.round(srv.rssMb()),
    }
  } finally {
    await srv.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const num = (name: string) => (argValue(name) === undefined ? undefined : Number(argValue(name)))
  const only = argValue('only')
  const revision = argValue('revision')
  if (only !== undefined && only !== 'throughput') throw new Error('--only takes: throughput')
  if (revision !== undefined && revision !== 'session' && revision !== 'stateless') throw new Error('--revision takes: session, stateless')
  console.log(
    await run({ databaseUrl: process.env.DATABASE_URL || undefined, calls: num('calls'), messages: num('messages'), rounds: num('rounds'), only, revision }),
  )
}
