import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { tempDir } from '../helpers.ts'
import { commitFiles, fsck, git, gitHome, gitOk, gitRoom, gitServer } from './helpers.ts'
import { amplifyingDelta, oidOf, pack, receiveRequest, ZERO } from './craft.ts'

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

test('the room quota bounds what a pack may inflate to (64 × REPO_QUOTA_BYTES)', async (t) => {
  const srv = await gitServer(t, { repoQuotaBytes: 1024 * 1024 })
  const room = await gitRoom(srv)
  // 16 deltas of 7 MiB each off one 1 MiB base: 112 MiB from a few KiB, past 64 MiB but far within the default budget.
  const base = Buffer.alloc(2 ** 20, 7)
  const deltas = Array.from({ length: 16 }, (_, i) => ({ type: 6, data: amplifyingDelta(base.length, 7, `q${i}`), baseIndex: 0 }))
  const r = await receiveRequest(srv.url, room.name, [`${ZERO} ${oidOf('blob', base)} refs/tags/q`], pack([{ type: 3, data: base }, ...deltas]))
  assert.match(r.text, /unpack pack inflates beyond the limit of 67108864 bytes/)
  assert.deepEqual(readdirSync(path.join(room.dir, 'objects', 'pack')).filter((f) => f.endsWith('.pack')), [])
})
