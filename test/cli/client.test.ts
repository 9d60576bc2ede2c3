// The typed client (imported as the package's `convene/client` entry) against a real server: one method per action
// of the table, typed errors, wait(), follow() resuming across dropped connections, git URLs stock git pushes with.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer, connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { ConveneError, createClient, type ActionMethod, type ActionName, type Convene, type Message } from 'convene/client'
import { ACTIONS, DOMAIN_ACTIONS } from '../../lib/actions/index.ts'
import { startApp, tempDir, uniq } from '../helpers.ts'
import { closedPort } from './run.ts'

// At compile time: every action the typed table names is a method of that name and type (tsc fails otherwise).
type MethodAt<N extends ActionName> = N extends `${infer G}.${infer V}`
  ? G extends keyof Convene
    ? V extends keyof Convene[G]
      ? Convene[G][V]
      : never
    : never
  : N extends keyof Convene
    ? Convene[N]
    : never
type Untyped = { [N in ActionName]: MethodAt<N> extends ActionMethod<N> ? never : N }[ActionName]
const everyActionTyped: [Untyped] extends [never] ? true : false = true

/** The method an action name stands for, found on the client as a user would reach it. */
function methodOf(client: Convene, name: string): unknown {
  const [group, verb] = name.split('.')
  const g = (client as unknown as Record<string, unknown>)[group] as Record<string, unknown>
  return verb === undefined ? g : g[verb]
}

test('every action of the table is a typed method of the client, and reaches that action', async (t) => {
  assert.equal(everyActionTyped, true)
  // The client's types come from DOMAIN_ACTIONS (+ help): it must be the whole table.
  assert.deepEqual([...DOMAIN_ACTIONS.map((a) => a.name), 'help'].sort(), ACTIONS.map((a) => a.name).sort())
  const { url } = await startApp(t)
  const client = createClient({ server: url })
  for (const a of ACTIONS) {
    const method = methodOf(client, a.name)
    assert.equal(typeof method, 'function', `${a.name} is no method of the client`)
    // Called with nothing, each either works or is refused by that action's own checks, never as unknown.
    try {
      await (method as (p?: object) => Promise<unknown>)({})
    } catch (err) {
      assert.ok(err instanceof ConveneError, `${a.name}: ${err}`)
      assert.notEqual(err.code, 'UNKNOWN_ACTION', a.name)
      assert.ok(['MISSING_PARAMETER', 'INVALID_PARAMETER'].includes(err.code), `${a.name}: ${err.code} ${err.message}`)
    }
  }
  const docs = JSON.stringify(await client.help())
  for (const a of ACTIONS) assert.ok(docs.includes(`"${a.name}"`), `help documents ${a.name}`)
})

test('typed calls, typed errors, and wait()', async (t) => {
  const { url } = await startApp(t)
  const client = createClient({ server: url })
  const name = uniq('client')
  const alice = client.as(await client.room.create({ agentName: 'alice', name }))
  const bob = client.as(await client.room.join({ roomId: name, agentName: 'bob' }))
  const sent = await alice.message.send({ text: 'Psst', to: 'bob' })
  assert.equal(typeof sent.seq, 'number')
  const unread = await bob.message.unread()
  assert.deepEqual(unread.messages.map((m) => [m.from, m.to, m.body]), [['alice', 'bob', 'Psst']])

  await assert.rejects(client.room.join({ roomId: uniq('nowhere'), agentName: 'x' }), (e: unknown) => e instanceof ConveneError && e.code === 'ROOM_NOT_FOUND')
  await assert.rejects(client.message.send({ text: 'hi', agentToken: crypto.randomUUID() }), (e: unknown) => e instanceof ConveneError && e.code === 'INVALID_TOKEN')
  await assert.rejects(bob.room.kick({ targetAgent: 'alice' }), (e: unknown) => e instanceof ConveneError && e.code === 'ADMIN_REQUIRED')
  const port = await closedPort()
  await assert.rejects(createClient({ server: `http://127.0.0.1:${port}` }).room.list(), (e: unknown) => e instanceof ConveneError && e.code === 'NETWORK_ERROR')

  // Nothing unread: wait() holds until alice writes; an empty result once its time is up.
  const waiting = bob.wait({ timeout: 30 })
  await alice.message.send({ text: 'are you there?' })
  assert.deepEqual((await waiting).messages.map((m) => m.body), ['are you there?'])
  assert.deepEqual((await bob.wait({ timeout: 0.2 })).messages, [])
})

test('follow() resumes after dropped connections with no gap and no duplicate', async (t) => {
  const { url } = await startApp(t)
  const upstream = new URL(url)
  // A proxy between the client and the server that can cut every connection and refuse new ones.
  const sockets = new Set<Socket>()
  let refusing = false
  const proxy = createServer((c) => {
    if (refusing) return c.destroy()
    const u = connect(Number(upstream.port), upstream.hostname)
    for (const s of [c, u]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => sockets.delete(s))
    }
    c.pipe(u).pipe(c)
  })
  proxy.listen(0, '127.0.0.1')
  await once(proxy, 'listening')
  t.after(() => proxy.close())
  const via = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`

  const direct = createClient({ server: url })
  const name = uniq('follow')
  const alice = direct.as(await direct.room.create({ agentName: 'alice', name }))
  const bob = createClient({ server: via }).as(await direct.room.join({ roomId: name, agentName: 'bob' }))

  const got: Message[] = []
  const opens: (number | undefined)[] = []
  const retries: string[] = []
  let wake: () => void = () => {}
  const arrived = (body: string) => new Promise<void>((resolve) => (wake = () => got.some((m) => m.body === body) && resolve()))
  let opened!: () => void
  const firstOpen = new Promise<void>((resolve) => (opened = resolve))
  const reading = (async () => {
    for await (const m of bob.follow({ retryMs: 20, onOpen: (after) => (opens.push(after), opened()), onRetry: (r) => retries.push(r) })) {
      got.push(m)
      wake()
      if (m.body === 'three') break
    }
  })()

  await firstOpen
  let seen = arrived('one')
  await alice.message.send({ text: 'one' })
  await seen
  const oneSeq = got.find((m) => m.body === 'one')!.seq

  // Cut the stream and keep it down while two messages are sent.
  refusing = true
  for (const s of sockets) s.destroy()
  await alice.message.send({ text: 'two' })
  await alice.message.send({ text: 'three', to: 'bob' })
  seen = arrived('three')
  refusing = false
  await seen
  await reading

  const bodies = got.filter((m) => m.from !== 'room-bot').map((m) => m.body)
  assert.deepEqual(bodies, ['one', 'two', 'three'])
  const seqs = got.map((m) => m.seq)
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b))
  assert.equal(new Set(seqs).size, seqs.length)
  assert.ok(retries.length >= 1)
  assert.equal(opens[0], undefined)
  assert.equal(opens.at(-1), oneSeq, 'the last reconnection resumed after the last seq received')
})

test('gitUrl() carries the agent: stock git rewrites main as alice, which needs her credentials', async (t) => {
  const { url } = await startApp(t)
  const client = createClient({ server: url })
  const alice = client.as(await client.room.create({ agentName: 'alice', name: uniq('git') }))
  const gitUrl = alice.gitUrl()
  assert.equal(new URL(gitUrl).username, 'alice')
  assert.equal(alice.gitUrl({ credentials: false }), `${url}/rooms/${alice.roomId}.git`)

  const home = tempDir(t)
  const dir = join(home, 'work')
  mkdirSync(dir)
  // No user or system git config (credential helpers) and no prompt: only the URL's credentials count.
  const env = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' }
  const git = (...args: string[]) => promisify(execFile)('git', ['-c', 'user.name=a', '-c', 'user.email=a@example.com', ...args], { cwd: dir, env })
  await git('init', '-q', '-b', 'main')
  writeFileSync(join(dir, 'README.md'), 'hi\n')
  await git('add', '.')
  await git('commit', '-q', '-m', 'first')
  await git('push', '-q', gitUrl, 'main')
  // Rewriting the default branch needs an admin: without credentials git is refused, with gitUrl()'s it is alice.
  await git('commit', '-q', '--amend', '-m', 'first, reworded')
  await assert.rejects(git('push', '-q', '-f', alice.gitUrl({ credentials: false }), 'main'))
  await git('push', '-q', '-f', gitUrl, 'main')
  const history = await alice.message.history()
  assert.ok(history.messages.some((m) => m.from === 'room-bot' && /^Git push to main by alice/.test(m.body)), JSON.stringify(history.messages.map((m) => m.body)))
})
