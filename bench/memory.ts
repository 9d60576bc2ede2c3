/**
 * Memory of the real server (server.ts in its own process): idle RSS on a fresh data dir (first start), on that dir
 * again (second start), on PostgreSQL, and the peak while a 17 MB pack (bench/git-repo.ts, 5,000 commits) is
 * pushed. Usage: npm run bench -- memory, or tsx bench/memory.ts [--idle 20] [--no-push] (DATABASE_URL adds PostgreSQL).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnServer, type Proc } from '../test/spawn.ts'
import { argValue } from './args.ts'
import { createRoom, sampled, sh } from './git.ts'
import { generateRepo } from './git-repo.ts'
import { serverScript, startServer } from './server.ts'

/** RSS in MB right after the server listens and while idle, and what V8 reports at the end of the wait. */
export interface Idle {
  startMb: number
  idleMb: number
  heapMb: number
  externalMb: number
}

const IDLE_S = Number(argValue('idle') ?? 20)
const PUSH = !process.argv.includes('--no-push')
const mb = (n: number) => Math.round(n / 2 ** 20)

/**
 * Waits `seconds` without a request; idle RSS is the median of samples (every 500 ms) over the wait's second half, as
 * the embedded store's maintenance and V8's memory reducer move it by ±20 MB. Then V8's heap and external memory.
 */
async function idle(url: string, rss: () => number, seconds = IDLE_S): Promise<Idle> {
  const startMb = rss()
  const samples: number[] = []
  for (let t = 500; t <= seconds * 1000; t += 500) {
    await new Promise((r) => setTimeout(r, 500))
    if (t > (seconds * 1000) / 2) samples.push(rss())
  }
  const idleMb = samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]
  const text = await (await fetch(`${url}/metrics`)).text()
  const metric = (name: string) => Number(new RegExp(`^convene_${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN)
  return { startMb, idleMb, heapMb: mb(metric('nodejs_heap_size_total_bytes')), externalMb: mb(metric('nodejs_external_memory_bytes')) }
}

/** Peak RSS while the generated repository is pushed into a new room. */
async function push(url: string, rss: () => number): Promise<{ peakMb: number; seconds: number }> {
  const src = generateRepo(path.join(os.tmpdir(), 'convene-bench-repo-5000'), 5000)
  const room = await createRoom(url)
  const r = await sampled(rss, () => sh('git', ['push', '-q', `${url}/rooms/${room}.git`, 'main'], { cwd: src, env: { GIT_TERMINAL_PROMPT: '0' } }))
  return { peakMb: r.peak, seconds: r.ms / 1000 }
}

const line = (label: string, i: Idle) =>
  console.log(`${label}: ${i.startMb.toFixed(0)} MB at start → ${i.idleMb.toFixed(0)} MB idle (${IDLE_S} s) (V8 heap ${i.heapMb}, external ${i.externalMb} MB)`)

async function embedded() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'convene-bench-mem-'))
  let proc: Proc | undefined
  try {
    proc = await spawnServer({ DATA_DIR: dir, DATABASE_URL: '' }, { script: serverScript() })
    const fresh = await idle(proc.url, proc.rssMb)
    line('embedded, fresh data dir', fresh)
    await proc.stop()
    proc = await spawnServer({ DATA_DIR: dir, DATABASE_URL: '' }, { script: serverScript() })
    const existing = await idle(proc.url, proc.rssMb)
    line('embedded, existing data dir', existing)
    const p = PUSH ? await push(proc.url, proc.rssMb) : undefined
    if (p) console.log(`embedded, push of 17 MB: peak ${p.peakMb.toFixed(0)} MB (${p.seconds.toFixed(1)} s)`)
    return { fresh, existing, push: p }
  } finally {
    await proc?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function postgresql(databaseUrl: string) {
  const server = await startServer({ databaseUrl })
  try {
    const idled = await idle(server.url, server.rssMb)
    line('PostgreSQL', idled)
    const p = PUSH ? await push(server.url, server.rssMb) : undefined
    if (p) console.log(`PostgreSQL, push of 17 MB: peak ${p.peakMb.toFixed(0)} MB (${p.seconds.toFixed(1)} s)`)
    return { idle: idled, push: p }
  } finally {
    await server.stop()
  }
}

/** Entry point for bench/run.ts: one store per call. */
export async function run(opts: { databaseUrl?: string } = {}) {
  const r = (n: number | undefined) => (n === undefined ? '—' : Math.round(n))
  if (opts.databaseUrl) {
    const pg = await postgresql(opts.databaseUrl)
    return { summary: { 'RSS at start MB': r(pg.idle.startMb), [`idle RSS MB (${IDLE_S} s)`]: r(pg.idle.idleMb), 'push 17 MB: peak RSS MB': r(pg.push?.peakMb) } }
  }
  const e = await embedded()
  return {
    summary: {
      'fresh dir: RSS at start MB': r(e.fresh.startMb),
      [`fresh dir: idle RSS MB (${IDLE_S} s)`]: r(e.fresh.idleMb),
      'existing dir: RSS at start MB': r(e.existing.startMb),
      [`existing dir: idle RSS MB (${IDLE_S} s)`]: r(e.existing.idleMb),
      'push 17 MB: peak RSS MB': r(e.push?.peakMb),
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run()
  if (process.env.DATABASE_URL) await run({ databaseUrl: process.env.DATABASE_URL })
}
