/**
 * Delivery receipts (issue 16): message.send/s of the code before receipts (a git worktree of 4878bb7, plain sends)
 * against today's code (sends with ackRequired), in turns (ABBA, BAAB, …) under the same load: 32 A2A senders over
 * 16 rooms, each room followed by 3 agents over SSE and read by one agent calling message.unread every ~100 ms.
 * Each server runs from its own tree in its own process on its own fresh store. Then, today's code only:
 * message.status on an ackRequired broadcast in a 1,000-agent room (and in a 5-agent room for comparison).
 * --after DIR runs B from another tree (a worktree of a fixed commit) instead of this checkout.
 * Usage: tsx bench/receipts.ts [--sends 4000] [--rounds 2] [--statuses 200] [--before /tmp/convene-before] [--after DIR] [--plain] [--skip-send] [--skip-status]
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import http from 'node:http'
import os, { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import postgres from 'postgres'
import type { Proc } from '../test/spawn.ts'
import { percentile, processCpuMs, serverScript } from './server.ts'
import { a2aClient } from './a2a-client.ts'
import { argValue } from './args.ts'

/** The parent commit of the receipts work (899ea58). */
const BEFORE_COMMIT = '4878bb7'
const ROOT = new URL('../', import.meta.url).pathname.replace(/\/$/, '')
const ROOMS = 16
const SENDERS = 32
const FOLLOWERS = 3
const UNREAD_EVERY_MS = 100

type Log = (s: string) => void

/** The worktree of the code before receipts: reused when present, else made (and removed by `done`). */
function beforeTree(dir: string, log: Log): { dir: string; done: () => void } {
  if (existsSync(path.join(dir, 'server.ts'))) {
    const head = execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()
    const want = execFileSync('git', ['-C', ROOT, 'rev-parse', BEFORE_COMMIT], { encoding: 'utf8' }).trim()
    if (head !== want) throw new Error(`${dir} is at ${head.slice(0, 7)}, not ${BEFORE_COMMIT}`)
    return { dir, done: () => {} }
  }
  log(`making a worktree of ${BEFORE_COMMIT} in ${dir}`)
  execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', dir, BEFORE_COMMIT], { stdio: 'ignore' })
  // package.json did not change since, so today's node_modules serve it
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'))
  return { dir, done: () => execFileSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', dir], { stdio: 'ignore' }) }
}

const importFrom = (tree: string, file: string) => import(pathToFileURL(path.join(tree, file)).href)

interface Store {
  env: Record<string, string>
  dbName?: string
  drop: () => Promise<void>
}

/** A fresh store migrated by `tree`'s own migrations: a temp DATA_DIR, or a new database next to DATABASE_URL's. */
async function freshStore(tree: string, databaseUrl: string | undefined, admin: postgres.Sql | undefined): Promise<Store> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'convene-bench-receipts-'))
  let url = ''
  let dbName: string | undefined
  if (databaseUrl && admin) {
    dbName = `convene_bench_receipts_${Date.now()}_${Math.floor(Math.random() * 1e6)}`
    await admin.unsafe(`CREATE DATABASE ${dbName}`)
    const u = new URL(databaseUrl)
    u.pathname = `/${dbName}`
    url = u.toString()
  }
  const { openDatabase } = await importFrom(tree, 'db/sql.ts')
  const { migrate } = await importFrom(tree, 'db/migrate.ts')
  const db = await openDatabase(url ? { databaseUrl: url, dataDir } : { dataDir })
  await migrate(db)
  await db.close()
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: url },
    dbName,
    drop: async () => {
      if (dbName && admin && !process.env.BENCH_KEEP_DB) await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** `server.ts` of `tree` in its own process (its own test/spawn.ts, so it runs in that tree). */
async function spawnFrom(tree: string, env: Record<string, string>): Promise<Proc> {
  const { spawnServer } = (await importFrom(tree, 'test/spawn.ts')) as typeof import('../test/spawn.ts')
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)
  return spawnServer(env, { nodeArgs, script: serverScript() })
}

/** Transactions committed in database `name` so far: with autocommit, about one a statement. */
async function commits(admin: postgres.Sql, name: string): Promise<number> {
  const [r] = await admin<{ n: string }[]>`SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = ${name}`
  return Number(r?.n ?? 0)
}

/** CPU time of the PostgreSQL backends serving database `name`, by pid (ms). */
async function backendCpu(admin: postgres.Sql, name: string): Promise<Map<number, number>> {
  const rows = await admin<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = ${name}`
  return new Map(rows.map((r) => [r.pid, processCpuMs(r.pid)]))
}

const cpuSince = (before: Map<number, number>, after: Map<number, number>) => {
  let ms = 0
  for (const [pid, cpu] of after) ms += cpu - (before.get(pid) ?? 0)
  return ms
}

/** An agent's SSE stream of its room; counts the message frames it receives. */
function follow(url: string, roomId: string, token: string, counter: { events: number }): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/api/messages/${roomId}/sse?agentToken=${token}`, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`SSE ${res.statusCode}`))
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        for (let i = chunk.indexOf('\nid: '); i >= 0; i = chunk.indexOf('\nid: ', i + 1)) counter.events++
        if (chunk.startsWith('id: ')) counter.events++
      })
      res.on('error', () => {})
      resolve(req)
    })
    req.on('error', reject)
  })
}

/** Busy CPU time of the whole machine, ms (/proc/stat: all but idle and iowait). */
function machineCpuMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 10
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The load on one server: rooms with a sender, followers on SSE and an unread reader each; `sends(n)` runs a turn. */
async function load(url: string, ackRequired: boolean) {
  const senders = a2aClient(url, SENDERS)
  const readers = a2aClient(url, ROOMS)
  const rooms: { id: string; token: string; reader: string }[] = []
  const sse = { events: 0 }
  const streams: http.ClientRequest[] = []
  for (let i = 0; i < ROOMS; i++) {
    const r = await senders.call('room.create', { agentName: 'sender' }, { text: `receipts-${i}-${Date.now()}` })
    for (let k = 0; k < FOLLOWERS; k++) {
      const f = await senders.call('room.join', { agentName: `follower${k}` }, { contextId: r.contextId })
      streams.push(await follow(url, r.contextId, f.data.agentToken, sse))
    }
    const reader = await senders.call('room.join', { agentName: 'reader' }, { contextId: r.contextId })
    rooms.push({ id: r.contextId, token: r.data.agentToken, reader: reader.data.agentToken })
  }
  const extra = ackRequired ? { ackRequired: true } : {}
  let unreadCalls = 0
  /** One turn: n sends from SENDERS workers while each room's reader polls message.unread. */
  const sends = async (n: number) => {
    let polling = true
    const pollers = rooms.map(async (room) => {
      while (polling) {
        const t0 = performance.now()
        await readers.call('message.unread', { agentToken: room.reader })
        unreadCalls++
        await sleep(Math.max(0, UNREAD_EVERY_MS - (performance.now() - t0)))
      }
    })
    let next = 0
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: SENDERS }, async (_, w) => {
        const room = rooms[w % ROOMS]
        while (next++ < n) await senders.call('message.send', { agentToken: room.token, ...extra }, { text: `message ${next} from worker ${w}`, contextId: room.id })
      }),
    )
    const rate = n / ((performance.now() - t0) / 1000)
    polling = false
    await Promise.all(pollers)
    return rate
  }
  return {
    sends,
    counts: () => ({ sseEvents: sse.events, unreadCalls }),
    close: async () => {
      for (const s of streams) s.destroy()
      await senders.close()
      await readers.close()
    },
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`
const loadavg = () => os.loadavg()[0]

/** A (before, plain sends) against B (today, ackRequired sends), in turns. */
async function sendTurns(before: string, after: string, databaseUrl: string | undefined, admin: postgres.Sql | undefined, perTurn: number, rounds: number, ackRequired: boolean, log: Log) {
  const stores = { A: await freshStore(before, databaseUrl, admin), B: await freshStore(after, databaseUrl, admin) }
  const procs: Partial<Record<'A' | 'B', Proc>> = {}
  try {
    procs.A = await spawnFrom(before, stores.A.env)
    procs.B = await spawnFrom(after, stores.B.env)
    const loads = { A: await load(procs.A.url, false), B: await load(procs.B.url, ackRequired) }
    for (const w of ['A', 'B'] as const) log(`${w}: warm-up ${Math.round(await loads[w].sends(2000))} sends/s`)
    const turns = { A: [] as number[], B: [] as number[] }
    const cpu = { A: 0, B: 0 }
    const dbCpu = { A: 0, B: 0 }
    // Backends report their counts up to a second late (when idle), so transactions are counted over all turns.
    const xacts = { A: 0, B: 0 }
    if (admin) {
      await sleep(2000)
      for (const w of ['A', 'B'] as const) xacts[w] = -(await commits(admin, stores[w].dbName!))
    }
    const loads1: number[] = []
    const others: number[] = []
    /** CPU this bench accounts for: both servers and the load generator (the database's backends are added per turn). */
    const ours = () => processCpuMs(procs.A!.child.pid!) + processCpuMs(procs.B!.child.pid!) + (process.cpuUsage().user + process.cpuUsage().system) / 1000
    const order = Array.from({ length: rounds }, (_, i) => (i % 2 === 0 ? ['A', 'B', 'B', 'A'] : ['B', 'A', 'A', 'B']) as ('A' | 'B')[]).flat()
    for (const w of order) {
      const pid = procs[w]!.child.pid!
      const c0 = processCpuMs(pid)
      const d0 = admin ? await backendCpu(admin, stores[w].dbName!) : undefined
      const k0 = loads[w].counts()
      const m0 = machineCpuMs()
      const o0 = ours()
      const t0 = performance.now()
      const rate = await loads[w].sends(perTurn)
      const serverMs = processCpuMs(pid) - c0
      const dbMs = admin && d0 ? cpuSince(d0, await backendCpu(admin, stores[w].dbName!)) : undefined
      const k1 = loads[w].counts()
      // what other processes on the machine took meanwhile, in % of all its cores
      const other = (machineCpuMs() - m0 - (ours() - o0) - (dbMs ?? 0)) / ((performance.now() - t0) * os.cpus().length)
      others.push(other)
      turns[w].push(rate)
      cpu[w] += serverMs
      if (dbMs !== undefined) dbCpu[w] += dbMs
      loads1.push(loadavg())
      log(
        `${w} turn: ${Math.round(rate)} sends/s, server ${Math.round((serverMs * 1000) / perTurn)} µs/send` +
          (dbMs === undefined ? '' : `, PostgreSQL ${Math.round((dbMs * 1000) / perTurn)} µs/send`) +
          `, ${(k1.sseEvents - k0.sseEvents) / perTurn} SSE frames/send, ${k1.unreadCalls - k0.unreadCalls} unread calls, others ${Math.round(other * 100)}% CPU, load ${loadavg().toFixed(2)}`,
      )
    }
    if (admin) {
      await sleep(2000)
      for (const w of ['A', 'B'] as const) xacts[w] += await commits(admin, stores[w].dbName!)
    }
    for (const w of ['A', 'B'] as const) await loads[w].close()
    await procs.B.stop() // flushes its pending marks; the embedded store opens only once the server let go
    const marks = await deliveryMarks(after, stores.B.env)
    const perSend = (ms: number) => Math.round((ms * 1000) / (rounds * 2 * perTurn))
    return {
      turns,
      medians: { A: median(turns.A), B: median(turns.B) },
      // each ABBA (or BAAB) block's B/A: a steady drift of the host over the block cancels out
      blocks: Array.from({ length: rounds }, (_, i) => sum(turns.B.slice(2 * i, 2 * i + 2)) / sum(turns.A.slice(2 * i, 2 * i + 2))),
      cpuUs: { A: perSend(cpu.A), B: perSend(cpu.B) },
      dbCpuUs: admin ? { A: perSend(dbCpu.A), B: perSend(dbCpu.B) } : undefined,
      xactsPerSend: admin ? { A: xacts.A / (rounds * 2 * perTurn), B: xacts.B / (rounds * 2 * perTurn) } : undefined,
      load: `${Math.min(...loads1).toFixed(1)}–${Math.max(...loads1).toFixed(1)}`,
      others: `${Math.round(Math.min(...others) * 100)}–${Math.round(Math.max(...others) * 100)}%`,
      marks,
    }
  } finally {
    for (const p of Object.values(procs)) await p?.stop()
    await stores.A.drop()
    await stores.B.drop()
  }
}

/** What B's store holds afterwards: the delivery cursors by surface (proof that the marks were written). */
async function deliveryMarks(tree: string, env: Record<string, string>) {
  const { openDatabase } = await importFrom(tree, 'db/sql.ts')
  const db = await openDatabase(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR } : { dataDir: env.DATA_DIR })
  const rows: { surface: string; n: number }[] = await db.query(`SELECT surface, count(*)::int AS n FROM delivery_marks GROUP BY 1 ORDER BY 1`)
  await db.close()
  return rows.map((r) => `${r.surface} ${r.n}`).join(', ')
}

/** message.status p50/p99 on an ackRequired broadcast in a room of `size` agents (today's code). */
async function statusLatency(url: string, size: number, calls: number, log: Log) {
  const c = a2aClient(url, 8)
  const room = await c.call('room.create', { agentName: 'sender' }, { text: `status-${size}-${Date.now()}` })
  const tokens: string[] = []
  for (let i = 1; i < size; i += 8) {
    const batch = Array.from({ length: Math.min(8, size - i) }, (_, k) => c.call('room.join', { agentName: `agent${i + k}` }, { contextId: room.contextId }))
    for (const j of await Promise.all(batch)) tokens.push(j.data.agentToken)
  }
  // A third follow over SSE, a third read it with message.unread, a tenth acknowledge it; the rest have it sent only.
  const sse = { events: 0 }
  const streams = await Promise.all(tokens.filter((_, i) => i % 3 === 1).map((t) => follow(url, room.contextId, t, sse)))
  const sent = await c.call('message.send', { agentToken: room.data.agentToken, ackRequired: true }, { text: 'please acknowledge', contextId: room.contextId })
  const id = sent.data.id as string
  const deadline = Date.now() + 10_000
  while (sse.events < streams.length && Date.now() < deadline) await sleep(20)
  for (let i = 0; i < tokens.length; i += 8) {
    await Promise.all(
      tokens.slice(i, i + 8).map(async (t, k) => {
        const n = i + k
        if (n % 3 === 0) await c.call('message.unread', { agentToken: t })
        if (n % 10 === 0) await c.call('message.ack', { agentToken: t, messageIds: [id] }, { contextId: room.contextId })
      }),
    )
  }
  const status = () => c.call('message.status', { agentToken: room.data.agentToken, messageId: id }, { contextId: room.contextId })
  for (let i = 0; i < 20; i++) await status()
  const ms: number[] = []
  let last: Record<string, any> = {}
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now()
    last = (await status()).data
    ms.push(performance.now() - t0)
  }
  for (const s of streams) s.destroy()
  await c.close()
  ms.sort((a, b) => a - b)
  const counts = last.counts as Record<string, number>
  if (last.recipients.length !== size - 1) throw new Error(`status listed ${last.recipients.length} recipients, not ${size - 1}`)
  log(`message.status, ${size}-agent room: p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms (${JSON.stringify(counts)})`)
  return { p50: +percentile(ms, 50).toFixed(1), p99: +percentile(ms, 99).toFixed(1), counts: Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ') }
}

export async function run(
  opts: { databaseUrl?: string; sendsPerTurn?: number; rounds?: number; statuses?: number; before?: string; after?: string; plain?: boolean; skipSend?: boolean; skipStatus?: boolean } = {},
) {
  const backend = opts.databaseUrl ? 'postgres' : 'pglite'
  const log: Log = (s) => console.error(`[receipts ${backend}] ${s}`)
  const summary: Record<string, number | string> = {}
  const admin = opts.databaseUrl ? postgres(opts.databaseUrl, { max: 1, onnotice: () => {} }) : undefined
  log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  try {
    if (!opts.skipSend) {
      const tree = beforeTree(opts.before ?? path.join(tmpdir(), 'convene-before'), log)
      try {
        const perTurn = opts.sendsPerTurn ?? 4000
        // --plain: B sends plain messages too, which leaves what ackRequired itself costs out
        const after = opts.after ?? ROOT
        const b = `${opts.after ? path.basename(opts.after) : 'today'}, ${opts.plain ? 'plain' : 'ackRequired'}`
        const r = await sendTurns(tree.dir, after, opts.databaseUrl, admin, perTurn, opts.rounds ?? 2, !opts.plain, log)
        const ratio = r.medians.B / r.medians.A - 1
        log(`sends/s in turns, A (${BEFORE_COMMIT}, plain) ${r.turns.A.map(Math.round).join(' ')}; B (${b}) ${r.turns.B.map(Math.round).join(' ')}`)
        const blocks = `${r.blocks.map((x) => pct(x - 1)).join(' ')}, mean ${pct(sum(r.blocks) / r.blocks.length - 1)}`
        log(`medians A ${Math.round(r.medians.A)}, B ${Math.round(r.medians.B)} (B/A ${pct(ratio)}); B/A by block ${blocks}; server CPU µs/send ${r.cpuUs.A} → ${r.cpuUs.B}` + (r.dbCpuUs ? `; PostgreSQL CPU µs/send ${r.dbCpuUs.A} → ${r.dbCpuUs.B}` : ''))
        log(`B's delivery_marks rows by surface: ${r.marks}`)
        summary[`receipts send/s per turn, A before / B ${b} (${backend})`] = `${r.turns.A.map(Math.round).join(' ')} / ${r.turns.B.map(Math.round).join(' ')}`
        summary[`receipts send/s medians A vs B, B/A (${backend})`] = `${Math.round(r.medians.A)} vs ${Math.round(r.medians.B)}, ${pct(ratio)}`
        summary[`receipts send B/A by ABBA block (${backend})`] = blocks
        summary[`receipts server CPU µs/send A vs B (${backend})`] = `${r.cpuUs.A} vs ${r.cpuUs.B}`
        if (r.dbCpuUs) summary[`receipts PostgreSQL CPU µs/send A vs B`] = `${r.dbCpuUs.A} vs ${r.dbCpuUs.B}`
        if (r.xactsPerSend) {
          const x = `${r.xactsPerSend.A.toFixed(2)} vs ${r.xactsPerSend.B.toFixed(2)}`
          log(`PostgreSQL transactions (statements) a send, with the unread calls and delivery marks: ${x}`)
          summary[`receipts PostgreSQL transactions/send A vs B`] = x
        }
        summary[`receipts load average during turns; others' share of the CPU (${backend})`] = `${r.load}; ${r.others}`
      } finally {
        tree.done()
      }
    }
    if (!opts.skipStatus) {
      const store = await freshStore(opts.after ?? ROOT, opts.databaseUrl, admin)
      let srv: Proc | undefined
      try {
        srv = await spawnFrom(opts.after ?? ROOT, store.env)
        const calls = opts.statuses ?? 200
        const small = await statusLatency(srv.url, 5, calls, log)
        const big = await statusLatency(srv.url, 1000, calls, log)
        summary[`message.status p50/p99 ms, 1,000-agent room (${backend})`] = `${big.p50}/${big.p99} (${big.counts})`
        summary[`message.status p50/p99 ms, 5-agent room (${backend})`] = `${small.p50}/${small.p99}`
      } finally {
        await srv?.stop()
        await store.drop()
      }
    }
  } finally {
    await admin?.end()
  }
  summary[`receipts load average at the end (${backend})`] = os.loadavg().map((x) => x.toFixed(2)).join(' ')
  return { summary }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = argValue
  const out = await run({
    databaseUrl: process.env.DATABASE_URL || undefined,
    sendsPerTurn: Number(arg('sends') ?? 4000),
    rounds: Number(arg('rounds') ?? 2),
    statuses: Number(arg('statuses') ?? 200),
    before: arg('before'),
    after: arg('after'),
    plain: process.argv.includes('--plain'),
    skipSend: process.argv.includes('--skip-send'),
    skipStatus: process.argv.includes('--skip-status'),
  })
  console.log(out.summary)
}
