// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
// Issue 13 point 5: only objects reachable from refs are ever served, and unreachable ones are pruned.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../../lib/config.ts'
import { openRepo, pruneRepository } from '../../lib/git/index.ts'
import { PackIndex } from '../../lib/git/pack-index.ts'
import { FLUSH, pkt } from '../../lib/git/pktline.ts'
import type { TestServer } from '../helpers.ts'
import { commitFiles, fsck, git, gitOk, gitWorkspace, type GitRoom } from '../git/helpers.ts'

const ZERO = '0'.repeat(40)
const SECRET = 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY\n'

/** Config for pushes as the room's admin (rewrites need an agent): credentials sent up front. */
const asAdmin = (room: GitRoom) => ['-c', `http.extraHeader=Authorization: Basic ${Buffer.from(`alice:${room.token}`).toString('base64')}`]
const proto = (v: string) => ['-c', `protocol.version=${v}`]

/** True when the stock git finds the object in the server's repository. */
async function stored(home: string, room: GitRoom, oid: string): Promise<boolean> {
  return (await git(home, room.dir, ['--git-dir', room.dir, 'cat-file', '-e', oid])).code === 0
}

/** Every object id in the repository's pack indexes and loose files (what is on disk, by our own reading). */
function idsOnDisk(dir: string): Set<string> {
  const out = new Set<string>()
  const objects = path.join(dir, 'objects')
  for (const f of readdirSync(path.join(objects, 'pack'))) {
    if (!f.endsWith('.idx')) continue
    const idx = new PackIndex(readFileSync(path.join(objects, 'pack', f)))
    for (let i = 0; i < idx.count; i++) out.add(idx.oid(i))
  }
  for (const d of readdirSync(objects)) if (/^[0-9a-f]{2}$/.test(d)) for (const f of readdirSync(path.join(objects, d))) out.add(d + f)
  return out
}

interface Scene {
  s: TestServer
  room: GitRoom
  home: string
  work: string
  a: string
  /** First commit: reachable, not a tip after the rewrite. */
  base: string
  /** The commit holding the secret, force-pushed away, and the secret blob. */
  leaked: string
  blob: string
  /** The rewritten tip. */
  clean: string
}

/** Pushes a secret, then force-pushes a new history without it (as the room's admin). */
async function leakAndRewrite(t: import('node:test').TestContext, graceSeconds = 3600): Promise<Scene> {
  const { s, room, home, work, a } = await gitWorkspace(t, 'main', { gitPruneGraceSeconds: graceSeconds, maxEventLoopDelayMs: 0 })
  const base = await commitFiles(home, a, { 'README.md': 'hello\n' }, 'base')
  await gitOk(home, a, ['push', '-q', room.url, 'main'])
  const leaked = await commitFiles(home, a, { '.env': SECRET }, 'add config')
  const blob = (await gitOk(home, a, ['rev-parse', 'HEAD:.env'])).trim()
  await gitOk(home, a, ['push', '-q', room.url, 'main'])
  await gitOk(home, a, ['reset', '-q', '--hard', base])
  const clean = await commitFiles(home, a, { 'config.example': 'AWS_SECRET_ACCESS_KEY=\n' }, 'config without secrets')
  await gitOk(home, a, [...asAdmin(room), 'push', '-q', '--force', room.url, 'main'])
  assert.equal((await gitOk(home, work, ['ls-remote', room.url, 'refs/heads/main'])).split('\t')[0], clean)
  return { s, room, home, work, a, base, leaked, blob, clean }
}

/** A fresh clone, then a fetch of each id by sha; returns the clone and each fetch's outcome. */
async function cloneAndFetch(sc: Scene, v: string, name: string, shas: string[]) {
  const dir = path.join(sc.work, name)
  await gitOk(sc.home, sc.work, [...proto(v), 'clone', '-q', sc.room.url, name])
  const fetched: Record<string, { code: number; stderr: string }> = {}
  for (const sha of shas) fetched[sha] = await git(sc.home, dir, [...proto(v), 'fetch', '-q', 'origin', sha])
  return { dir, fetched }
}

test('a force-pushed-away secret is never served (v0 and v2) while reachable history still is, and a prune removes it', async (t) => {
  const sc = await leakAndRewrite(t)
  const { home, room } = sc
  assert.ok(await stored(home, room, sc.blob), 'the rewrite left the secret stored (until pruned)')

  for (const v of ['0', '2']) {
    const { dir, fetched } = await cloneAndFetch(sc, v, `clone-v${v}`, [sc.leaked, sc.blob, sc.base])
    // A clone holds exactly what main reaches.
    assert.notEqual((await git(home, dir, ['cat-file', '-e', sc.blob])).code, 0, `v${v} clone must not contain the secret blob`)
    assert.notEqual((await git(home, dir, ['cat-file', '-e', sc.leaked])).code, 0, `v${v} clone must not contain the leaked commit`)
    assert.equal((await gitOk(home, dir, ['rev-list', '--count', 'HEAD'])).trim(), '2')
    await gitOk(home, dir, ['fsck', '--strict', '--no-progress'])
    // Unreachable ids are refused with git's own message; a reachable non-tip commit is served.
    for (const sha of [sc.leaked, sc.blob]) {
      assert.notEqual(fetched[sha].code, 0, `v${v} fetch of unreachable ${sha} must fail`)
      assert.match(fetched[sha].stderr, new RegExp(`not our ref ${sha}`))
    }
    assert.equal(fetched[sc.base].code, 0, `v${v} fetch of a reachable non-tip commit: ${fetched[sc.base].stderr}`)
    assert.notEqual((await git(home, dir, ['cat-file', '-e', sc.blob])).code, 0)
  }

  // Within the grace nothing is deleted, and the prune says when to come back.
  const withLock = <T>(fn: () => Promise<T>) => sc.s.app.store.withLock(`git:${room.roomId}`, fn)
  const kept = await pruneRepository(room.dir, { graceMs: 3_600_000, withLock })
  assert.equal(kept.packsRemoved, 0)
  assert.equal(kept.objectsPruned, 0)
  assert.ok(kept.retryAt && kept.retryAt > Date.now() + 3_500_000, 'a retry time about one grace from now')
  assert.ok(await stored(home, room, sc.blob))

  // A reader that opened the repository before the prune keeps working through it and after it.
  const held = openRepo(room.dir)
  try {
    assert.equal(held.odb.read(sc.blob)?.data.toString(), SECRET)
    const res = await pruneRepository(room.dir, { graceMs: 0, withLock })
    assert.ok(res.packsRemoved >= 1, `packs removed: ${JSON.stringify(res)}`)
    assert.ok(res.objectsPruned >= 3, 'the leaked commit, its tree and the secret blob')
    assert.equal(res.retryAt, undefined)
    assert.equal(held.odb.read(sc.clean)?.type, 'commit', 'the old pack is still readable by its open reader')
    held.odb.refresh()
    assert.equal(held.odb.has(sc.blob), false)
    assert.equal(held.odb.read(sc.base)?.type, 'commit', 'reachable objects are read from the new pack')
  } finally {
    held.release()
  }

  // No trace on disk, by git's reading and by ours; nothing but packs and their indexes is left.
  assert.equal(await stored(home, room, sc.blob), false)
  assert.equal(await stored(home, room, sc.leaked), false)
  const ids = idsOnDisk(room.dir)
  assert.ok(!ids.has(sc.blob) && !ids.has(sc.leaked))
  for (const oid of [sc.base, sc.clean]) assert.ok(ids.has(oid))
  const objects = path.join(room.dir, 'objects')
  assert.deepEqual(readdirSync(objects).filter((f) => !['pack', 'info'].includes(f)), [])
  assert.ok(readdirSync(path.join(objects, 'pack')).every((f) => /^pack-[0-9a-f]{40}\.(pack|idx)$/.test(f)))
  await fsck(home, room.dir)

  // Still clones and fetches; the secret is gone for good.
  for (const v of ['0', '2']) {
    const { dir, fetched } = await cloneAndFetch(sc, v, `after-v${v}`, [sc.leaked, sc.base])
    assert.equal((await gitOk(home, dir, ['rev-parse', 'HEAD'])).trim(), sc.clean)
    await gitOk(home, dir, ['fsck', '--strict', '--no-progress'])
    assert.notEqual(fetched[sc.leaked].code, 0)
    assert.equal(fetched[sc.base].code, 0, fetched[sc.base].stderr)
  }
  // Pushing on top still works after the rewrite of the packs.
  await commitFiles(home, sc.a, { 'more.txt': 'more\n' }, 'more')
  await gitOk(home, sc.a, ['push', '-q', room.url, 'main'])
  await fsck(home, room.dir)
  // A second prune finds nothing more to do.
  const again = await pruneRepository(room.dir, { graceMs: 0, withLock })
  assert.equal(again.objectsPruned, 0)

  // Everything stored is reachable now, so repeated clones skip the walk; objects stored without a ref
  // (a pack that lands while the refs stay put) must not ride along.
  for (const name of ['primed', 'primed-again']) {
    await gitOk(home, sc.work, ['clone', '-q', room.url, name])
    await gitOk(home, path.join(sc.work, name), ['fsck', '--strict', '--no-progress'])
  }
  await gitOk(home, sc.a, ['checkout', '-q', '-b', 'unpushed'])
  const hidden = await commitFiles(home, sc.a, { 'hidden.txt': SECRET }, 'never pushed')
  const hiddenBlob = (await gitOk(home, sc.a, ['rev-parse', 'HEAD:hidden.txt'])).trim()
  const pack = await gitStdin(home, sc.a, ['pack-objects', '--revs', '--stdout', '-q'], `${hidden}\n^main\n`)
  await gitStdin(home, room.dir, ['--git-dir', room.dir, 'index-pack', '--stdin'], pack)
  await gitOk(home, sc.work, ['clone', '-q', room.url, 'after-hidden'])
  assert.notEqual((await git(home, path.join(sc.work, 'after-hidden'), ['cat-file', '-e', hiddenBlob])).code, 0)
  assert.notEqual((await git(home, path.join(sc.work, 'after-hidden'), ['cat-file', '-e', hidden])).code, 0)
})

test('raw v0 and v2 wants of an unreachable object get `ERR not our ref`; tips and reachable commits pass', async (t) => {
  const sc = await leakAndRewrite(t)
  const post = async (v: string, body: Buffer) => {
    const res = await fetch(`${sc.s.url}/rooms/${sc.room.name}.git/git-upload-pack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-git-upload-pack-request', ...(v === '2' ? { 'git-protocol': 'version=2' } : {}) },
      body: new Uint8Array(body),
    })
    return { status: res.status, text: Buffer.from(await res.arrayBuffer()).toString('latin1') }
  }
  const v0 = (want: string) => Buffer.concat([pkt(`want ${want} ofs-delta\n`), FLUSH, pkt('done\n')])
  const v2 = (want: string) => Buffer.concat([pkt('command=fetch\n'), Buffer.from('0001'), pkt(`want ${want}\n`), pkt('done\n'), FLUSH])
  for (const [v, body] of [['0', v0], ['2', v2]] as const) {
    for (const bad of [sc.leaked, sc.blob, 'f'.repeat(40)]) {
      const r = await post(v, body(bad))
      assert.equal(r.status, 200)
      assert.match(r.text, new RegExp(`^[0-9a-f]{4}ERR upload-pack: not our ref ${bad}\n$`), `v${v} want ${bad}`)
    }
    for (const good of [sc.clean, sc.base]) {
      const r = await post(v, body(good))
      assert.equal(r.status, 200)
      assert.match(r.text, /PACK/, `v${v} want ${good} is served`)
    }
  }
})

/** The pack in a v2 fetch response (side-band 1 after `packfile`), stored into a scratch repository. */
async function unpackV2(home: string, dir: string, response: Buffer): Promise<void> {
  const data: Buffer[] = []
  let inPack = false
  for (let p = 0; p + 4 <= response.length; ) {
    const len = parseInt(response.toString('latin1', p, p + 4), 16)
    if (len < 4) {
      p += 4
      continue
    }
    const body = response.subarray(p + 4, p + len)
    if (inPack && body[0] === 1) data.push(body.subarray(1))
    if (body.toString('latin1') === 'packfile\n') inPack = true
    p += len
  }
  assert.ok(data.length, 'the response carries a pack')
  await gitOk(home, path.dirname(dir), ['init', '-q', '--bare', dir])
  await gitStdin(home, dir, ['--git-dir', dir, 'index-pack', '--stdin'], Buffer.concat(data))
}

test('a client claiming an unreachable commit as its shallow boundary gets nothing behind it (deepen-relative)', async (t) => {
  const sc = await leakAndRewrite(t)
  // A second commit on top of the leaked one, so the leaked commit has something behind it... and the
  // client claims the leaked commit's child as its shallow tip, asking to deepen from there.
  await gitOk(sc.home, sc.a, ['checkout', '-q', '-b', 'side', sc.leaked])
  const top = await commitFiles(sc.home, sc.a, { 'side.txt': 'x\n' }, 'on top of the leak')
  const pack = await gitStdin(sc.home, sc.a, ['pack-objects', '--revs', '--stdout', '-q'], `${top}\n^${sc.leaked}\n`)
  await gitStdin(sc.home, sc.room.dir, ['--git-dir', sc.room.dir, 'index-pack', '--stdin'], pack)
  const body = Buffer.concat([
    pkt('command=fetch\n'),
    Buffer.from('0001'),
    pkt(`want ${sc.clean}\n`),
    pkt(`shallow ${top}\n`),
    pkt('deepen 2\n'),
    pkt('deepen-relative\n'),
    pkt('done\n'),
    FLUSH,
  ])
  const res = await fetch(`${sc.s.url}/rooms/${sc.room.name}.git/git-upload-pack`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-git-upload-pack-request', 'git-protocol': 'version=2' },
    body: new Uint8Array(body),
  })
  const out = Buffer.from(await res.arrayBuffer())
  assert.equal(res.status, 200)
  const got = path.join(sc.work, 'got.git')
  await unpackV2(sc.home, got, out)
  for (const oid of [sc.leaked, sc.blob]) assert.notEqual((await git(sc.home, got, ['--git-dir', got, 'cat-file', '-e', oid])).code, 0, `${oid} must not be sent`)
})

/** Runs git with bytes on stdin; resolves with stdout. */
function gitStdin(home: string, cwd: string, args: string[], input: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn('git', args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, GIT_CONFIG_NOSYSTEM: '1' } })
    const out: Buffer[] = []
    p.stdout.on('data', (b: Buffer) => out.push(b))
    p.on('error', reject)
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`git ${args.join(' ')} exited ${code}`))))
    p.stdin.end(input)
  })
}

test('objects of a refused ref update (stale old id in a multi-ref push) are never fetchable, and are pruned', async (t) => {
  const { s, room, home, work, a } = await gitWorkspace(t, 'main', { maxEventLoopDelayMs: 0 })
  const base = await commitFiles(home, a, { 'README.md': 'hello\n' }, 'base')
  await gitOk(home, a, ['push', '-q', room.url, 'main'])
  await gitOk(home, a, ['checkout', '-q', '-b', 'ok'])
  const ok = await commitFiles(home, a, { 'ok.txt': 'fine\n' }, 'fine')
  await gitOk(home, a, ['checkout', '-q', '-b', 'leak', base])
  const leaked = await commitFiles(home, a, { '.env': SECRET }, 'secret')
  const blob = (await gitOk(home, a, ['rev-parse', 'HEAD:.env'])).trim()

  // One pack for both; main's update names a stale old id, so only refs/heads/ok may move.
  const pack = await gitStdin(home, a, ['pack-objects', '--revs', '--stdout', '-q'], `${ok}\n${leaked}\n^${base}\n`)
  const body = Buffer.concat([
    pkt(`${ZERO} ${ok} refs/heads/ok\0report-status\n`),
    pkt(`${ok} ${leaked} refs/heads/main\n`),
    FLUSH,
    pack,
  ])
  const res = await fetch(`${s.url}/rooms/${room.name}.git/git-receive-pack`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-git-receive-pack-request',
      authorization: `Basic ${Buffer.from(`alice:${room.token}`).toString('base64')}`,
    },
    body: new Uint8Array(body),
  })
  const report = await res.text()
  assert.equal(res.status, 200)
  assert.match(report, /ok refs\/heads\/ok/)
  assert.match(report, /ng refs\/heads\/main /)
  // The pack went in for refs/heads/ok, carrying the refused commit with it.
  assert.ok(await stored(home, room, leaked), 'premise: the refused commit is stored')

  const c = path.join(work, 'c')
  await gitOk(home, work, ['clone', '-q', room.url, 'c'])
  assert.notEqual((await git(home, c, ['cat-file', '-e', blob])).code, 0, 'a clone never carries the refused objects')
  for (const v of ['0', '2']) {
    for (const sha of [leaked, blob]) {
      const r = await git(home, c, [...proto(v), 'fetch', '-q', 'origin', sha])
      assert.notEqual(r.code, 0, `v${v} fetch of refused ${sha}`)
      assert.match(r.stderr, /not our ref/)
    }
  }
  assert.notEqual((await git(home, c, ['cat-file', '-e', blob])).code, 0)

  const res2 = await pruneRepository(room.dir, { graceMs: 0, withLock: (fn) => s.app.store.withLock(`git:${room.roomId}`, fn) })
  assert.ok(res2.objectsPruned >= 3)
  assert.equal(await stored(home, room, leaked), false)
  assert.equal(await stored(home, room, blob), false)
  assert.ok(await stored(home, room, ok))
  await fsck(home, room.dir)
})

test('pushes schedule the prune: with GIT_PRUNE_GRACE_SECONDS=0 the rewritten-away secret disappears on its own', async (t) => {
  const sc = await leakAndRewrite(t, 0)
  // Descriptors this process holds on removed files of the repository (the server's open copy of it).
  const onRemoved = () =>
    readdirSync('/proc/self/fd')
      .map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`)
        } catch {
          return ''
        }
      })
      .filter((l) => l.startsWith(sc.room.dir) && l.endsWith('(deleted)'))
  const deadline = Date.now() + 30_000
  while (((await stored(sc.home, sc.room, sc.blob)) || onRemoved().length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
  assert.equal(await stored(sc.home, sc.room, sc.blob), false, 'pruned within 30 s of the force push')
  assert.deepEqual(onRemoved(), [], 'the removed packs are closed, their disk space given back')
  assert.equal(await stored(sc.home, sc.room, sc.leaked), false)
  await fsck(sc.home, sc.room.dir)
  await gitOk(sc.home, sc.work, ['clone', '-q', sc.room.url, 'after'])
})

test('GIT_PRUNE_GRACE_SECONDS: default one hour, 0 allowed, anything else refused by name', () => {
  assert.equal(loadConfig({}).gitPruneGraceSeconds, 3600)
  assert.equal(loadConfig({ GIT_PRUNE_GRACE_SECONDS: '0' }).gitPruneGraceSeconds, 0)
  for (const bad of ['-1', '1.5', 'soon']) assert.throws(() => loadConfig({ GIT_PRUNE_GRACE_SECONDS: bad }), /Invalid GIT_PRUNE_GRACE_SECONDS/)
})

test('a prune keeps what a recent pack reaches (a push storing objects before it moves refs), even through old unreachable objects', async (t) => {
  const sc = await leakAndRewrite(t)
  const { home, room } = sc
  // A pack lands without a ref yet (a push between storing and moving refs), building on the leaked commit.
  await gitOk(home, sc.a, ['checkout', '-q', '-b', 'again', sc.leaked])
  const child = await commitFiles(home, sc.a, { 'child.txt': 'child\n' }, 'child of the leaked commit')
  const pack = await gitStdin(home, sc.a, ['pack-objects', '--revs', '--stdout', '-q'], `${child}\n^${sc.leaked}\n`)
  await gitStdin(home, room.dir, ['--git-dir', room.dir, 'index-pack', '--stdin'], pack)
  // Every other pack is older than the grace, as if the leak happened an hour ago.
  const packDir = path.join(room.dir, 'objects', 'pack')
  const hourAgo = new Date(Date.now() - 3_700_000)
  for (const f of readdirSync(packDir)) {
    if (!f.endsWith('.pack')) continue
    const idx = new PackIndex(readFileSync(path.join(packDir, f.replace(/\.pack$/, '.idx'))))
    if (idx.find(Buffer.from(child, 'hex')) < 0) utimesSync(path.join(packDir, f), hourAgo, hourAgo)
  }
  const withLock = <T>(fn: () => Promise<T>) => sc.s.app.store.withLock(`git:${room.roomId}`, fn)
  const res = await pruneRepository(room.dir, { graceMs: 3_600_000, withLock })
  assert.equal(res.objectsPruned, 0, JSON.stringify(res))
  assert.ok(res.retryAt, 'the recent unreachable pack asks for a later prune')
  for (const oid of [child, sc.leaked, sc.blob]) assert.ok(await stored(home, room, oid), oid)
  await fsck(home, room.dir)
  // Once it is old too and still no ref took it, it goes with what only it reached.
  const gone = await pruneRepository(room.dir, { graceMs: 0, withLock })
  assert.ok(gone.objectsPruned >= 6, JSON.stringify(gone))
  for (const oid of [child, sc.leaked, sc.blob]) assert.equal(await stored(home, room, oid), false, oid)
  await fsck(home, room.dir)
})

test('prune reads refs strictly inside the repository: a packed-refs or HEAD planted as a link outside stops it, nothing is deleted', async (t) => {
  const { s, room, home, a } = await gitWorkspace(t, 'main')
  await commitFiles(home, a, { 'README.md': 'hello\n' }, 'base')
  await gitOk(home, a, ['push', '-q', room.url, 'main'])
  const withLock = <T>(fn: () => Promise<T>) => s.app.store.withLock(`git:${room.roomId}`, fn)
  const packs = () => readdirSync(path.join(room.dir, 'objects', 'pack')).sort()
  const before = packs()
  for (const file of ['packed-refs', 'HEAD']) {
    const at = path.join(room.dir, file)
    const saved = existsSync(at) ? readFileSync(at) : null
    rmSync(at, { force: true })
    symlinkSync('/dev/zero', at)
    await assert.rejects(pruneRepository(room.dir, { graceMs: 0, withLock }), new RegExp(`cannot read ${file}`))
    rmSync(at)
    if (saved) writeFileSync(at, saved)
    assert.deepEqual(packs(), before)
  }
  await fsck(home, room.dir)
})
