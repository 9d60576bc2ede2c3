// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { commitFiles, fsck, git, gitOk, gitWorkspace } from './helpers.ts'

test('branches, annotated and lightweight tags, delete, force push, HEAD follows the first pushed branch', async (t) => {
  const { s, room, home, work, a } = await gitWorkspace(t, 'trunk')
  const c1 = await commitFiles(home, a, { 'a.txt': 'a\n' }, 'one')
  await gitOk(home, a, ['remote', 'add', 'origin', room.url])
  // First push is not to main: HEAD must follow it so clones check something out.
  await gitOk(home, a, ['push', '-q', 'origin', 'trunk'])
  assert.equal(readFileSync(path.join(room.dir, 'HEAD'), 'utf8').trim(), 'ref: refs/heads/trunk')
  await fsck(home, room.dir)

  await gitOk(home, a, ['checkout', '-q', '-b', 'feature'])
  const c2 = await commitFiles(home, a, { 'b.txt': 'b\n' }, 'two')
  await gitOk(home, a, ['tag', '-a', 'v1', '-m', 'release 1'])
  await gitOk(home, a, ['tag', 'light', c1])
  await gitOk(home, a, ['push', '-q', 'origin', 'feature', '--tags'])
  await fsck(home, room.dir)

  const ls = await gitOk(home, work, ['ls-remote', room.url])
  assert.match(ls, new RegExp(`${c2}\\s+refs/heads/feature`))
  assert.match(ls, new RegExp(`${c1}\\s+refs/tags/light`))
  assert.match(ls, new RegExp(`${c2}\\s+refs/tags/v1\\^\\{\\}`))
  assert.match(ls, new RegExp(`${c1}\\s+HEAD`))

  for (const v of ['0', '2']) {
    await gitOk(home, work, ['-c', `protocol.version=${v}`, 'clone', '-q', room.url, `b${v}`])
    const b = path.join(work, `b${v}`)
    assert.equal((await gitOk(home, b, ['rev-parse', 'v1^{commit}'])).trim(), c2)
    assert.equal((await gitOk(home, b, ['cat-file', '-t', 'v1'])).trim(), 'tag')
    assert.equal((await gitOk(home, b, ['rev-parse', 'origin/feature'])).trim(), c2)
  }

  // Force push: rewrite feature (rewriting and deleting need an agent of the room).
  const asAgent = room.url.replace('http://', `http://alice:${room.token}@`)
  await gitOk(home, a, ['reset', '-q', '--hard', c1])
  const c3 = await commitFiles(home, a, { 'c.txt': 'c\n' }, 'three')
  const plain = await git(home, a, ['push', 'origin', 'feature'])
  assert.notEqual(plain.code, 0)
  await gitOk(home, a, ['push', '-q', '--force', asAgent, 'feature'])
  assert.match(await gitOk(home, work, ['ls-remote', room.url, 'refs/heads/feature']), new RegExp(c3))
  await fsck(home, room.dir)

  // Delete a branch and a tag; no stray .lock files are left or listed.
  await gitOk(home, a, ['push', '-q', asAgent, ':feature', ':refs/tags/light'])
  const after = await gitOk(home, work, ['ls-remote', room.url])
  assert.doesNotMatch(after, /feature|light/)
  assert.deepEqual(readdirSync(path.join(room.dir, 'refs/heads')), ['trunk'])
  await fsck(home, room.dir)

  // An atomic push with one bad ref changes nothing.
  await gitOk(home, a, ['branch', 'x1'])
  const atomic = await git(home, a, ['push', '--atomic', 'origin', 'x1', `${c1}:refs/tags/v1`])
  assert.notEqual(atomic.code, 0)
  assert.doesNotMatch(await gitOk(home, work, ['ls-remote', room.url]), /x1/)
  await fsck(home, room.dir)
})

test('concurrent pushes to the same ref: exactly one wins, the other is refused', async (t) => {
  const { s, room, home, work, a } = await gitWorkspace(t, 'main')
  await commitFiles(home, a, { 'base.txt': 'base\n' }, 'base')
  await gitOk(home, a, ['push', '-q', room.url, 'main'])
  const clones: string[] = []
  for (let i = 0; i < 4; i++) {
    await gitOk(home, work, ['clone', '-q', room.url, `c${i}`])
    const dir = path.join(work, `c${i}`)
    await commitFiles(home, dir, { [`f${i}.txt`]: `${i}\n`.repeat(1000) }, `change ${i}`)
    clones.push(dir)
  }
  const results = await Promise.all(clones.map((dir) => git(home, dir, ['push', 'origin', 'main'])))
  const ok = results.filter((r) => r.code === 0)
  assert.equal(ok.length, 1, results.map((r) => r.stderr).join('\n---\n'))
  for (const r of results.filter((x) => x.code !== 0)) assert.match(r.stderr, /fetch first|stale info|rejected/)
  await fsck(home, room.dir)
})
