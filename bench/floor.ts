/**
 * Issue 19's floor: Convene's A2A message.send against a bare Fastify endpoint doing only the obvious work (parse the
 * body, look the token up, one insert statement as the project wrote it before issue 19, a minimal JSON-RPC reply; no validation, events or logging), on
 * the same data (one PostgreSQL database; embedded: copies of one data dir), in turns (ABBA, BAAB, …), one room and
 * 16 rooms. Run with FLOOR_SERVE=1 this file is that endpoint.
 * Usage: tsx bench/floor.ts [--sends 4000] [--rounds 3] [--concurrency 32] [--warm-up 2000] (DATABASE_URL: on PostgreSQL)
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import path from 'node:path'
import postgres from 'postgres'
import { SEARCH_VECTOR } from '../db/rows.ts'
import { type Proc, spawnServer } from '../test/spawn.ts'
import { a2aClient } from './a2a-client.ts'
import { argValue } from './args.ts'
import { processCpuMs, serverScript } from './server.ts'

const ROOMS = 16
const APP = { convene: 'convene-bench', floor: 'floor-bench' } as const
type Who = keyof typeof APP

/**
 * The obvious insert: one message a statement, the room's seq bumped under its row lock, the sender's cursor moved
 * past its own message when it had read everything before (the project's own statement when issue 19 was written;
 * since migration 013 it fills the search vector that was a generated column then).
 */
const OBVIOUS_INSERT = `WITH r AS (
    UPDATE rooms SET last_seq = last_seq + 1,
      last_activity = CASE WHEN last_activity < $6::timestamptz - interval '1 minute' THEN $6 ELSE last_activity END,
      public_count = public_count + 1
    WHERE id = $1 RETURNING last_seq
  ), ag AS (
    UPDATE agents a SET cursor = CASE WHEN a.cursor = r.last_seq - 1 THEN r.last_seq ELSE a.cursor END
    FROM r WHERE a.id = $4::uuid
  ), ins AS (
    INSERT INTO messages (room_id, seq, id, sender, sender_id, body, created_at, search)
    SELECT $1, r.last_seq, $2, $3, $4, $5, $6, ${SEARCH_VECTOR('$5::text', '$1::uuid')} FROM r RETURNING seq
  )
  SELECT seq FROM ins`

/** The bare endpoint (FLOOR_SERVE=1): what a message.send needs at the least, on the project's own statements. */
async function serve() {
  const { default: Fastify } = await import('fastify')
  const { openDatabase } = await import('../db/sql.ts')
  const { agentQueries } = await import('../db/agents.ts')
  const { hashToken, newId } = await import('../lib/ids.ts')
  const url = process.env.DATABASE_URL || undefined
  const db = await openDatabase({ databaseUrl: url, dataDir: process.env.DATA_DIR! })
  const { agentByToken } = agentQueries(db)
  const app = Fastify({ logger: false })
  app.post('/a2a', async (req) => {
    const { id, params } = req.body as { id: unknown; params: { message: any } }
    const m = params.message
    const found = await agentByToken(hashToken(m.metadata.agentToken).toString('hex'))
    if (!found || found.agent.roomId !== m.contextId) return { jsonrpc: '2.0', id, result: { kind: 'message', role: 'agent', parts: [{ kind: 'text', text: 'Error: who?' }] } }
    const { agent } = found
    const msgId = newId()
    const [row] = await db.query<{ seq: string }>(OBVIOUS_INSERT, [agent.roomId, msgId, agent.name, agent.id, m.parts[0].text, new Date()])
    const data = { id: msgId, seq: Number(row.seq) }
    return { jsonrpc: '2.0', id, result: { kind: 'message', role: 'agent', parts: [{ kind: 'text', text: 'Sent.' }, { kind: 'data', data }], contextId: agent.roomId } }
  })
  const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
  console.log(`Server listening at ${address}`)
  process.once('SIGTERM', async () => {
    await app.close()
    await db.close()
    process.exit(0)
  })
}

type Room = { id: string; token: string }
type Client = ReturnType<typeof a2aClient>

/** Sends/s over n sends from `workers` workers; worker w sends as the agent of rooms[w % rooms.length]. */
async function sends(c: Client, rooms: Room[], n: number, workers: number) {
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const room = rooms[w % rooms.length]
      while (next++ < n) {
        const r = await c.call('message.send', { agentToken: room.token }, { text: `message ${next} from worker ${w}`, contextId: room.id })
        if (typeof r.data.seq !== 'number') throw new Error(`no seq in the reply: ${JSON.stringify(r.data)}`)
      }
    }),
  )
  return n / ((performance.now() - t0) / 1000)
}

/** CPU time of the PostgreSQL backends of one server (by database and application_name), by pid (ms). */
async function backendCpu(admin: postgres.Sql, db: string, app: string): Promise<Map<number, number>> {
  const rows = await admin<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = ${db} AND application_name = ${app}`
  return new Map(rows.map((r) => [r.pid, processCpuMs(r.pid)]))
}
const cpuSince = (before: Map<number, number>, after: Map<number, number>) => {
  let ms = 0
  for (const [pid, cpu] of after) ms += cpu - (before.get(pid) ?? 0)
  return ms
}

/** Busy CPU time of the whole machine, ms (/proc/stat: all but idle and iowait). */
function machineCpuMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 10
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

export async function run(opts: { databaseUrl?: string; sendsPerTurn?: number; rounds?: number; concurrency?: number; warmUp?: number } = {}) {
  const backend = opts.databaseUrl ? 'postgres' : 'pglite'
  const log = (s: string) => console.error(`[floor ${backend}] ${s}`)
  const perTurn = opts.sendsPerTurn ?? 4000
  const rounds = Math.max(2, opts.rounds ?? 3)
  const workers = opts.concurrency ?? 32
  const warmUp = opts.warmUp ?? 2000
  const convNodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const dirs: string[] = []
  const tmp = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'convene-bench-floor-'))
    dirs.push(d)
    return d
  }
  const admin = opts.databaseUrl ? postgres(opts.databaseUrl, { max: 1, onnotice: () => {} }) : undefined
  const dbName = `convene_bench_floor_${Date.now()}`
  let url = ''
  const procs: Partial<Record<Who, Proc>> = {}
  const clients: Partial<Record<Who, Client>> = {}
  const summary: Record<string, number | string> = {}
  log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  try {
    // Rooms (one agent each) made through Convene, so both servers find the same rooms and tokens.
    const env = { convene: {} as Record<string, string>, floor: {} as Record<string, string> }
    let setup: Proc
    let template = ''
    if (admin) {
      await admin.unsafe(`CREATE DATABASE ${dbName}`)
      const u = new URL(opts.databaseUrl!)
      u.pathname = `/${dbName}`
      url = u.toString()
      env.convene = { DATA_DIR: tmp(), DATABASE_URL: url, PGAPPNAME: APP.convene }
      env.floor = { DATA_DIR: tmp(), DATABASE_URL: url, PGAPPNAME: APP.floor }
      setup = procs.convene = await spawnServer(env.convene, { nodeArgs: convNodeArgs, script: serverScript() })
    } else {
      // PGlite is one process per data dir: rooms are made in a template, which each server then gets a copy of.
      template = tmp()
      setup = procs.convene = await spawnServer({ DATA_DIR: template, DATABASE_URL: '' }, { script: serverScript() })
      env.convene = { DATA_DIR: tmp(), DATABASE_URL: '' }
      env.floor = { DATA_DIR: tmp(), DATABASE_URL: '' }
    }
    const maker = a2aClient(setup.url, 4)
    const rooms: Room[] = []
    for (let i = 0; i <= ROOMS; i++) {
      const r = await maker.call('room.create', { agentName: 'bench' }, { text: `floor-${i}-${Date.now()}` })
      rooms.push({ id: r.contextId, token: r.data.agentToken })
    }
    await maker.close()
    if (!admin) {
      await setup.stop()
      cpSync(template, env.convene.DATA_DIR, { recursive: true })
      cpSync(template, env.floor.DATA_DIR, { recursive: true })
      procs.convene = await spawnServer(env.convene, { nodeArgs: convNodeArgs, script: serverScript() })
    }
    // BENCH_SERVER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") applies to Convene, BENCH_FLOOR_NODE_ARGS to the floor
    const floorNodeArgs = (process.env.BENCH_FLOOR_NODE_ARGS ?? '').split(' ').filter(Boolean)
    procs.floor = await spawnServer({ ...env.floor, FLOOR_SERVE: '1' }, { script: 'bench/floor.ts', nodeArgs: floorNodeArgs })
    const cases: Record<string, Room[]> = { 'one room': rooms.slice(0, 1), [`${ROOMS} rooms`]: rooms.slice(1) }
    for (const w of ['convene', 'floor'] as const) {
      clients[w] = a2aClient(procs[w]!.url, workers)
      const t0 = performance.now()
      for (const rs of Object.values(cases)) await sends(clients[w]!, rs, warmUp / 2, workers)
      log(`${w}: ${warmUp} warm-up sends in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    }
    const order = Array.from({ length: rounds }, (_, i) => (i % 2 === 0 ? ['convene', 'floor', 'floor', 'convene'] : ['floor', 'convene', 'convene', 'floor']) as Who[]).flat()
    for (const [name, rs] of Object.entries(cases)) {
      const turns = { convene: [] as number[], floor: [] as number[] }
      const cpu = { convene: 0, floor: 0 }
      const dbCpu = { convene: 0, floor: 0 }
      const clientCpu = { convene: 0, floor: 0 }
      const loads: number[] = []
      const others: number[] = []
      const ours = () => processCpuMs(procs.convene!.child.pid!) + processCpuMs(procs.floor!.child.pid!) + (process.cpuUsage().user + process.cpuUsage().system) / 1000
      for (const w of order) {
        const pid = procs[w]!.child.pid!
        const c0 = processCpuMs(pid)
        const d0 = admin ? await backendCpu(admin, dbName, APP[w]) : undefined
        const m0 = machineCpuMs()
        const o0 = ours()
        const b0 = process.cpuUsage()
        const t0 = performance.now()
        const rate = await sends(clients[w]!, rs, perTurn, workers)
        const serverMs = processCpuMs(pid) - c0
        const b1 = process.cpuUsage(b0)
        const benchMs = (b1.user + b1.system) / 1000
        const dbMs = admin && d0 ? cpuSince(d0, await backendCpu(admin, dbName, APP[w])) : undefined
        // what other processes on the machine took meanwhile, in % of all its cores
        const other = Math.max(0, (machineCpuMs() - m0 - (ours() - o0) - (dbMs ?? 0)) / ((performance.now() - t0) * os.cpus().length))
        turns[w].push(rate)
        cpu[w] += serverMs
        clientCpu[w] += benchMs
        if (dbMs !== undefined) dbCpu[w] += dbMs
        loads.push(os.loadavg()[0])
        others.push(other)
        log(
          `${name}, ${w} turn: ${Math.round(rate)} sends/s, server ${Math.round((serverMs * 1000) / perTurn)} µs/send` +
            (dbMs === undefined ? '' : `, PostgreSQL ${Math.round((dbMs * 1000) / perTurn)} µs/send`) +
            `, load generator ${Math.round((benchMs * 1000) / perTurn)} µs/send, others ${Math.round(other * 100)}% CPU, load ${os.loadavg()[0].toFixed(2)}`,
        )
      }
      const perSend = (ms: number) => Math.round((ms * 1000) / (rounds * 2 * perTurn))
      const med = { convene: median(turns.convene), floor: median(turns.floor) }
      // each ABBA (or BAAB) block's ratio: a steady drift of the host over the block cancels out
      const blocks = Array.from({ length: rounds }, (_, i) => sum(turns.convene.slice(2 * i, 2 * i + 2)) / sum(turns.floor.slice(2 * i, 2 * i + 2)))
      const ratio = med.convene / med.floor
      const load = `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`
      const othersPct = `${Math.round(Math.min(...others) * 100)}–${Math.round(Math.max(...others) * 100)}%`
      const cpuText =
        `${perSend(cpu.convene)} vs ${perSend(cpu.floor)}` +
        (admin ? `; PostgreSQL ${perSend(dbCpu.convene)} vs ${perSend(dbCpu.floor)}` : '') +
        `; load generator ${perSend(clientCpu.convene)} vs ${perSend(clientCpu.floor)}`
      log(`${name}: Convene ${turns.convene.map(Math.round).join(' ')}; floor ${turns.floor.map(Math.round).join(' ')} sends/s`)
      log(`${name}: medians Convene ${Math.round(med.convene)}, floor ${Math.round(med.floor)}: Convene/floor ${ratio.toFixed(2)}× (by block ${blocks.map((b) => b.toFixed(2)).join(' ')}); CPU µs/send server ${cpuText}; load ${load}, others ${othersPct}`)
      summary[`floor ${name} send/s per turn, Convene / floor (${backend})`] = `${turns.convene.map(Math.round).join(' ')} / ${turns.floor.map(Math.round).join(' ')}`
      summary[`floor ${name} medians Convene vs floor, ratio (${backend})`] = `${Math.round(med.convene)} vs ${Math.round(med.floor)}, ${ratio.toFixed(2)}×`
      summary[`floor ${name} ratio by ABBA block (${backend})`] = blocks.map((b) => b.toFixed(2)).join(' ')
      summary[`floor ${name} CPU µs/send Convene vs floor (${backend})`] = cpuText
      summary[`floor ${name} load average; others' CPU (${backend})`] = `${load}; ${othersPct}`
    }
  } finally {
    for (const c of Object.values(clients)) await c?.close()
    for (const p of Object.values(procs)) await p?.stop()
    if (admin) {
      if (!process.env.BENCH_KEEP_DB) await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
      await admin.end()
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  }
  return { summary }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.env.FLOOR_SERVE === '1') await serve()
  else {
    const arg = (name: string) => (argValue(name) === undefined ? undefined : Number(argValue(name)))
    const out = await run({ databaseUrl: process.env.DATABASE_URL || undefined, sendsPerTurn: arg('sends'), rounds: arg('rounds'), concurrency: arg('concurrency'), warmUp: arg('warm-up') })
    console.log(out.summary)
  }
}
