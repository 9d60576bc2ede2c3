// Who may rewrite and delete refs (issue 13, point 4) and what a branch may point at, through stock git over HTTP.
import assert from 'node:assert/strict'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { a2a, joinRoom, tempDir, type TestServer } from '../helpers.ts'
import { commitFiles, fsck, git, gitHome, gitOk, gitRoom, gitServer, type GitRoom } from '../git/helpers.ts'
import { pack, pkt, ZERO } from '../git/craft.ts'
import { isAncestor } from '../../lib/git/ancestry.ts'

const CREDS = '(git user = agent name, password = agentToken)'
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The room's plain URL with these Basic credentials. */
const as = (s: TestServer, room: GitRoom, user: string, pass: string) =>
  `${s.url.replace('http://', `http://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@`)}/rooms/${room.name}.git`

/** A ref on the server, or null. */
async function serverRef(home: string, room: GitRoom, ref: string): Promise<string | null> {
  const r = await git(home, room.dir, ['--git-dir', room.dir, 'rev-parse', '--verify', '-q', ref])
  return r.code === 0 ? r.stdout.trim() : null
}

/** Lines of the room-bot's messages (one line per pushed ref). */
async function notices(s: TestServer, room: GitRoom): Promise<string[]> {
  const h = await a2a(s, 'message.history', { agentToken: room.token, roomId: room.roomId, limit: 100 })
  const bot = h.data.messages.filter((m: { from: string }) => m.from === 'room-bot')
  return bot.flatMap((m: { body?: string; text?: string }) => String(m.body ?? m.text).split('\n'))
}

/** A work tree with main = one ← two pushed anonymously (also as `feature`), tag v1 on one; HEAD reset to one + three. */
async function setup(t: TestContext, s: TestServer, room: GitRoom, url = `${s.url}/rooms/${room.name}.git`) {
  const home = gitHome(t)
  const work = tempDir(t)
  const a = path.join(work, 'a')
  await gitOk(home, work, ['init', '-q', '-b', 'main', 'a'])
  const c1 = await commitFiles(home, a, { 'a.txt': 'one\n' }, 'one')
  await gitOk(home, a, ['push', '-q', url, 'main', 'main:feature'])
  const c2 = await commitFiles(home, a, { 'b.txt': 'two\n' }, 'two')
  await gitOk(home, a, ['push', '-q', url, 'main', 'main:feature'])
  await gitOk(home, a, ['tag', 'v1', c1])
  await gitOk(home, a, ['push', '-q', url, 'v1'])
  await gitOk(home, a, ['reset', '-q', '--hard', c1])
  const c3 = await commitFiles(home, a, { 'c.txt': 'three\n' }, 'three')
  return { home, work, a, c1, c2, c3 }
}

test('public room: anyone creates and fast-forwards; rewriting, deleting and moving tags need an agent; refused objects are not kept', async (t) => {
  const s = await gitServer(t)
  const room = await gitRoom(s)
  const { home, a, c1, c2, c3 } = await setup(t, s, room)
  assert.equal(await serverRef(home, room, 'refs/heads/main'), c2)

  // No credentials at all: the server asks for them (401) and git, having none, gives up; nothing changed.
  const bare = await git(home, a, ['push', '--force', room.url, 'HEAD:feature'])
  assert.notEqual(bare.code, 0)
  assert.match(bare.stderr, /could not read Username/)

  // Credentials that name no agent of the room: git prints the per-ref reason.
  const anon = as(s, room, 'someone', 'not-a-token')
  const forced = await git(home, a, ['push', '--force', anon, 'HEAD:feature'])
  assert.notEqual(forced.code, 0)
  assert.match(forced.stderr, new RegExp(esc(`[remote rejected] HEAD -> feature (non-fast-forward: rewriting history needs an agent of the room ${CREDS})`)))
  const del = await git(home, a, ['push', anon, ':feature'])
  assert.match(del.stderr, new RegExp(esc(`[remote rejected] feature (deleting needs an agent of the room ${CREDS})`)))
  const tag = await git(home, a, ['push', '--force', anon, `${c2}:refs/tags/v1`])
  assert.match(tag.stderr, new RegExp(esc(`(moving a tag needs an agent of the room ${CREDS})`)))
  const main = await git(home, a, ['push', '--force', anon, 'HEAD:main'])
  assert.match(main.stderr, new RegExp(esc(`(non-fast-forward: rewriting the default branch needs an admin of the room ${CREDS})`)))
  const delMain = await git(home, a, ['push', anon, ':main'])
  assert.match(delMain.stderr, new RegExp(esc(`(deleting the default branch needs an admin of the room ${CREDS})`)))
  // Atomic: the allowed creation goes down with the refused rewrite.
  const atomic = await git(home, a, ['push', '--atomic', '--force', anon, 'HEAD:refs/heads/fresh', 'HEAD:feature'])
  assert.notEqual(atomic.code, 0)
  assert.match(atomic.stderr, /rewriting history needs an agent/)

  assert.equal(await serverRef(home, room, 'refs/heads/feature'), c2)
  assert.equal(await serverRef(home, room, 'refs/heads/main'), c2)
  assert.equal(await serverRef(home, room, 'refs/tags/v1'), c1)
  assert.equal(await serverRef(home, room, 'refs/heads/fresh'), null)
  // The refused commit was never stored, so it can never be served.
  assert.notEqual((await git(home, room.dir, ['--git-dir', room.dir, 'cat-file', '-e', c3])).code, 0)

  // A push too large for git to send twice goes chunked: no 401, the reason is printed even without credentials.
  const big = await commitFiles(home, a, { 'big.bin': randomBytes(300 * 1024) }, 'big')
  const chunked = await git(home, a, ['-c', 'http.postBuffer=65536', 'push', '--force', room.url, 'HEAD:feature'])
  assert.match(chunked.stderr, /feature \(non-fast-forward: rewriting history needs an agent of the room \(git user = agent name, password = agentToken; for a push this large git sends them only with -c http.postBuffer=<more bytes than the push>\)\)/)
  assert.equal(await serverRef(home, room, 'refs/heads/feature'), c2)
  // With a large enough buffer git sends it whole, is asked, and the agent's credentials go along.
  const asAlice = as(s, room, 'alice', room.token)
  await gitOk(home, a, ['-c', 'http.postBuffer=4194304', 'push', '-q', '--force', asAlice, 'HEAD:feature'])
  assert.equal(await serverRef(home, room, 'refs/heads/feature'), big)

  // Creating and fast-forwarding stay open, tags included.
  await gitOk(home, a, ['push', '-q', room.url, 'HEAD:refs/heads/other', `${c2}:refs/tags/v2`])
  await gitOk(home, a, ['checkout', '-q', '-b', 'ff', c2])
  const c4 = await commitFiles(home, a, { 'd.txt': 'four\n' }, 'four')
  await gitOk(home, a, ['push', '-q', room.url, 'ff:main'])
  assert.equal(await serverRef(home, room, 'refs/heads/main'), c4)
  const bot = await notices(s, room)
  assert.ok(bot.includes('Git push to main — 1 commit(s): four'), JSON.stringify(bot))
  await fsck(home, room.dir)
})

test('agents: a member rewrites and deletes branches and tags, only an admin rewrites the default branch; pushes are attributed', async (t) => {
  const s = await gitServer(t)
  const room = await gitRoom(s)
  const bob = await joinRoom(s, room.roomId, 'bob')
  const { home, a, c1, c2, c3 } = await setup(t, s, room)
  const asBob = as(s, room, 'bob', bob)
  const asAlice = as(s, room, 'alice', room.token)

  await gitOk(home, a, ['push', '-q', '--force', asBob, 'HEAD:feature', `${c2}:refs/tags/v1`])
  assert.equal(await serverRef(home, room, 'refs/heads/feature'), c3)
  assert.equal(await serverRef(home, room, 'refs/tags/v1'), c2)

  const main = await git(home, a, ['push', '--force', asBob, 'HEAD:main'])
  assert.match(main.stderr, /main \(non-fast-forward: rewriting the default branch needs an admin of the room\)/)
  const delMain = await git(home, a, ['push', asBob, ':main'])
  assert.match(delMain.stderr, /main \(deleting the default branch needs an admin of the room\)/)
  assert.equal(await serverRef(home, room, 'refs/heads/main'), c2)

  await gitOk(home, a, ['push', '-q', asBob, ':feature', ':refs/tags/v1'])
  assert.equal(await serverRef(home, room, 'refs/heads/feature'), null)
  assert.equal(await serverRef(home, room, 'refs/tags/v1'), null)

  await gitOk(home, a, ['push', '-q', '--force', asAlice, 'HEAD:main'])
  assert.equal(await serverRef(home, room, 'refs/heads/main'), c3)

  // A wrong token, or another agent's token under this name, is refused outright.
  for (const url of [as(s, room, 'bob', randomUUID()), as(s, room, 'bob', room.token)]) {
    const r = await git(home, a, ['push', '--force', url, `${c1}:main`])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /403/)
  }
  assert.equal(await serverRef(home, room, 'refs/heads/main'), c3)

  const bot = await notices(s, room)
  for (const line of ['Git push to feature by bob — 1 commit(s): three', 'Git push by bob: tag v1', 'Git push by bob: deleted branch feature', 'Git push by bob: deleted tag v1', 'Git push to main by alice — 1 commit(s): three']) {
    assert.ok(bot.includes(line), `${line} in ${JSON.stringify(bot)}`)
  }
  await fsck(home, room.dir)
})

test('protected room: the room password or an agent token of the room; a wrong token is 403', async (t) => {
  const s = await gitServer(t)
  const room = await gitRoom(s, { password: 's3cret' })
  await joinRoom(s, room.roomId, 'bob', { password: 's3cret' })
  const other = await gitRoom(s)
  // room.url carries the room password (user "x").
  const { home, work, a, c3 } = await setup(t, s, room, room.url)
  assert.equal((await notices(s, room)).filter((b) => b.startsWith('Git push to main — ')).length, 2)

  const pw = await git(home, a, ['push', '--force', room.url, 'HEAD:feature'])
  assert.match(pw.stderr, new RegExp(esc(`feature (non-fast-forward: rewriting history needs an agent of the room ${CREDS})`)))

  const asAlice = as(s, room, 'alice', room.token)
  await gitOk(home, work, ['clone', '-q', asAlice, 'byToken'])
  await gitOk(home, a, ['push', '-q', '--force', asAlice, 'HEAD:feature'])
  assert.equal(await serverRef(home, room, 'refs/heads/feature'), c3)
  assert.ok((await notices(s, room)).includes('Git push to feature by alice — 1 commit(s): three'))

  for (const [user, pass] of [['alice', randomUUID()], ['bob', room.token], ['alice', other.token], ['x', room.token]]) {
    const res = await fetch(`${s.url}/rooms/${room.name}.git/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` },
    })
    assert.equal(res.status, 403, `${user}:${pass}`)
    await res.arrayBuffer()
  }
  const wrong = await git(home, work, ['clone', '-q', as(s, room, 'alice', randomUUID()), 'nope'])
  assert.notEqual(wrong.code, 0)
  assert.match(wrong.stderr, /403/)
  await fsck(home, room.dir)
})

test('branches must point at commits: blobs, trees and tag objects are refused per ref', async (t) => {
  const s = await gitServer(t)
  const room = await gitRoom(s)
  const { home, a, c2 } = await setup(t, s, room)
  writeFileSync(path.join(a, 'loose.txt'), 'just a blob\n')
  const blob = (await gitOk(home, a, ['hash-object', '-w', 'loose.txt'])).trim()
  const tree = (await gitOk(home, a, ['rev-parse', `${c2}^{tree}`])).trim()
  await gitOk(home, a, ['tag', '-a', 'ann', '-m', 'annotated', c2])
  const tagObj = (await gitOk(home, a, ['rev-parse', 'ann'])).trim()
  for (const [oid, ref] of [[blob, 'x'], [tree, 'y'], [tagObj, 'z']]) {
    const r = await git(home, a, ['push', room.url, `${oid}:refs/heads/${ref}`])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, new RegExp(`-> ${ref} \\(branch must point at a commit\\)`), r.stderr)
    assert.equal(await serverRef(home, room, `refs/heads/${ref}`), null)
  }
  // An object already stored is refused as well, and a non-atomic push keeps its other refs.
  const body = Buffer.concat([
    Buffer.from(pkt(`${ZERO} ${c2} refs/heads/fine\0report-status\n`) + pkt(`${ZERO} ${tree} refs/heads/bad\n`) + '0000'),
    pack([]),
  ])
  const res = await fetch(`${s.url}/rooms/${room.name}/git-receive-pack`, { method: 'POST', headers: { 'content-type': 'application/x-git-receive-pack-request' }, body: new Uint8Array(body) })
  const text = await res.text()
  assert.match(text, /ok refs\/heads\/fine/)
  assert.match(text, /ng refs\/heads\/bad branch must point at a commit/)
  assert.equal(await serverRef(home, room, 'refs/heads/fine'), c2)
  assert.equal(await serverRef(home, room, 'refs/heads/bad'), null)
  await fsck(home, room.dir)
})

test('the fast-forward walk is bounded: it stops at commits a day older than the old tip, or after its cap', () => {
  const commits = new Map<string, Buffer>()
  const id = (n: string) => createHash('sha1').update(n).digest('hex')
  const add = (name: string, parent: string | null, time: number) => {
    const head = [`tree ${id('tree')}`, ...(parent ? [`parent ${id(parent)}`] : []), `author A <a@x> ${time} +0000`, `committer A <a@x> ${time} +0000`]
    commits.set(id(name), Buffer.from(`${head.join('\n')}\n\nmessage\n`))
    return id(name)
  }
  // A line of 50,000 commits a minute apart, and a side commit off number 49,000.
  const t0 = 1_700_000_000
  const line: string[] = []
  for (let i = 0; i < 50_000; i++) line.push(add(`c${i}`, i ? `c${i - 1}` : null, t0 + 60 * i))
  const side = add('side', 'c49000', t0 + 60 * 49_000 + 30)
  // Its parent claims a date 12 hours after it (clock skew): still found.
  add('skewed-parent', 'c49990', t0 + 60 * 50_000 + 12 * 3600)
  const skewed = add('skewed', 'skewed-parent', t0 + 60 * 50_000)
  let reads = 0
  const read = (oid: string) => {
    reads++
    const data = commits.get(oid)
    return data ? { type: 'commit' as const, data } : null
  }
  assert.equal(isAncestor(read, line[0], line.at(-1)!), true)
  reads = 0
  assert.equal(isAncestor(read, side, line.at(-1)!), false)
  assert.ok(reads < 3_000, `a rewrite was decided after ${reads} reads, not the whole history`)
  assert.equal(isAncestor(read, line[49_990], skewed), true)
  reads = 0
  assert.equal(isAncestor(read, line[40_000], line.at(-1)!, 1_000), false)
  assert.ok(reads < 1_100, `${reads} reads past a cap of 1,000`)
  assert.equal(isAncestor(read, id('nothing'), line.at(-1)!), false)
})
