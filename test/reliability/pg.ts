// A throwaway PostgreSQL (initdb + pg_ctl as the postgres user) that tests may stop, start and freeze.
import { execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'

function pgBin(): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...safeList('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`)]) {
    if (dir && existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl'))) return dir
  }
  return null
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

function postgresUid(): number | null {
  try {
    return Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
  } catch {
    return null
  }
}

/** Why a throwaway PostgreSQL cannot run here, or null when it can. */
export function throwawayPgUnavailable(): string | null {
  if (!pgBin()) return 'PostgreSQL binaries (initdb, pg_ctl) not found'
  if (process.getuid?.() === 0 && postgresUid() === null) return 'running as root without a postgres user'
  return null
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })

export interface ThrowawayPg {
  url: string
  stop(mode?: 'fast' | 'immediate'): void
  start(): void
  /** Freezes every process of the cluster (SIGSTOP): connections open but nothing answers, as behind a partition. */
  pause(): void
  resume(): void
  destroy(): void
}

export async function throwawayPg(): Promise<ThrowawayPg> {
  const bin = pgBin()!
  const dir = mkdtempSync(path.join(tmpdir(), 'convene-pg-'))
  const port = await freePort()
  const root = process.getuid?.() === 0
  if (root) chownSync(dir, postgresUid()!, -1)
  const run = (cmd: string, args: string[]) =>
    execFileSync(root ? 'runuser' : path.join(bin, cmd), root ? ['-u', 'postgres', '--', path.join(bin, cmd), ...args] : args, { stdio: 'pipe', timeout: 60_000 })
  run('initdb', ['-D', `${dir}/data`, '-A', 'trust', '-U', 'postgres'])
  const start = () => run('pg_ctl', ['-D', `${dir}/data`, '-l', `${dir}/log`, '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100`, 'start'])
  start()
  let running = true
  const paused: number[] = []
  /** The postmaster and its children (backends, background workers). */
  const processes = () => {
    const postmaster = Number(readFileSync(`${dir}/data/postmaster.pid`, 'utf8').split('\n', 1)[0])
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)], { encoding: 'utf8' }).split('\n').filter((l) => l.trim())
    return [postmaster, ...children.map(Number)]
  }
  const resume = () => {
    for (const pid of paused.splice(0)) {
      try {
        process.kill(pid, 'SIGCONT')
      } catch {}
    }
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start() {
      start()
      running = true
    },
    stop(mode = 'fast') {
      run('pg_ctl', ['-D', `${dir}/data`, '-m', mode, '-w', 'stop'])
      running = false
    },
    pause() {
      for (const pid of processes()) {
        process.kill(pid, 'SIGSTOP')
        paused.push(pid)
      }
    },
    resume,
    destroy() {
      resume()
      try {
        if (running) run('pg_ctl', ['-D', `${dir}/data`, '-m', 'immediate', 'stop'])
      } catch {}
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
