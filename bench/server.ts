import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import postgres from 'postgres'

export interface BenchServer {
  url: string
  backend: 'pglite' | 'postgres'
  /** The fresh database the server runs on (PostgreSQL only). */
  databaseUrl?: string
  child: ChildProcess
  rssMb(): number
  stop(): Promise<void>
}

/** Starts `server.ts` in its own process on a fresh store: a temp DATA_DIR, or a new database on DATABASE_URL. */
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
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.end()
    }
  }
  // BENCH_SERVER_NODE_ARGS, e.g. "--cpu-prof", profiles the server under load.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'server.ts'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, PORT: '0', DATA_DIR: dataDir, DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', ALLOW_PRIVATE_ENDPOINTS: '1', RATE_LIMIT_MAX: '0', ...opts.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (b) => {
      out += b
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) resolve(m[1])
      if (out.length > 1e5) out = out.slice(-1000)
    })
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)))
  })
  child.stdout!.resume()
  return {
    url,
    backend: opts.databaseUrl ? 'postgres' : 'pglite',
    databaseUrl: databaseUrl || undefined,
    child,
    rssMb: () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
        return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
      } catch {
        return 0
      }
    },
    async stop() {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
      rmSync(dataDir, { recursive: true, force: true })
      await dropDb()
    },
  }
}

export const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN
