import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { a2a, tempDir } from '../helpers.ts'
import { commitFiles, fsck, git, gitHome, gitOk, gitRoom, gitServer } from './helpers.ts'

test('clone of an empty room lands on main (protocol v2), push and clone back, fsck clean', async (t) => {
  const s = await gitServer(t)
  const room = await gitRoom(s)
  const home = gitHome(t)
  const work = tempDir(t)
  await gitOk(home, work, ['-c', 'protocol.version=2', 'clone', '-q', room.url, 'a'])
  const a = path.join(work, 'a')
  assert.equal((await gitOk(home, a, ['symbolic-ref', 'HEAD'])).trim(), 'refs/heads/main')
  const c1 = await commitFiles(home, a, { 'README.md': '# hello\n', 'src/x.ts': 'export {}\n' }, 'first')
  await gitOk(home, a, ['push', '-q', 'origin', 'main'])
  assert.ok(existsSync(room.dir))
  await fsck(home, room.dir)
  const history = await a2a(s, 'message.history', { agentToken: room.token, roomId: room.roomId })
  const notices = history.data.messages.filter((m: { from: string }) => m.from === 'room-bot').map((m: { body?: string; text?: string }) => m.body ?? m.text)
  assert.ok(notices.some((b: string) => b === 'Git push to main — 1 commit(s): first'), JSON.stringify(history.data.messages))
  await gitOk(home, work, ['clone', '-q', room.url, 'b'])
  assert.equal((await gitOk(home, path.join(work, 'b'), ['rev-parse', 'HEAD'])).trim(), c1)
  const r = await git(home, work, ['-c', 'protocol.version=0', 'clone', '-q', room.url, 'c'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal((await gitOk(home, path.join(work, 'c'), ['rev-parse', 'HEAD'])).trim(), c1)
})

for (const version of ['0', '2']) {
  test(`protocol v${version}: many commits, incremental pull, round trips between two clones`, async (t) => {
    const s = await gitServer(t)
    const room = await gitRoom(s)
    const home = gitHome(t)
    const work = tempDir(t)
    const v = ['-c', `protocol.version=${version}`]
    const a = path.join(work, 'a')
    await gitOk(home, work, ['init', '-q', '-b', 'main', 'a'])
    for (let i = 0; i < 40; i++) {
      await commitFiles(home, a, { [`dir${i % 5}/f${i}.txt`]: `line ${i}\n`.repeat(50 + i), 'shared.txt': `version ${i}\n`.repeat(200) }, `commit ${i}`)
    }
    await gitOk(home, a, [...v, 'push', '-q', room.url, 'main'])
    await fsck(home, room.dir)
    await gitOk(home, work, [...v, 'clone', '-q', room.url, 'b'])
    const b = path.join(work, 'b')
    assert.equal((await gitOk(home, b, ['rev-list', '--count', 'HEAD'])).trim(), '40')
    // b pushes more; a pulls them (negotiation with haves, small pack).
    for (let i = 0; i < 3; i++) await commitFiles(home, b, { 'shared.txt': `from b ${i}\n`.repeat(200), [`b/${i}.txt`]: `${i}\n` }, `b ${i}`)
    await gitOk(home, b, [...v, 'push', '-q', 'origin', 'main'])
    await fsck(home, room.dir)
    await gitOk(home, a, [...v, 'pull', '-q', '--ff-only', room.url, 'main'])
    assert.equal((await gitOk(home, a, ['rev-parse', 'HEAD'])).trim(), (await gitOk(home, b, ['rev-parse', 'HEAD'])).trim())
    await gitOk(home, a, ['fsck', '--strict', '--no-progress'])
    // A fetch with nothing new.
    const r = await git(home, b, [...v, 'fetch', 'origin'])
    assert.equal(r.code, 0, r.stderr)
    await fsck(home, room.dir)
  })
}

test('room expiry deletes the repository', async (t) => {
  let now = Date.now()
  const s = await gitServer(t, {}, { clock: () => new Date(now) })
  const room = await gitRoom(s)
  const home = gitHome(t)
  const work = tempDir(t)
  await gitOk(home, work, ['clone', '-q', room.url, 'a'])
  const a = path.join(work, 'a')
  await commitFiles(home, a, { 'x.txt': 'x\n' }, 'x')
  await gitOk(home, a, ['push', '-q', 'origin', 'main'])
  assert.ok(existsSync(room.dir))
  now += 30 * 86_400_000
  await s.app.rooms.reapIdleRooms()
  assert.equal(existsSync(room.dir), false)
})
