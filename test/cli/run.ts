// Runs the real `convene` binary (bin/convene.mjs) as a child process, with its own config directory.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'
import { startApp, tempDir, type TestServer } from '../helpers.ts'

export const BIN = fileURLToPath(new URL('../../bin/convene.mjs', import.meta.url))
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

export interface Cli {
  /** Runs `convene …` to the end. */
  (args: string[], opts?: { env?: Record<string, string | undefined>; input?: string }): Promise<Run>
  /** Starts `convene …` and returns the process, its output so far and its end. */
  start(args: string[], opts?: { env?: Record<string, string | undefined>; input?: string }): Started
  /** Where the tokens are kept. */
  configHome: string
}

export interface Started {
  child: ChildProcess
  out(): { stdout: string; stderr: string }
  /** Resolves once stderr or stdout contains `text`. */
  waitFor(text: string, stream?: 'stdout' | 'stderr'): Promise<void>
  done: Promise<Run>
}

/** The test's environment without the caller's own Convene settings. */
function baseEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env }
  for (const k of ['CONVENE_URL', 'CONVENE_ROOM', 'CONVENE_AS', 'NODE_OPTIONS']) delete env[k]
  return env
}

/** A CLI bound to `server` (CONVENE_URL) with a fresh config home. */
export function cliFor(t: TestContext, server: string | undefined): Cli {
  const configHome = tempDir(t, 'convene-cli-home-')
  const envFor = (extra: Record<string, string | undefined> = {}) => {
    const env: Record<string, string | undefined> = { ...baseEnv(), XDG_CONFIG_HOME: configHome, ...(server ? { CONVENE_URL: server } : {}), ...extra }
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k]
    return env as Record<string, string>
  }
  const start = (args: string[], opts: { env?: Record<string, string | undefined>; input?: string } = {}): Started => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: envFor(opts.env), stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const waiters: { text: string; stream?: 'stdout' | 'stderr'; resolve: () => void }[] = []
    const check = () => {
      for (const w of [...waiters]) {
        const hay = w.stream === 'stdout' ? stdout : w.stream === 'stderr' ? stderr : stdout + stderr
        if (hay.includes(w.text)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve()
        }
      }
    }
    child.stdout!.on('data', (b: Buffer) => ((stdout += b), check()))
    child.stderr!.on('data', (b: Buffer) => ((stderr += b), check()))
    if (opts.input !== undefined) child.stdin!.end(opts.input)
    const done = once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }))
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    return {
      child,
      out: () => ({ stdout, stderr }),
      waitFor: (text, stream) =>
        new Promise<void>((resolve, reject) => {
          waiters.push({ text, stream, resolve })
          check()
          done.then((r) => reject(new Error(`convene ${args.join(' ')} exited ${r.code} before printing ${JSON.stringify(text)}:\n${r.stdout}\n${r.stderr}`)))
        }),
      done,
    }
  }
  const run = ((args: string[], opts = {}) => start(args, opts).done) as Cli
  run.start = start
  run.configHome = configHome
  return run
}

/** A test server and a CLI pointed at it. */
export async function serverAndCli(t: TestContext): Promise<{ server: TestServer; cli: Cli }> {
  const server = await startApp(t)
  return { server, cli: cliFor(t, server.url) }
}

/** Fails with the run's output unless it exited with `code`. */
export function expectExit(r: Run, code: number): Run {
  if (r.code !== code) throw new Error(`expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  return r
}

/** A local port nothing listens on. */
export async function closedPort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as { port: number }).port
  s.close()
  await once(s, 'close')
  return port
}

/** The JSON an exited `--json` command printed. */
export const json = (r: Run): any => JSON.parse(expectExit(r, 0).stdout)
