/**
 * Real-time fan-out: one room, N SSE subscribers (distinct agents), a sender posting R msg/s for S seconds.
 * Latency = time from just before each send to the arrival of its event on each stream; lost = events a
 * stream never got. Servers run in their own processes (bench/server.ts); on PostgreSQL also with the
 * subscribers split across two instances on one database.
 *   npx tsx bench/fanout.ts            (DATABASE_URL set → PostgreSQL cases too)
 */
import http from 'node:http'
import postgres from 'postgres'
import { call } from '../test/spawn.ts'
import { percentile, startServer, type BenchServer } from './server.ts'

type Summary = Record<string, number | string>

interface Options {
  databaseUrl?: string
  subscribers?: number
  rate?: number
  seconds?: number
}

/** One A2A action; throws on an error reply. */
async function a2a(url: string, { action, ...metadata }: Record<string, unknown>, extra: { contextId?: string; text?: string } = {}) {
  const r = await call(url, action as string, metadata, extra)
  if (r.text.startsWith('Error')) throw new Error(r.text)
  return r.data
}

interface Sub {
  got: Set<number>
  latencies: number[]
  req: http.ClientRequest
}

/** Opens one SSE stream; records, per message body `t<ms>`, the latency since that time. */
function subscribe(url: string, latencies: number[]): Promise<Sub> {
  return new Promise((resolve, reject) => {
    const sub: Sub = { got: new Set(), latencies, req: null as never }
    sub.req = http.get(url, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`SSE ${res.statusCode}`))
      res.setEncoding('utf8')
      let buf = ''
      res.on('data', (chunk: string) => {
        const now = performance.now()
        buf += chunk
        let i: number
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          const data = block.split('\n').find((l) => l.startsWith('data: '))
          if (!data || block.startsWith('event:')) continue
          const m = JSON.parse(data.slice(6))
          if (typeof m.body === 'string' && m.body.startsWith('t')) {
            const n = Number(m.body.slice(1).split(':')[0])
            sub.got.add(n)
            latencies.push(now - Number(m.body.split(':')[1]))
          }
        }
      })
      resolve(sub)
    })
    sub.req.on('error', reject)
  })
}

/** One scenario: subscribers spread over `servers`, sends through the first. */
export async function scenario(servers: BenchServer[], o: Required<Omit<Options, 'databaseUrl'>>): Promise<Summary> {
  const [first] = servers
  console.error(`fanout: ${servers.length} server(s) up`)
  const room = await a2a(first.url, { action: 'room.create', agentName: 'sender' }, { text: `fanout-${Date.now()}` })
  const tokens: string[] = []
  for (let i = 0; i < o.subscribers; i++) {
    const j = await a2a(first.url, { action: 'room.join', agentName: `sub${i}` }, { contextId: room.roomId })
    tokens.push(j.agentToken)
  }
  console.error(`fanout: ${o.subscribers} agents joined, opening streams`)
  const latencies: number[] = []
  const subs = await Promise.all(
    tokens.map((tok, i) => subscribe(`${servers[i % servers.length].url}/api/messages/${room.roomId}/sse?agentToken=${tok}`, latencies)),
  )
  console.error(`fanout: streams open; sending ${o.rate} msg/s for ${o.seconds} s`)
  const total = o.rate * o.seconds
  let sent = 0
  let failed = 0
  let firstError = ''
  const inflight = new Set<Promise<unknown>>()
  const t0 = performance.now()
  // A fixed schedule: message k leaves at t0 + k / rate, whatever the previous one did.
  await new Promise<void>((done) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * o.rate) / 1000) + 1)
      while (sent < due) {
        const k = sent++
        const p = a2a(first.url, { action: 'message.send', agentToken: room.agentToken }, { contextId: room.roomId, text: `t${k}:${performance.now()}` })
          .catch((e) => {
            failed++
            firstError ||= String((e as Error).message ?? e).slice(0, 120)
          })
          .finally(() => inflight.delete(p))
        inflight.add(p)
      }
      if (sent >= total) done()
      else setTimeout(tick, Math.max(1, 1000 / o.rate / 2))
    }
    tick()
  })
  await Promise.all(inflight)
  // Drain: wait until every stream has everything, or give up after 10 s (then it counts as lost).
  const expected = total - failed
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline && subs.some((s) => s.got.size < expected)) await new Promise((r) => setTimeout(r, 50))
  const lost = subs.reduce((n, s) => n + (expected - s.got.size), 0)
  for (const s of subs) s.req.destroy()
  latencies.sort((a, b) => a - b)
  return {
    subscribers: o.subscribers,
    instances: servers.length,
    sent: total,
    send_errors: failed,
    ...(firstError ? { first_error: firstError } : {}),
    delivered: latencies.length,
    lost,
    p50_ms: Number(percentile(latencies, 50).toFixed(1)),
    p99_ms: Number(percentile(latencies, 99).toFixed(1)),
    max_ms: Number((latencies.at(-1) ?? NaN).toFixed(1)),
    rss_mb: Math.round(servers.reduce((n, s) => n + s.rssMb(), 0)),
  }
}

const ENV = { RATE_LIMIT_MAX: '0' }

export async function run(opts: Options = {}): Promise<Summary> {
  const o = { subscribers: opts.subscribers ?? 200, rate: opts.rate ?? 100, seconds: opts.seconds ?? 30 }
  const out: Summary = {}
  const put = (prefix: string, s: Summary) => {
    for (const [k, v] of Object.entries(s)) out[`${prefix}_${k}`] = v
  }
  if (!opts.databaseUrl) {
    const srv = await startServer({ env: ENV })
    try {
      put('embedded', await scenario([srv], o))
    } finally {
      await srv.stop()
    }
    return out
  }
  // PostgreSQL: one instance, then two instances on one fresh database with the subscribers split.
  const one = await startServer({ databaseUrl: opts.databaseUrl, env: ENV })
  try {
    put('postgres', await scenario([one], o))
  } finally {
    await one.stop()
  }
  const name = `convene_fanout_${Date.now()}`
  const admin = postgres(opts.databaseUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`CREATE DATABASE ${name}`)
  const u = new URL(opts.databaseUrl)
  u.pathname = `/${name}`
  const servers: BenchServer[] = []
  try {
    servers.push(await startServer({ env: { ...ENV, DATABASE_URL: u.toString() } }))
    servers.push(await startServer({ env: { ...ENV, DATABASE_URL: u.toString() } }))
    put('postgres_split2', await scenario(servers, o))
  } finally {
    for (const s of servers) await s.stop()
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seconds = Number(process.env.FANOUT_SECONDS ?? 30)
  const results = { ...(await run({ seconds })), ...(process.env.DATABASE_URL ? await run({ databaseUrl: process.env.DATABASE_URL, seconds }) : {}) }
  console.table(Object.entries(results).map(([metric, value]) => ({ metric, value })))
}
