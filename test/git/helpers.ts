// Shared helpers for the git tests: an app with git routes on a real port, and the stock git client.
import { execFile } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { buildApp, type AppOptions } from '../../app.ts'
import type { Config } from '../../lib/config.ts'
import { repoPath } from '../../lib/git/repo.ts'
import gitRoutes from '../../routes/git/index.ts'
import { createRoom, tempDir, testConfig, type TestServer } from '../helpers.ts'

/** The app with the git surface, listening on a random loopback port. */
export async function gitServer(t: TestContext, overrides: Partial<Config> = {}, opts: AppOptions = {}): Promise<TestServer> {
  const config = await testConfig(t, overrides)
  const app = await buildApp(config, { logger: false, ...opts })
  // Until app.ts registers the git plugin itself.
  if (!app.hasRoute({ method: 'GET', url: '/rooms/:name/info/refs' })) await app.register(gitRoutes, { config })
  t.after(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const addr = app.server.address()
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
  return { app, url, config }
}

export interface GitRoom {
  roomId: string
  name: string
  /** The creator's agent token. */
  token: string
  /** Clone URL (with credentials when the room has a password). */
  url: string
  /** The bare repository on the server. */
  dir: string
}

export async function gitRoom(s: TestServer, params: Record<string, unknown> = {}): Promise<GitRoom> {
  const r = await createRoom(s, params)
  const auth = params.password ? `x:${encodeURIComponent(String(params.password))}@` : ''
  return { ...r, url: `${s.url.replace('http://', `http://${auth}`)}/rooms/${r.name}.git`, dir: repoPath(s.config.reposDir, r.roomId) }
}

export interface GitResult {
  code: number
  stdout: string
  stderr: string
}

/** A HOME for the git client: no user or system config leaks in. */
export function gitHome(t: TestContext): string {
  const home = tempDir(t, 'convene-git-home-')
  writeFileSync(path.join(home, '.gitconfig'), '[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = trunk\n[advice]\n\tdetachedHead = false\n')
  return home
}

/** A git server with a room, a git HOME, and a fresh repository `a` inside `work` on `branch`. */
export async function gitWorkspace(t: TestContext, branch = 'main', overrides: Partial<Config> = {}) {
  const s = await gitServer(t, overrides)
  const room = await gitRoom(s)
  const home = gitHome(t)
  const work = tempDir(t)
  const a = path.join(work, 'a')
  await gitOk(home, work, ['init', '-q', '-b', branch, 'a'])
  return { s, room, home, work, a }
}

/** Runs git asynchronously (the server shares this process); never throws. */
export function git(home: string, cwd: string, args: string[], env: Record<string, string> = {}): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile(
      'git',
      args,
      {
        cwd,
        maxBuffer: 64 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: home,
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_TERMINAL_PROMPT: '0',
          GIT_ASKPASS: '',
          LANG: 'C',
          ...env,
        },
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    )
  })
}

/** Like git() but fails the test on a non-zero exit. */
export async function gitOk(home: string, cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await git(home, cwd, args, env)
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`)
  return r.stdout
}

/** `git fsck --strict` on the server repository. */
export async function fsck(home: string, repoDir: string): Promise<void> {
  await gitOk(home, repoDir, ['--git-dir', repoDir, 'fsck', '--strict', '--no-progress'])
}

/** Writes files into a work tree and commits them. */
export async function commitFiles(home: string, dir: string, files: Record<string, string | Buffer>, message: string): Promise<string> {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    writeFileSync(path.join(dir, name), content)
  }
  await gitOk(home, dir, ['add', '-A'])
  await gitOk(home, dir, ['commit', '-q', '-m', message])
  return (await gitOk(home, dir, ['rev-parse', 'HEAD'])).trim()
}
