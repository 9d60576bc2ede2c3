/**
 * Git over HTTP: push, clone and fetch-of-a-few-commits of a generated repository (5,000 commits) through our
 * server and through C git's own `git http-backend` (a tiny CGI front below, bench-only); prints ratios and
 * server RSS, and writes them to BENCHMARKS.md under "Git". Usage: tsx bench/git.ts [--commits 5000]
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { call, spawnServer, type Proc } from '../test/spawn.ts'
import { generateRepo } from './git-repo.ts'

export interface GitBenchResult {
  commits: number
  objects: number
  packMb: number
  ours: Timings
  cgit: Timings
  /** Server RSS: idle before the push, and the peak sampled during push and clone. */
  oursRssMb: { idle: number; push: number; clone: number }
  /** The whole app (embedded PGlite included): idle and peak during push/clone. */
  fullAppRssMb: { idle: number; peak: number }
  /** The store behind the whole app. */
  backend: 'embedded PGlite' | 'PostgreSQL'
}

interface Timings {
  pushS: number
  cloneS: number
  fetchFewMs: number
}

const root = new URL('..', import.meta.url).pathname

export function sh(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 1 << 28 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(String(stdout)),
    )
  })
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Our server in its own process. */
function startOurs(dataDir: string, standalone = false, databaseUrl = ''): Promise<Proc> {
  const env = { DATA_DIR: dataDir, LOG_LEVEL: 'warn', DATABASE_URL: standalone ? '' : databaseUrl, GIT_BENCH_STANDALONE: standalone ? '1' : '' }
  return spawnServer(env, { script: 'bench/git-server.ts' })
}

/** Runs `fn` while sampling `rss` every 10 ms; returns the elapsed ms and the peak. */
export async function sampled(rss: () => number, fn: () => Promise<unknown>): Promise<{ ms: number; peak: number }> {
  let peak = rss()
  const timer = setInterval(() => (peak = Math.max(peak, rss())), 10)
  try {
    const ms = await timed(fn)
    return { ms, peak: Math.max(peak, rss()) }
  } finally {
    clearInterval(timer)
  }
}

/** A minimal CGI front for `git http-backend` (the C git baseline). */
function startCgit(projectRoot: string): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x')
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(u.pathname),
      QUERY_STRING: u.search.slice(1),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_USER: 'bench',
      REMOTE_ADDR: '127.0.0.1',
      GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
      HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
    }
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length']
    const cgi = spawn('git', ['http-backend'], { env })
    req.pipe(cgi.stdin)
    let head = Buffer.alloc(0)
    let started = false
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (started) return void res.write(chunk)
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      started = true
      let status = 200
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const i = line.indexOf(':')
        const k = line.slice(0, i).trim()
        const v = line.slice(i + 1).trim()
        if (k.toLowerCase() === 'status') status = parseInt(v, 10)
        else res.setHeader(k, v)
      }
      res.writeHead(status)
      res.write(head.subarray(end + 4))
    })
    cgi.stdout.on('end', () => res.end())
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address()
      resolve({ url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, server })
    }),
  )
}

export async function createRoom(url: string): Promise<string> {
  const name = `bench-${Date.now()}`
  const r = await call(url, 'room.create', { agentName: 'bench', name })
  if (r.text.startsWith('Error')) throw new Error(r.text)
  return name
}

/** Push everything, clone it back, then time fetches of 3 new commits. */
async function scenario(remote: string, src: string, work: string, env: Record<string, string>): Promise<Timings> {
  const pushMs = await timed(() => sh('git', ['push', '-q', remote, 'main'], { cwd: src, env }))
  const clone = path.join(work, 'clone.git')
  const cloneMs = await timed(() => sh('git', ['clone', '-q', '--bare', remote, clone], { env }))
  const writer = path.join(work, 'writer')
  await sh('git', ['clone', '-q', remote, writer], { env })
  const fetches: number[] = []
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 3; i++) {
      writeFileSync(path.join(writer, `new-${round}-${i}.txt`), `${round} ${i}\n`)
      await sh('git', ['add', '-A'], { cwd: writer, env })
      await sh('git', ['commit', '-q', '-m', `new ${round}.${i}`], { cwd: writer, env })
    }
    await sh('git', ['push', '-q', 'origin', 'main'], { cwd: writer, env })
    fetches.push(await timed(() => sh('git', ['fetch', '-q', remote, 'main:main'], { cwd: clone, env })))
  }
  return { pushS: pushMs / 1000, cloneS: cloneMs / 1000, fetchFewMs: median(fetches) }
}

export async function runGitBench(opts: { commits?: number; write?: boolean; databaseUrl?: string } = {}): Promise<GitBenchResult> {
  const commits = opts.commits ?? 5000
  const src = generateRepo(path.join(os.tmpdir(), `convene-bench-repo-${commits}`), commits)
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'convene-git-bench-'))
  const home = path.join(tmp, 'home')
  await sh('mkdir', ['-p', home])
  writeFileSync(path.join(home, '.gitconfig'), '[user]\n\tname = Bench\n\temail = bench@example.com\n')
  const env = { HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' }
  const objects = Number(/in-pack: (\d+)/.exec(await sh('git', ['count-objects', '-v'], { cwd: src }))?.[1] ?? 0)
  const packMb = Number(/size-pack: (\d+)/.exec(await sh('git', ['count-objects', '-v'], { cwd: src }))?.[1] ?? 0) / 1024

  const cgitRoot = path.join(tmp, 'cgit')
  await sh('git', ['init', '-q', '--bare', '-b', 'main', path.join(cgitRoot, 'repo.git')], { env })
  const cg = await startCgit(cgitRoot)
  const ours = await startOurs(path.join(tmp, 'data'), false, opts.databaseUrl)
  try {
    const cgit = await scenario(`${cg.url}/repo.git`, src, path.join(tmp, 'w-cgit'), env)
    const room = await createRoom(ours.url)
    const oursRemote = `${ours.url}/rooms/${room}.git`
    const push = await sampled(ours.rssMb, () => sh('git', ['push', '-q', oursRemote, 'main'], { cwd: src, env }))
    const work = path.join(tmp, 'w-ours')
    const clone = path.join(work, 'clone.git')
    const cloned = await sampled(ours.rssMb, () => sh('git', ['clone', '-q', '--bare', oursRemote, clone], { env }))
    // Memory: the same push and clone against routes/git alone (the embedded database dominates the full app's RSS).
    const alone = await startOurs(path.join(tmp, 'data-alone'), true)
    let mem: { idle: number; push: number; clone: number }
    try {
      const idle = alone.rssMb()
      const p = await sampled(alone.rssMb, () => sh('git', ['push', '-q', `${alone.url}/rooms/r1.git`, 'main'], { cwd: src, env }))
      const c = await sampled(alone.rssMb, () => sh('git', ['clone', '-q', '--bare', `${alone.url}/rooms/r1.git`, path.join(tmp, 'alone.git')], { env }))
      mem = { idle, push: p.peak, clone: c.peak }
    } finally {
      await alone.stop()
    }
    const fullIdle = ours.rssMb()
    // Fetches: reuse the scenario's fetch part on a fresh room to keep it identical.
    const room2 = await createRoom(ours.url)
    const r2 = await scenario(`${ours.url}/rooms/${room2}.git`, src, path.join(tmp, 'w-ours2'), env)
    const result: GitBenchResult = {
      commits,
      objects,
      packMb,
      cgit,
      ours: { pushS: push.ms / 1000, cloneS: cloned.ms / 1000, fetchFewMs: r2.fetchFewMs },
      oursRssMb: mem,
      fullAppRssMb: { idle: fullIdle, peak: Math.max(push.peak, cloned.peak) },
      backend: opts.databaseUrl ? 'PostgreSQL' : 'embedded PGlite',
    }
    await sh('git', ['--git-dir', clone, 'fsck', '--no-progress'], { env })
    print(result)
    if (opts.write !== false) writeBenchmarks(result)
    return result
  } finally {
    await ours.stop()
    cg.server.close()
    rmSync(tmp, { recursive: true, force: true })
  }
}

function rows(r: GitBenchResult): string[] {
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`
  return [
    `| operation | ours | C git http-backend | ratio | target |`,
    `|---|---|---|---|---|`,
    `| push (${r.commits} commits, ${r.objects} objects, ${r.packMb.toFixed(1)} MB pack) | ${r.ours.pushS.toFixed(2)} s | ${r.cgit.pushS.toFixed(2)} s | ${ratio(r.ours.pushS, r.cgit.pushS)} | ≤ 2× |`,
    `| clone --bare | ${r.ours.cloneS.toFixed(2)} s | ${r.cgit.cloneS.toFixed(2)} s | ${ratio(r.ours.cloneS, r.cgit.cloneS)} | ≤ 1.5× |`,
    `| fetch of 3 new commits (median of 5, end to end incl. the git client) | ${r.ours.fetchFewMs.toFixed(0)} ms | ${r.cgit.fetchFewMs.toFixed(0)} ms | ${ratio(r.ours.fetchFewMs, r.cgit.fetchFewMs)} | ≤ 50 ms |`,
    `| RSS of routes/git alone: idle → peak during push / during clone | ${r.oursRssMb.idle.toFixed(0)} → ${r.oursRssMb.push.toFixed(0)} / ${r.oursRssMb.clone.toFixed(0)} MB | — | — | ≤ 300 MB |`,
    `| RSS of the whole app (${r.backend}): idle / peak | ${r.fullAppRssMb.idle.toFixed(0)} / ${r.fullAppRssMb.peak.toFixed(0)} MB | — | — | — |`,
  ]
}

function print(r: GitBenchResult): void {
  console.log(rows(r).join('\n'))
}

function machine(): string {
  const cpus = os.cpus()
  return `${cpus[0]?.model ?? 'cpu'} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`
}

function writeBenchmarks(r: GitBenchResult): void {
  const file = path.join(root, 'BENCHMARKS.md')
  const section = [
    '## Git',
    '',
    `\`npx tsx bench/git.ts\` — a generated repository pushed and cloned through our server (own process, embedded store) and through C git's \`git http-backend\` behind a minimal CGI front, with the stock git client ${'(same client for both)'}.`,
    `Machine: ${machine()}; ${new Date().toISOString().slice(0, 10)}; load average ${os.loadavg()[0].toFixed(1)} at the end of the run (the 2 cores are shared with other work, so figures are noisy).`,
    '',
    ...rows(r),
    '',
  ].join('\n')
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\n'
  const start = text.indexOf('## Git\n')
  if (start >= 0) {
    const next = text.indexOf('\n## ', start + 1)
    text = text.slice(0, start) + section + (next >= 0 ? `\n${text.slice(next + 1)}` : '')
  } else text = `${text.trimEnd()}\n\n${section}`
  writeFileSync(file, text)
}

/** Entry point for bench/run.ts. */
export async function run(opts: { databaseUrl?: string } = {}) {
  const r = await runGitBench({ databaseUrl: opts.databaseUrl, write: !opts.databaseUrl })
  return {
    summary: {
      'push s': r.ours.pushS,
      'push vs C git': Number((r.ours.pushS / r.cgit.pushS).toFixed(2)),
      'clone s': r.ours.cloneS,
      'clone vs C git': Number((r.ours.cloneS / r.cgit.cloneS).toFixed(2)),
      'fetch 3 commits ms': Math.round(r.ours.fetchFewMs),
      'git RSS peak MB (routes/git alone)': Math.round(Math.max(r.oursRssMb.push, r.oursRssMb.clone)),
      [`whole app RSS peak MB (${r.backend})`]: Math.round(r.fullAppRssMb.peak),
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--commits')
  const databaseUrl = process.env.DATABASE_URL || undefined
  await runGitBench({ commits: i > 0 ? Number(process.argv[i + 1]) : undefined, databaseUrl, write: !databaseUrl })
}
