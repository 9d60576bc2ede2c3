// The server in a child process: for tests that signal or kill -9 it, and for the benchmarks.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'

export interface Proc {
  url: string
  child: ChildProcess
  /** stdout+stderr so far (bounded), for failure messages. */
  output(): string
  /** Resolves once the output matches (log lines are written in batches, up to 100 ms late). */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>
  /** Resident memory of the server process, in MB. */
  rssMb(): number
  kill9(): Promise<void>
  stop(): Promise<void>
}

const ROOT = new URL('../', import.meta.url).pathname

/** Starts `script` (default server.ts; a .js file, e.g. the build's dist/server.js, runs without tsx) on a random port and resolves once it listens. */
export async function spawnServer(env: Record<string, string>, opts: { script?: string; nodeArgs?: string[] } = {}): Promise<Proc> {
  const script = opts.script ?? 'server.ts'
  const loader = script.endsWith('.js') ? [] : ['--import', 'tsx']
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...loader, script], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', RATE_LIMIT_MAX: '0', MAX_ROOMS_PER_IP_PER_HOUR: '0', MAX_EVENT_LOOP_DELAY_MS: '0', ALLOW_PRIVATE_ENDPOINTS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const keep = (b: Buffer) => {
    out += b
    if (out.length > 200_000) out = out.slice(-50_000)
  }
  child.stderr!.on('data', keep)
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${out.slice(-2000)}`)), 60_000)
    child.stdout!.on('data', (b: Buffer) => {
      keep(b)
      const m = /Server listening at (http:\/\/[\d.]+:\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited ${code}:\n${out.slice(-2000)}`))
    })
  })
  const exited = once(child, 'exit')
  return {
    url,
    child,
    output: () => out,
    waitForOutput: (re, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(out)) return resolve()
        const timer = setTimeout(() => done(new Error(`no ${re} in the server's output within ${timeoutMs} ms`)), timeoutMs)
        const check = () => re.test(out) && done()
        const done = (err?: Error) => {
          clearTimeout(timer)
          child.stdout!.off('data', check)
          child.stderr!.off('data', check)
          if (err) reject(err)
          else resolve()
        }
        child.stdout!.on('data', check)
        child.stderr!.on('data', check)
      }),
    rssMb() {
      try {
        return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
      } catch {
        return 0
      }
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(t)
    },
  }
}

/** One A2A action over HTTP; resolves to the reply's data part and text (throws on transport errors). */
export async function call(url: string, action: string, params: Record<string, unknown>, opts: { contextId?: string; text?: string; signal?: AbortSignal } = {}) {
  const res = await fetch(`${url}/a2a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    signal: opts.signal,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'SendMessage',
      params: { message: { role: 'user', parts: [{ text: opts.text ?? '' }], ...(opts.contextId ? { contextId: opts.contextId } : {}), metadata: { action, ...params } } },
    }),
  })
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`)
  const body = (await res.json()) as any
  if (body.error) throw new Error(`JSON-RPC ${body.error.code}`)
  const msg = body.result.message ?? body.result
  return { status: res.status, text: msg.parts[0].text as string, data: (msg.parts[1]?.data ?? {}) as Record<string, any> }
}

/** Every message of a room visible to `token`, oldest first (history paged from the newest). */
export async function allMessages(url: string, token: string, roomId: string) {
  const first = await call(url, 'message.history', { agentToken: token, limit: 100, offset: 0 }, { contextId: roomId })
  const total = first.data.total as number
  const pages = [first.data.messages]
  for (let offset = 100; offset < total; offset += 100) {
    pages.push((await call(url, 'message.history', { agentToken: token, limit: 100, offset }, { contextId: roomId })).data.messages)
  }
  return { total, messages: pages.reverse().flat() as { id: string; seq: number; body: string }[] }
}

/** Runs a README-style shell script (bash -euo pipefail) to its end; its exit code and output. */
export async function runScript(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { env })
  let out = ''
  let err = ''
  child.stdout!.on('data', (b) => (out += b))
  child.stderr!.on('data', (b) => (err += b))
  const [code] = (await once(child, 'close')) as [number]
  return { code, out, err }
}
