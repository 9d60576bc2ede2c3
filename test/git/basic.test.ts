import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { tempDir } from '../helpers.ts'
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
  await gitOk(home, work, ['clone', '-q', room.url, 'b'])
  assert.equal((await gitOk(home, path.join(work, 'b'), ['rev-parse', 'HEAD'])).trim(), c1)
  const r = await git(home, work, ['-c', 'protocol.version=0', 'clone', '-q', room.url, 'c'])
  assert.equal(r.code, 0, r.stderr)
})
