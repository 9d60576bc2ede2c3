// Git under faults: kill -9 mid-push leaves a valid repository with unchanged refs; racing pushes from two instances.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { test } from 'node:test'
import { DATABASE_URL, freshDataDir, tempDir } from '../helpers.ts'
import { commitFiles, fsck, git, gitHome, gitOk } from '../git/helpers.ts'
import { call, spawnServer, type Proc } from '../spawn.ts'

/** A TCP proxy that calls `onBytes` with the running count of client→server bytes. */
async function proxy(t: { after(fn: () => void): void }, target: string, onBytes: (n: number) => void) {
  const { port } = new URL(target)
  let total = 0
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), '127.0.0.1')
    client.on('data', (b) => {
      total += b.length
      upstream.write(b)
      onBytes(total)
    })
    upstream.pipe(client)
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.after(() => server.close())
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
}

const head = async (home: string, dir: string, ref = 'refs/heads/main') => (await git(home, dir, ['--git-dir', dir, 'rev-parse', '--verify', '-q', ref])).stdout.trim()

test('kill -9 during a large push: fsck --strict passes, refs unchanged, the retry succeeds', { timeout: 120_000 }, async (t) => {
  const dataDir = await freshDataDir(t)
  const env = { DATA_DIR: dataDir, DATABASE_URL: DATABASE_URL ?? '' }
  let srv: Proc = await spawnServer(env)
  t.after(() => srv.kill9())
  const name = `gitkill-${Date.now().toString(36)}`
  const room = await call(srv.url, 'room.create', { agentName: 'alice', name })
  const repoDir = path.join(dataDir, 'repos', `${room.data.roomId}.git`)
  const home = gitHome(t)
  const work = tempDir(t, 'convene-gitkill-')
  await gitOk(home, work, ['init', '-q', '-b', 'main'])
  const base = await commitFiles(home, work, { 'README.md': 'base\n' }, 'base')
  await gitOk(home, work, ['push', '-q', `${srv.url}/rooms/${name}.git`, 'main'])
  assert.equal(await head(home, repoDir), base)

  writeFileSync(path.join(work, 'big.bin'), randomBytes(24 * 1024 * 1024)) // incompressible: the pack is as big
  const big = await commitFiles(home, work, {}, 'big')
  let killed: Promise<void> | null = null
  const via = await proxy(t, srv.url, (n) => {
    if (n > 4 * 1024 * 1024 && !killed) killed = srv.kill9()
  })
  const failed = await git(home, work, ['push', `${via}/rooms/${name}.git`, 'main'])
  assert.notEqual(failed.code, 0, 'the push was cut off')
  assert.ok(killed, 'the server was killed mid-push')
  await killed

  await fsck(home, repoDir)
  assert.equal(await head(home, repoDir), base, 'main did not move')
  srv = await spawnServer(env)
  await gitOk(home, work, ['push', '-q', `${srv.url}/rooms/${name}.git`, 'main'])
  assert.equal(await head(home, repoDir), big, 'the retry went through')
  await fsck(home, repoDir)
  await srv.stop()
})

test('two pushes racing on one ref from two instances: exactly one wins', { skip: DATABASE_URL ? false : 'two instances need a shared PostgreSQL (DATABASE_URL unset)', timeout: 120_000 }, async (t) => {
  const dataDir = await freshDataDir(t)
  const env = { DATA_DIR: dataDir, DATABASE_URL: DATABASE_URL! }
  const [a, b] = await Promise.all([spawnServer(env), spawnServer(env)])
  t.after(() => Promise.all([a.kill9(), b.kill9()]))
  const name = `gitrace-${Date.now().toString(36)}`
  const room = await call(a.url, 'room.create', { agentName: 'alice', name })
  const repoDir = path.join(dataDir, 'repos', `${room.data.roomId}.git`)
  const home = gitHome(t)
  const seedDir = tempDir(t, 'convene-gitrace-')
  await gitOk(home, seedDir, ['init', '-q', '-b', 'main'])
  let tip = await commitFiles(home, seedDir, { 'README.md': 'base\n' }, 'base')
  await gitOk(home, seedDir, ['push', '-q', `${a.url}/rooms/${name}.git`, 'main'])

  for (let round = 0; round < 3; round++) {
    const clones = await Promise.all(
      [a, b].map(async (srv, i) => {
        const dir = tempDir(t, 'convene-gitrace-clone-')
        await gitOk(home, dir, ['clone', '-q', `${srv.url}/rooms/${name}.git`, '.'])
        const sha = await commitFiles(home, dir, { [`f${i}.txt`]: `round ${round} from ${i}\n${'x'.repeat(200_000 * (i + 1))}` }, `r${round} ${i}`)
        return { dir, sha, url: `${srv.url}/rooms/${name}.git` }
      }),
    )
    const results = await Promise.all(clones.map((c) => git(home, c.dir, ['push', c.url, 'HEAD:main'])))
    const winners = results.map((r, i) => (r.code === 0 ? i : -1)).filter((i) => i >= 0)
    assert.equal(winners.length, 1, `exactly one push wins (round ${round}): ${results.map((r) => r.stderr.trim().split('\n').at(-1)).join(' | ')}`)
    const now = await head(home, repoDir)
    assert.equal(now, clones[winners[0]].sha, 'main is the winner\'s commit')
    assert.notEqual(now, tip)
    tip = now
    await fsck(home, repoDir)
  }
  await Promise.all([a.stop(), b.stop()])
})
