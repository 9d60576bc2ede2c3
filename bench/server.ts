import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
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
      // BENCH_KEEP_DB=1 leaves the database behind for EXPLAIN and friends.
      if (!process.env.BENCH_KEEP_DB) await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.end()
    }
  }
  // BENCH_SERVER_NODE_ARGS, e.g. "--cpu-prof", profiles the server under load.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const proc = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: databaseUrl, ...opts.env }, { nodeArgs })
  return {
    url: proc.url,
    backend: opts.databaseUrl ? 'postgres' : 'pglite',
    databaseUrl: databaseUrl || undefined,
    child: proc.child,
    rssMb: () => proc.rssMb(),
    async stop() {
      await proc.stop()
      rmSync(dataDir, { recursive: true, force: true })
      await dropDb()
    },
  }
}

export const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN
