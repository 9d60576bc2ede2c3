import { execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import postgres from 'postgres'
import { spawnServer } from '../test/spawn.ts'

export interface BenchServer {
  url: string
  backend: 'pglite' | 'postgres'
  /** The fresh database the server runs on (PostgreSQL only). */
  databaseUrl?: string
  child: ChildProcess
  rssMb(): number
  /** CPU time the server process has used, ms. */
  cpuMs(): number
  /** Stops the server, runs `between` on its store (nothing else has it open), and starts it again on that store. */
  restart(between: (store: { dataDir: string; databaseUrl?: string }) => Promise<void>): Promise<void>
  stop(): Promise<void>
}

let built: string | undefined

/** The server as `npm start` runs it: built to dist/ once per bench process. BENCH_TSX=1 runs server.ts through tsx. */
export function serverScript(): string {
  if (process.env.BENCH_TSX) return 'server.ts'
  built ??= (execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: new URL('../', import.meta.url), stdio: 'inherit' }), 'dist/server.js')
  return built
}

/** Starts the server (serverScript) in its own process on a fresh store: a temp DATA_DIR, or a new database on DATABASE_URL. */
export async function startServer(opts: { databaseUrl?: string; env?: Record<string, string> } = {}): Promise<BenchServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'convene-bench-'))
  let databaseUrl = ''
  let dropDb = async () => {}
  if (opts.databaseUrl) {
    const name = `convene_bench_${Date.now()}`
    const admin = postgres(opts.databaseUrl, { max: 1, onnotice: () => {} })
    await admin.unsafe(`CREATE DATABASE ${name}`)
    const u = new URL(opts.databaseUrl)
    u.pathname = `/${name}`
    databaseUrl = u.toString()
    dropDb = async () => {
      // BENCH_KEEP_DB=1 leaves the database behind for EXPLAIN and friends.
      if (!process.env.BENCH_KEEP_DB) await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.end()
    }
  }
  // BENCH_SERVER_NODE_ARGS, e.g. "--cpu-prof", profiles the server under load.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const spawnIt = () => spawnServer({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl, ...opts.env }, { nodeArgs, script: serverScript() })
  let proc = await spawnIt()
  return {
    get url() {
      return proc.url
    },
    backend: opts.databaseUrl ? 'postgres' : 'pglite',
    databaseUrl: databaseUrl || undefined,
    get child() {
      return proc.child
    },
    rssMb: () => proc.rssMb(),
    cpuMs: () => processCpuMs(proc.child.pid!),
    async restart(between) {
      await proc.stop()
      await between({ dataDir, databaseUrl: databaseUrl || undefined })
      proc = await spawnIt()
    },
    async stop() {
      await proc.stop()
      rmSync(dataDir, { recursive: true, force: true })
      await dropDb()
    },
  }
}

export const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN

/** User + system CPU time of a process, ms (Linux /proc; clock ticks are 10 ms). */
export function processCpuMs(pid: number | string): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) * 10
  } catch {
    return 0
  }
}

/** CPU time used by every PostgreSQL process on this machine, ms: the database's share when it runs here. */
export function postgresCpuMs(): number {
  let ms = 0
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') ms += processCpuMs(pid)
    } catch {
      // gone meanwhile
    }
  }
  return ms
}
