// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import git from 'isomorphic-git'
import http from 'isomorphic-git/http/node'
import { tempDir } from '../helpers.ts'
import { fsck, gitHome, gitOk, gitRoom, gitServer } from './helpers.ts'

test('isomorphic-git client: push to an empty room, clone, fetch new commits', async (t) => {
  const s = await gitServer(t)
  const room = await gitRoom(s)
  const home = gitHome(t)
  const work = tempDir(t)
  const author = { name: 'Iso', email: 'iso@example.com' }
  const a = path.join(work, 'a')
  await git.init({ fs, dir: a, defaultBranch: 'main' })
  fs.writeFileSync(path.join(a, 'hello.txt'), 'hello from isomorphic-git\n')
  await git.add({ fs, dir: a, filepath: 'hello.txt' })
  const c1 = await git.commit({ fs, dir: a, message: 'iso first', author })
  const pushed = await git.push({ fs, http, dir: a, url: room.url, ref: 'main' })
  assert.equal(pushed.ok, true)
  await fsck(home, room.dir)

  const b = path.join(work, 'b')
  await git.clone({ fs, http, dir: b, url: room.url, singleBranch: true })
  assert.equal(fs.readFileSync(path.join(b, 'hello.txt'), 'utf8'), 'hello from isomorphic-git\n')
  assert.equal(await git.resolveRef({ fs, dir: b, ref: 'HEAD' }), c1)

  // Stock git adds a commit; isomorphic-git fetches it.
  await gitOk(home, work, ['clone', '-q', room.url, 'c'])
  const c = path.join(work, 'c')
  fs.writeFileSync(path.join(c, 'more.txt'), 'more\n')
  await gitOk(home, c, ['add', '-A'])
  await gitOk(home, c, ['commit', '-q', '-m', 'from stock git'])
  await gitOk(home, c, ['push', '-q', 'origin', 'main'])
  const head = (await gitOk(home, c, ['rev-parse', 'HEAD'])).trim()
  const fetched = await git.fetch({ fs, http, dir: b, url: room.url, ref: 'main', singleBranch: true })
  assert.equal(fetched.fetchHead, head)
  await fsck(home, room.dir)
})
