import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { tempDir } from '../helpers.ts'
import { commitFiles, fsck, git, gitHome, gitOk, gitRoom, gitServer } from './helpers.ts'

test('REPO_QUOTA_BYTES: a push past the room quota is refused and changes nothing; pushes within it work', async (t) => {
  const srv = await gitServer(t, { repoQuotaBytes: 200 * 1024 })
  const room = await gitRoom(srv)
  const home = gitHome(t)
  const work = tempDir(t)
  await gitOk(home, work, ['init', '-q', '-b', 'main'])
  await commitFiles(home, work, { 'small.txt': 'hello\n' }, 'small')
  await gitOk(home, work, ['push', '-q', room.url, 'main'])
  const before = (await gitOk(home, room.dir, ['--git-dir', room.dir, 'rev-parse', 'main'])).trim()

  await commitFiles(home, work, { 'big.bin': randomBytes(400 * 1024) }, 'too big')
  const refused = await git(home, work, ['push', room.url, 'main'])
  assert.notEqual(refused.code, 0)
  assert.equal((await gitOk(home, room.dir, ['--git-dir', room.dir, 'rev-parse', 'main'])).trim(), before)
  await fsck(home, room.dir)
})
