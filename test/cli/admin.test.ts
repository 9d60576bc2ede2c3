// Operator commands: `convene server`, and `convene admin` on the server's own store and repositories (the export's
// bundle cloned by stock git).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { DATABASE_URL, freshDataDir, startApp, tempDir, testConfig, uniq } from '../helpers.ts'
import { cliFor, expectExit, json } from './run.ts'

function gitIn(home: string, cwd: string) {
  const env = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' }
  return async (...args: string[]) => (await promisify(execFile)('git', ['-c', 'user.name=a', '-c', 'user.email=a@example.com', ...args], { cwd, env })).stdout
}

test('admin rooms, room, export (messages as JSON lines, a bundle stock git clones) and gc', async (t) => {
  const config = await testConfig(t)
  const server = await startApp(null, {}, { config })
  let running = true
  t.after(() => (running ? server.app.close() : undefined))
  const cli = cliFor(t, server.url)
  const room = uniq('admin')
  const created = json(await cli(['room', 'create', room, '--as', 'alice', '--json']))
  expectExit(await cli(['room', 'join', room, '--as', 'bob']), 0)
  expectExit(await cli(['send', '--room', room, '--as', 'alice', 'Hello, room!']), 0)
  expectExit(await cli(['send', '--room', room, '--as', 'alice', '--to', 'bob', 'Psst, Bob.']), 0)

  // A commit, a branch and a tag in the room's repository, pushed by stock git.
  const home = tempDir(t)
  const work = join(home, 'work')
  mkdirSync(work)
  const git = gitIn(home, work)
  await git('init', '-q', '-b', 'main')
  writeFileSync(join(work, 'README.md'), 'exported\n')
  await git('add', '.')
  await git('commit', '-q', '-m', 'first')
  await git('tag', '-a', 'v1', '-m', 'one')
  await git('checkout', '-q', '-b', 'topic')
  writeFileSync(join(work, 'topic.txt'), 'side\n')
  await git('add', '.')
  await git('commit', '-q', '-m', 'side')
  const url = expectExit(await cli(['git-url', '--room', room, '--as', 'alice']), 0).stdout.trim()
  await git('push', '-q', url, 'main', 'topic', 'v1')

  const env = { DATA_DIR: config.dataDir, REPOS_DIR: config.reposDir, DATABASE_URL, LOG_LEVEL: 'silent' }
  if (!DATABASE_URL) {
    // The embedded store is the running server's: admin refuses rather than open it twice.
    const refused = expectExit(await cli(['admin', 'rooms'], { env }), 1)
    assert.match(refused.stderr, /^convene admin rooms: the embedded store in .* is open: stop the server first/)
    await server.app.close()
    running = false
  }

  const rooms = json(await cli(['admin', 'rooms', '--json'], { env }))
  const mine = rooms.find((r: { id: string }) => r.id === created.roomId)
  assert.equal(mine.name, room)
  assert.equal(mine.agents, 2)
  const detail = json(await cli(['admin', 'room', room, '--json'], { env }))
  assert.deepEqual(detail.agents.map((a: { name: string }) => a.name).sort(), ['alice', 'bob'])
  assert.deepEqual(detail.repository.refs.map((r: { name: string }) => r.name), ['refs/heads/main', 'refs/heads/topic', 'refs/tags/v1'])

  const out = join(tempDir(t), 'export')
  const exported = json(await cli(['admin', 'export', created.roomId, '--out', out, '--json'], { env }))
  assert.equal(exported.out, out)
  const lines = readFileSync(join(out, 'messages.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  assert.equal(lines.length, exported.messages)
  assert.deepEqual(lines.map((m) => m.seq), [...lines.keys()].map((i) => i + 1))
  assert.ok(lines.some((m) => m.from === 'alice' && m.to === 'bob' && m.body === 'Psst, Bob.'), 'DMs are exported')
  assert.ok(lines.some((m) => m.from === 'room-bot' && /^Git push/.test(m.body)))
  assert.equal(statSync(join(out, 'messages.jsonl')).mode & 0o777, 0o600)
  const details = JSON.parse(readFileSync(join(out, 'room.json'), 'utf8'))
  assert.equal(details.room.name, room)
  assert.equal(details.repository.head, 'refs/heads/main')

  // Stock git reads the bundle: a clone lands on main with every branch and the annotated tag.
  const bundle = join(out, 'repository.bundle')
  const clone = join(home, 'clone')
  await gitIn(home, home)('clone', '-q', bundle, clone)
  const inClone = gitIn(home, clone)
  assert.equal(readFileSync(join(clone, 'README.md'), 'utf8'), 'exported\n')
  assert.equal((await inClone('rev-parse', '--abbrev-ref', 'HEAD')).trim(), 'main')
  assert.equal((await inClone('rev-parse', 'origin/topic')).trim(), (await git('rev-parse', 'topic')).trim())
  assert.equal((await inClone('cat-file', '-t', 'v1')).trim(), 'tag')
  await inClone('fsck', '--strict')
  assert.match(await gitIn(home, clone)('bundle', 'verify', bundle), /complete history/)

  // gc: a repository whose room is gone is deleted; the room's own stays.
  const orphan = join(config.reposDir, `${crypto.randomUUID()}.git`)
  mkdirSync(orphan, { recursive: true })
  writeFileSync(join(orphan, 'HEAD'), 'ref: refs/heads/main\n')
  const gc = json(await cli(['admin', 'gc', '--json'], { env }))
  assert.equal(gc.orphanRepositories, 1)
  assert.ok(!existsSync(orphan))
  assert.ok(existsSync(join(config.reposDir, `${created.roomId}.git`, 'HEAD')))

  assert.match(expectExit(await cli(['admin', 'export', uniq('none'), '--out', out], { env }), 1).stderr, /^convene admin export: no room named /)
  assert.match(expectExit(await cli(['admin', 'room'], { env }), 2).stderr, /give one room/)
})

test('convene server runs the server from the environment, as npm start does, and stops on SIGTERM', async (t) => {
  const dataDir = await freshDataDir(t)
  const cli = cliFor(t, undefined)
  const server = cli.start(['server', '--port', '0', '--data-dir', dataDir], {
    env: { LOG_LEVEL: 'info', DATABASE_URL, RATE_LIMIT_MAX: '0', MAX_ROOMS_PER_IP_PER_HOUR: '0', MAX_EVENT_LOOP_DELAY_MS: '0' },
  })
  await server.waitFor('Server listening at', 'stdout')
  const url = /Server listening at (http:\/\/[\d.]+:\d+)/.exec(server.out().stdout)![1]
  const room = uniq('served')
  expectExit(await cli(['room', 'create', room, '--as', 'alice', '--server', url]), 0)
  assert.equal(json(await cli(['room', 'info', room, '--server', url, '--json'])).name, room)
  server.child.kill('SIGTERM')
  assert.equal((await server.done).code, 0)
  if (!DATABASE_URL) assert.ok(existsSync(join(dataDir, 'pglite', 'PG_VERSION')), 'the store is in --data-dir')
})
