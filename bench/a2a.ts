/**
 * A2A message.send throughput as the store grows from 0 to TOTAL messages, and message.history latency
 * at each step, against a server process of its own; then the grown store and a fresh one take turns, which
 * measures the store's size apart from the VM's drift over a run. --fill N first puts N messages into the store
 * with the server stopped (bench/store-fill.ts), so a large store takes minutes, not hours.
 * --agents 2 puts two agents in each room, each sending half the room's messages: then almost every send finds the
 * other's messages unread and returns them (real rooms' traffic), where with one agent every sender is caught up.
 * Usage: tsx bench/a2a.ts [--total 100000] [--steps 10] [--fill 0] [--agents 1]
 */
import os from 'node:os'
import postgres from 'postgres'
import { Pool } from 'undici'
import { argValue } from './args.ts'
import { type BenchServer, percentile, postgresCpuMs, startServer } from './server.ts'
import { fillStore } from './store-fill.ts'

const ROOMS = 16
const CONCURRENCY = 32
/** Sends before the first step (JIT, connection pools, plan caches), counted in the store size. */
const WARM_UP = 2000
/** Sends per turn when the grown store and a fresh one take turns. */
const AB_SENDS = 5000

function body(action: string, metadata: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'SendMessage',
    params: { message: { role: 'user', parts: [{ text: (extra.text as string) ?? '' }], metadata: { action, ...metadata }, ...extra } },
  })
}

type Room = { roomId: string; tokens: string[] }

/** A server under test: 16 rooms with `agents` agents each (or the given rooms), warmed up; `sends(n)` posts n messages from 32 workers. */
async function target(srv: BenchServer, agents: number, existing?: Room[]) {
  const pool = new Pool(srv.url, { connections: CONCURRENCY, pipelining: 1 })
  const call = async (payload: string) => {
    const res = await pool.request({ path: '/a2a', method: 'POST', headers: { 'content-type': 'application/json' }, body: payload })
    const json = (await res.body.json()) as any
    const r = json.result
    if (!r || r.parts[0].text.startsWith('Error')) throw new Error(JSON.stringify(json))
    return r
  }
  const rooms = existing ?? []
  for (let i = 0; i < (existing ? 0 : ROOMS); i++) {
    const r = await call(body('room.create', { agentName: 'bench' }, { text: `bench-${i}-${Date.now()}` }))
    const room = { roomId: r.contextId, tokens: [r.parts[1].data.agentToken] }
    for (let j = 2; j <= agents; j++) room.tokens.push((await call(body('room.join', { agentName: `bench${j}` }, { contextId: room.roomId }))).parts[1].data.agentToken)
    rooms.push(room)
  }
  await Promise.all(rooms.map(async (room) => {
    for (let i = 0; i < Math.ceil(WARM_UP / ROOMS); i++) await call(body('message.send', { agentToken: room.tokens[i % room.tokens.length] }, { text: 'warm-up', contextId: room.roomId }))
  }))
  /** Sends/s over n sends: CONCURRENCY workers, each bound to one agent of one room (one agent per room: no missed-message payloads). */
  const sends = async (n: number) => {
    let next = 0
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, w) => {
        const room = rooms[w % ROOMS]
        const token = room.tokens[Math.floor(w / ROOMS) % room.tokens.length]
        while (next++ < n) {
          await call(body('message.send', { agentToken: token }, { text: `message ${next} from worker ${w}`, contextId: room.roomId }))
        }
      }),
    )
    return n / ((performance.now() - t0) / 1000)
  }
  return { call, rooms, sends, stored: ROOMS * ((existing ? 0 : agents) + Math.ceil(WARM_UP / ROOMS)), close: () => pool.close() }
}

export async function run(opts: { databaseUrl?: string; total?: number; steps?: number; fill?: number; agents?: number } = {}) {
  const total = opts.total ?? 100_000
  const steps = opts.steps ?? 10
  const agents = opts.agents ?? 1
  const srv = await startServer({ databaseUrl: opts.databaseUrl })
  let fresh: BenchServer | undefined
  try {
    let grown = await target(srv, agents)
    let filled = 0
    if (opts.fill) {
      const t0 = performance.now()
      await grown.close()
      await srv.restart((store) => fillStore(store, grown.rooms.map((r) => r.roomId), opts.fill!))
      console.error(`[a2a ${srv.backend}] filled ${opts.fill} messages in ${((performance.now() - t0) / 1000).toFixed(0)} s`)
      filled = grown.stored + opts.fill
      grown = await target(srv, agents, grown.rooms)
    }
    const { call, rooms } = grown
    const rows: { stored: number; sendsPerSec: number; serverCpuUs: number; dbCpuUs?: number; historyP50: number; historyP99: number }[] = []
    let stored = filled + grown.stored
    const perStep = Math.floor(total / steps)
    for (let step = 0; step < steps; step++) {
      // history latency at this size
      const lat: number[] = []
      const probe = rooms[0]
      for (let i = 0; i < 200; i++) {
        const t0 = performance.now()
        await call(body('message.history', { agentToken: probe.tokens[0], limit: 20 }, { contextId: probe.roomId }))
        lat.push(performance.now() - t0)
      }
      lat.sort((a, b) => a - b)
      const cpu0 = srv.cpuMs()
      const db0 = srv.databaseUrl ? postgresCpuMs() : 0
      const rate = await grown.sends(perStep)
      // CPU per send shows what growth costs without the VM's step-to-step noise in wall-clock rates.
      const serverCpuUs = Math.round(((srv.cpuMs() - cpu0) * 1000) / perStep)
      const dbCpuUs = srv.databaseUrl ? Math.round(((postgresCpuMs() - db0) * 1000) / perStep) : undefined
      rows.push({ stored, sendsPerSec: Math.round(rate), serverCpuUs, dbCpuUs, historyP50: +percentile(lat, 50).toFixed(2), historyP99: +percentile(lat, 99).toFixed(2) })
      stored += perStep
      console.error(`[a2a ${srv.backend}] store ${rows.at(-1)!.stored}: ${rows.at(-1)!.sendsPerSec} sends/s, server CPU ${serverCpuUs} µs/send${dbCpuUs === undefined ? '' : `, PostgreSQL CPU ${dbCpuUs} µs/send`}, history p50 ${rows.at(-1)!.historyP50} ms`)
    }
    const rates = rows.map((r) => r.sendsPerSec)
    if (srv.databaseUrl) {
      // Are the per-message row updates staying HOT (no index churn as the store grows)?
      const pg = postgres(srv.databaseUrl, { max: 1 })
      const stats = await pg`SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname IN ('rooms', 'agents')`
      await pg.end()
      for (const s of stats) console.error(`[a2a postgres] ${s.relname}: ${s.n_tup_hot_upd} of ${s.n_tup_upd} updates HOT`)
    }
    // The store's size alone, apart from this VM's drift over a run: the grown store against a fresh one, in turns (ABBA).
    fresh = await startServer({ databaseUrl: opts.databaseUrl })
    const small = await target(fresh, agents)
    const turns = { grown: [] as number[], fresh: [] as number[] }
    const loads: number[] = []
    for (const which of ['grown', 'fresh', 'fresh', 'grown', 'grown', 'fresh', 'fresh', 'grown'] as const) {
      turns[which].push(await (which === 'grown' ? grown : small).sends(AB_SENDS))
      loads.push(os.loadavg()[0])
      console.error(`[a2a ${srv.backend}] turn ${which}: ${Math.round(turns[which].at(-1)!)} sends/s, load ${loads.at(-1)!.toFixed(2)}`)
    }
    await small.close()
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    const ab = avg(turns.grown) / avg(turns.fresh) - 1
    const load = `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`
    console.error(`[a2a ${srv.backend}] in turns: ${Math.round(avg(turns.grown))} sends/s with ${stored}–${stored + 4 * AB_SENDS} messages stored, ${Math.round(avg(turns.fresh))} on a fresh store (${ab >= 0 ? '+' : ''}${(ab * 100).toFixed(1)}%), load average ${load}`)
    await grown.close()
    const first = rates[0]
    const last = rates.at(-1)!
    const mean = avg(rates)
    return {
      backend: srv.backend,
      rows,
      summary: {
        [`a2a send/s at ${rows[0].stored} (${srv.backend})`]: first,
        [`a2a send/s at ${stored} (${srv.backend})`]: last,
        [`a2a send/s min..max (${srv.backend})`]: `${Math.min(...rates)}..${Math.max(...rates)}`,
        [`a2a send/s mean, trend over the run (${srv.backend})`]: `${Math.round(mean)}, ${trendPercent(rates)}%`,
        [`a2a send/s in turns: ${stored} messages vs fresh store (${srv.backend})`]: `${Math.round(avg(turns.grown))} vs ${Math.round(avg(turns.fresh))}, ${ab >= 0 ? '+' : ''}${(ab * 100).toFixed(1)}%, load ${load}`,
        [`a2a server CPU µs/send first..last step, trend (${srv.backend})`]: cpuSummary(rows.map((r) => r.serverCpuUs)),
        ...(srv.databaseUrl ? { [`a2a PostgreSQL CPU µs/send first..last step, trend`]: cpuSummary(rows.map((r) => r.dbCpuUs!)) } : {}),
        [`a2a history p50/p99 ms at ${stored - perStep} (${srv.backend})`]: `${rows.at(-1)!.historyP50}/${rows.at(-1)!.historyP99}`,
        [`server RSS MB (${srv.backend})`]: Math.round(srv.rssMb()),
      },
    }
  } finally {
    await srv.stop()
    await fresh?.stop()
  }
}

const cpuSummary = (us: number[]) => `${us[0]}..${us.at(-1)}, ${trendPercent(us)}%`

/** The least-squares line through the steps' rates, as its change from first step to last in % of the mean:
 * what growth costs, told apart from this VM's step-to-step noise. */
function trendPercent(rates: number[]): string {
  const n = rates.length
  const mx = (n - 1) / 2
  const my = rates.reduce((a, b) => a + b, 0) / n
  let sxy = 0
  let sxx = 0
  rates.forEach((y, x) => {
    sxy += (x - mx) * (y - my)
    sxx += (x - mx) ** 2
  })
  const change = ((sxy / sxx) * (n - 1)) / my
  return `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const num = (name: string) => (argValue(name) === undefined ? undefined : Number(argValue(name)))
  const out = await run({ databaseUrl: process.env.DATABASE_URL || undefined, total: num('total'), steps: num('steps'), fill: num('fill'), agents: num('agents') })
  console.table(out.rows)
  console.log(out.summary)
}
