/**
 * The repository browser: page time of a room page, a directory address and a file page for the generated
 * 5,000-commit repository of bench/git-repo.ts (about a fastify-sized one), through the server in its own process.
 * First views are each room's first page after its push; the rest are repeated views. Usage: tsx bench/browse.ts
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { call } from '../test/spawn.ts'
import { generateRepo } from './git-repo.ts'
import { percentile, startServer } from './server.ts'

const ROOMS = 3
const WARMUP = 5
const REQUESTS = 50
const HEADERS = { accept: 'text/html', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) convene-bench' }

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(String(stdout)),
    )
  })
}

/** One page view, ms; fails unless the page shows what `expect` names. */
async function view(url: string, expect: RegExp): Promise<number> {
  const t0 = performance.now()
  const res = await fetch(url, { headers: HEADERS })
  const html = await res.text()
  const ms = performance.now() - t0
  if (res.status !== 200 || !expect.test(html)) throw new Error(`${url}: HTTP ${res.status}, ${html.slice(0, 300)}`)
  return ms
}

async function series(url: string, expect: RegExp): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < WARMUP; i++) await view(url, expect)
  const ms: number[] = []
  for (let i = 0; i < REQUESTS; i++) ms.push(await view(url, expect))
  ms.sort((a, b) => a - b)
  return { p50: percentile(ms, 50), p95: percentile(ms, 95) }
}

const round = (ms: number) => Number(ms.toFixed(1))

export async function run(opts: { databaseUrl?: string } = {}) {
  const src = generateRepo(path.join(os.tmpdir(), 'convene-bench-repo-5000'), 5000)
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'convene-browse-bench-'))
  writeFileSync(path.join(tmp, '.gitconfig'), '[user]\n\tname = Bench\n\temail = bench@example.com\n')
  const env = { HOME: tmp, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' }
  const server = await startServer({ databaseUrl: opts.databaseUrl })
  try {
    const names: string[] = []
    const first: number[] = []
    for (let i = 0; i < ROOMS; i++) {
      const name = `browse-${Date.now().toString(36)}-${i}`
      const r = await call(server.url, 'room.create', { agentName: 'bench', name })
      if (r.text.startsWith('Error')) throw new Error(r.text)
      await sh('git', ['push', '-q', `${server.url}/rooms/${name}.git`, 'main'], { cwd: src, env })
      first.push(await view(`${server.url}/${name}`, /class="tree"/))
      names.push(name)
    }
    first.sort((a, b) => a - b)
    const base = `${server.url}/${names[0]}`
    const room = await series(base, /class="tree"/)
    const dir = await series(`${base}?file=src%2Fmod7`, /No file/)
    const file = await series(`${base}?file=src%2Fmod7%2Ffile7.ts`, /class="code"/)
    const summary = {
      'room page, first view after push ms (median)': round(percentile(first, 50)),
      'room page p50 ms': round(room.p50),
      'room page p95 ms': round(room.p95),
      'directory address p50 ms': round(dir.p50),
      'directory address p95 ms': round(dir.p95),
      'file page p50 ms': round(file.p50),
      'file page p95 ms': round(file.p95),
    }
    console.table(summary)
    return { summary }
  } finally {
    await server.stop()
    rmSync(tmp, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run({ databaseUrl: process.env.DATABASE_URL || undefined })
