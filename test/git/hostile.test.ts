// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { commitFiles, fsck, gitOk, gitWorkspace } from './helpers.ts'
import { oidOf, pack, pkt, receiveRequest, varint, ZERO } from './craft.ts'
import type { GitRoom } from './helpers.ts'
import { tempDir, type TestServer } from '../helpers.ts'
import { withLocalLock } from '../../lib/git/lock.ts'
import { receivePack } from '../../lib/git/receive-pack.ts'
import { openRepo } from '../../lib/git/repo.ts'

const receive = (s: TestServer, room: GitRoom, commands: string[], packBytes?: Buffer) => receiveRequest(s.url, room.name, commands, packBytes)

function snapshot(dir: string): string {
  const list = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? list(path.join(d, e.name)) : [path.relative(dir, path.join(d, e.name))]))
  return list(dir).sort().join('\n')
}

test('hostile pushes are refused and leave the repository unchanged', async (t) => {
  const { s, room, home, work, a } = await gitWorkspace(t, 'main', { gitMaxPushBytes: 2 * 1024 * 1024 })
  const c1 = await commitFiles(home, a, { 'a.txt': 'a\n' }, 'one')
  await gitOk(home, a, ['push', '-q', room.url, 'main'])
  const before = snapshot(room.dir)

  // A valid new commit: blob, tree, commit on top of c1.
  const blob = Buffer.from('hello\n')
  const blobId = oidOf('blob', blob)
  const tree = Buffer.concat([Buffer.from('100644 h.txt\0'), Buffer.from(blobId, 'hex')])
  const treeId = oidOf('tree', tree)
  const commit = Buffer.from(`tree ${treeId}\nparent ${c1}\nauthor A <a@b> 1600000000 +0000\ncommitter A <a@b> 1600000000 +0000\n\nhostile\n`)
  const commitId = oidOf('commit', commit)
  const good = pack([
    { type: 3, data: blob },
    { type: 2, data: tree },
    { type: 1, data: commit },
  ])
  const update = `${c1} ${commitId} refs/heads/main`

  const cases: [string, Buffer, RegExp][] = [
    ['truncated pack', good.subarray(0, good.length - 30), /unpack (corrupt|truncated|pack checksum)/],
    ['bad trailer', Buffer.concat([good.subarray(0, -1), Buffer.from([good[good.length - 1] ^ 1])]), /unpack pack checksum mismatch/],
    ['count too high', pack([{ type: 3, data: blob }, { type: 2, data: tree }, { type: 1, data: commit }], 4), /unpack/],
    ['count too low', pack([{ type: 3, data: blob }, { type: 2, data: tree }, { type: 1, data: commit }], 2), /unpack pack has more data/],
    ['missing tree', pack([{ type: 1, data: commit }]), /unpack missing object/],
    ['not a pack', Buffer.from('garbage garbage garbage garbage garbage'), /unpack not a pack/],
  ]
  // Delta bomb: a tiny delta that claims a 1 TiB result.
  const bomb = Buffer.concat([varint(blob.length), varint(2 ** 40), Buffer.from([0x90 | 0x01, 0, 0xff])])
  cases.push(['delta bomb (huge result)', pack([{ type: 3, data: blob }, { type: 7, data: bomb, base: blobId }]), /unpack object of \d+ bytes exceeds the limit of \d+ bytes for a pack of \d+ bytes/])
  // Delta bomb: 64 KiB base copied 5000 times (~320 MiB) from a ~20 KiB delta.
  const base = Buffer.alloc(65536, 7)
  const copies = Buffer.alloc(5000 * 2, 0)
  for (let i = 0; i < 5000; i++) copies[i * 2] = 0x80 // copy offset 0, size 0 = 65536
  const amplify = Buffer.concat([varint(base.length), varint(5000 * 65536), copies.map((b, i) => (i % 2 === 0 ? 0x80 : 0)).subarray(0, 5000)])
  cases.push(['delta bomb (amplifying)', pack([{ type: 3, data: base }, { type: 7, data: amplify, base: oidOf('blob', base) }]), /unpack object of \d+ bytes exceeds the limit of \d+ bytes for a pack of \d+ bytes/])
  cases.push(['too large', pack([{ type: 3, data: randomBytes(3 * 1024 * 1024) }]), /.*/])

  for (const [name, bytes, expect] of cases) {
    const r = await receive(s, room, [update], bytes)
    if (name === 'too large') assert.ok(r.status >= 400 || /unpack (?!ok)/.test(r.text), `${name}: ${r.status} ${r.text}`)
    else {
      assert.match(r.text, expect, `${name}: ${r.text}`)
      assert.match(r.text, /ng refs\/heads\/main/, name)
    }
    assert.equal(snapshot(room.dir), before, `${name} changed the repository`)
  }

  // Garbage pkt-lines.
  for (const body of ['zzzz', '0006a', 'ffff' + 'x'.repeat(10), `${pkt('not a command\n')}0000`]) {
    const res = await fetch(`${s.url}/rooms/${room.name}/git-receive-pack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-git-receive-pack-request' },
      body,
    })
    assert.equal(res.status, 400, body)
    const up = await fetch(`${s.url}/rooms/${room.name}/git-upload-pack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-git-upload-pack-request' },
      body,
    })
    assert.equal(up.status, 400, body)
  }
  assert.equal(snapshot(room.dir), before)

  // Tips the server does not have, and names git would not accept.
  const missing = await receive(s, room, [`${c1} ${'1'.repeat(40)} refs/heads/main`], pack([]))
  assert.match(missing.text, /unpack ok\n.*ng refs\/heads\/main missing necessary objects/s)
  const funny = await receive(s, room, [`${ZERO} ${c1} refs/heads/bad..name`, `${ZERO} ${c1} refs/heads/x.lock`], pack([]))
  assert.match(funny.text, /ng refs\/heads\/bad\.\.name funny refname/)
  assert.match(funny.text, /ng refs\/heads\/x\.lock funny refname/)
  assert.equal(snapshot(room.dir), before)

  // Stale old id (compare-and-swap) and an atomic pair with one bad ref.
  const stale = await receive(s, room, [`${commitId} ${commitId} refs/heads/main`], good)
  assert.match(stale.text, /ng refs\/heads\/main stale info/)
  const atomic = await receive(s, room, [`${ZERO} ${commitId} refs/heads/new`, `${ZERO} ${commitId} refs/heads/main`], good)
  assert.match(atomic.text, /ng refs\/heads\/new atomic push failed/)
  assert.match(atomic.text, /ng refs\/heads\/main stale info/)
  assert.doesNotMatch(await gitOk(home, work, ['ls-remote', room.url]), /refs\/heads\/new/)

  // And the good pack lands.
  const ok = await receive(s, room, [update], good)
  assert.match(ok.text, /unpack ok/)
  assert.match(ok.text, /ok refs\/heads\/main/)
  await fsck(home, room.dir)
})

test('a push body that fails mid-pack leaves no write behind to fail later (an uncaught error stopped the server)', async (t) => {
  const repo = openRepo(path.join(tempDir(t), 'r.git'))
  const tick = () => new Promise((resolve) => setTimeout(resolve, 5))
  async function* body() {
    yield Buffer.from(`${pkt(`${ZERO} ${'1'.repeat(40)} refs/heads/x\0report-status\n`)}0000`)
    // Small pieces, so that each write is still under way when the next piece is asked for.
    for (let i = 0; i < 8; i++) {
      yield Buffer.alloc(1024, i)
      await tick()
    }
    yield Buffer.alloc(1024)
    throw new Error('client went away')
  }
  try {
    const out: Buffer[] = []
    for await (const chunk of receivePack(repo, body(), { withLock: (fn) => withLocalLock('test', fn) })) out.push(chunk)
    assert.match(Buffer.concat(out).toString(), /unpack client went away/)
    await tick()
    assert.deepEqual(readdirSync(repo.odb.dir).filter((f) => f.startsWith('incoming-')), [])
  } finally {
    repo.release()
  }
})
