// Path leases enforced at push, through the stock git client: other agents', anonymous and overriding pushes.
import assert from 'node:assert/strict'
import path from 'node:path'
import { test } from 'node:test'
import { a2a, DATABASE_URL, joinRoom, tempDir, testConfig, type TestServer } from '../helpers.ts'
import { commitFiles, git, gitHome, gitOk, gitRoom, gitServer, type GitRoom } from './helpers.ts'
import { buildApp } from '../../app.ts'

/** The room's URL with an agent's Basic credentials. */
const as = (base: string, room: GitRoom, user: string, token: string) =>
  `${base.replace('http://', `http://${encodeURIComponent(user)}:${encodeURIComponent(token)}@`)}/rooms/${room.name}.git`
const lease = (s: TestServer, agentToken: string, action: string, params: Record<string, unknown> = {}) =>
  a2a(s, `lease.${action}`, { agentToken, ...params })
const botSays = async (s: TestServer, room: GitRoom) =>
  (await a2a(s, 'message.history', { agentToken: room.token, limit: 100 }, { contextId: room.roomId })).data.messages
    .filter((m: any) => m.from === 'room-bot')
    .map((m: any) => m.body as string)

/** A clone of the room with main holding src/api/a.ts and docs/a.md, pushed anonymously before any lease. */
async function workspace(t: Parameters<typeof gitHome>[0], s: TestServer, room: GitRoom) {
  const home = gitHome(t)
  const dir = path.join(tempDir(t), 'w')
  await gitOk(home, path.dirname(dir), ['init', '-q', '-b', 'main', 'w'])
  await commitFiles(home, dir, { 'src/api/a.ts': 'a\n', 'docs/a.md': 'a\n' }, 'start')
  await gitOk(home, dir, ['push', '-q', `${s.url}/rooms/${room.name}.git`, 'main'])
  /** Commits these files on top of the server's main and pushes with `url`; the work tree follows the server again after. */
  const push = async (url: string, files: Record<string, string>, extra: string[] = []) => {
    await gitOk(home, dir, ['fetch', '-q', `${s.url}/rooms/${room.name}.git`, 'main'])
    await gitOk(home, dir, ['reset', '-q', '--hard', 'FETCH_HEAD'])
    await commitFiles(home, dir, files, `change ${Object.keys(files).join(' ')}`)
    return git(home, dir, ['push', ...extra, url, 'HEAD:main'])
  }
  return { home, dir, push }
}

test('an exclusive lease refuses other agents\' pushes that touch it, until released or expired; anonymous pushes too', async (t) => {
  let now = new Date('2026-12-02T12:00:00Z')
  const s = await gitServer(t, {}, { clock: () => now })
  const room = await gitRoom(s)
  const bob = await joinRoom(s, room.roomId, 'bob')
  const { push } = await workspace(t, s, room)
  const asBob = as(s.url, room, 'bob', bob)

  assert.match((await lease(s, room.token, 'acquire', { paths: ['src/api/**'], reason: 'new endpoints', ttl: 600 })).text, /^Leased 1/)
  const refused = await push(asBob, { 'src/api/x.ts': 'x\n' })
  assert.notEqual(refused.code, 0)
  assert.match(refused.stderr, /! \[remote rejected\] HEAD -> main \(src\/api\/x\.ts is leased by alice \(exclusive on src\/api\/\*\*, until 2026-12-02 12:10 UTC\)\)/)

  // elsewhere in the tree bob pushes freely; alice (the holder) pushes into her lease
  assert.equal((await push(asBob, { 'docs/b.md': 'b\n' })).code, 0)
  assert.equal((await push(as(s.url, room, 'alice', room.token), { 'src/api/y.ts': 'y\n' })).code, 0)

  // a commit that changes a leased file among others is refused whole
  const deleted = await push(asBob, { 'docs/c.md': 'c\n', 'src/api/a.ts': 'changed\n' })
  assert.match(deleted.stderr, /src\/api\/a\.ts is leased by alice/)

  // anonymous: with no credentials git is asked for them (and has none); with the room's non-agent credentials it is told why
  const bare = await push(`${s.url}/rooms/${room.name}.git`, { 'src/api/z.ts': 'z\n' })
  assert.match(bare.stderr, /could not read Username/)
  const anon = await push(as(s.url, room, 'someone', 'not-a-token'), { 'src/api/z.ts': 'z\n' })
  assert.match(anon.stderr, /src\/api\/z\.ts is leased by alice .*\(anonymous pushes may not touch leased paths\)/)

  // released: bob's push passes
  await lease(s, room.token, 'release')
  assert.equal((await push(asBob, { 'src/api/x.ts': 'x\n' })).code, 0)

  // expired on a moved clock: it binds no one any more, and the sweep announces it
  await lease(s, room.token, 'acquire', { paths: ['src/api/**'], ttl: 60 })
  assert.notEqual((await push(asBob, { 'src/api/x.ts': 'x2\n' })).code, 0)
  now = new Date('2026-12-02T12:01:01Z')
  assert.equal((await push(asBob, { 'src/api/x.ts': 'x2\n' })).code, 0)
  await s.app.rooms.expireLeases()
  assert.ok((await botSays(s, room)).includes("alice's lease on src/api/** expired"))
})

test('merging a branch pushed before the lease passes; a merge that edits the leased path itself does not', async (t) => {
  const s = await gitServer(t)
  const room = await gitRoom(s)
  const bob = await joinRoom(s, room.roomId, 'bob')
  const { home, dir } = await workspace(t, s, room)
  const asBob = as(s.url, room, 'bob', bob)
  await gitOk(home, dir, ['checkout', '-q', '-b', 'feature'])
  await commitFiles(home, dir, { 'src/api/f.ts': 'feature\n' }, 'feature work')
  await gitOk(home, dir, ['push', '-q', asBob, 'feature'])
  await gitOk(home, dir, ['checkout', '-q', 'main'])
  await commitFiles(home, dir, { 'docs/m.md': 'main\n' }, 'main work')
  await lease(s, room.token, 'acquire', { paths: ['src/api/**'] })

  await gitOk(home, dir, ['merge', '-q', '--no-edit', 'feature'])
  const merged = await git(home, dir, ['push', asBob, 'main'])
  assert.equal(merged.code, 0, merged.stderr)
  // an evil merge: the merge commit itself changes a leased file
  await gitOk(home, dir, ['checkout', '-q', '-b', 'other', 'HEAD~1'])
  await commitFiles(home, dir, { 'docs/o.md': 'o\n' }, 'other work')
  await gitOk(home, dir, ['checkout', '-q', 'main'])
  await gitOk(home, dir, ['merge', '-q', '--no-commit', 'other'])
  await commitFiles(home, dir, { 'src/api/f.ts': 'edited in the merge\n' }, 'merge other')
  assert.match((await git(home, dir, ['push', asBob, 'main'])).stderr, /src\/api\/f\.ts is leased by alice/)
})

test('an admin pushes over a lease with -o lease-override, announced in the room; a member may not', async (t) => {
  const s = await gitServer(t)
  const room = await gitRoom(s)
  const bob = await joinRoom(s, room.roomId, 'bob')
  const carol = await joinRoom(s, room.roomId, 'carol')
  const { push } = await workspace(t, s, room)
  await lease(s, bob, 'acquire', { paths: ['src/api'] })

  const member = await push(as(s.url, room, 'carol', carol), { 'src/api/x.ts': 'x\n' }, ['-o', 'lease-override'])
  assert.match(member.stderr, /src\/api\/x\.ts is leased by bob \(exclusive on src\/api, until .*\); lease-override needs an admin\)/)
  const admin = await push(as(s.url, room, 'alice', room.token), { 'src/api/x.ts': 'x\n' }, ['-o', 'lease-override'])
  assert.equal(admin.code, 0, admin.stderr)
  assert.ok((await botSays(s, room)).includes("alice pushed over bob's src/api with lease-override (main)"))
  // without the option an admin is refused like anyone
  assert.match((await push(as(s.url, room, 'alice', room.token), { 'src/api/y.ts': 'y\n' })).stderr, /leased by bob/)
})

test('a lease taken on one instance is enforced on a push to another', { skip: !DATABASE_URL && 'needs PostgreSQL (set DATABASE_URL): instances share one database' }, async (t) => {
  const a = await gitServer(t)
  const config = await testConfig(t, { reposDir: a.config.reposDir })
  const appB = await buildApp(config, { logger: false })
  t.after(() => appB.close())
  await appB.listen({ port: 0, host: '127.0.0.1' })
  const addr = appB.server.address()
  const urlB = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
  const room = await gitRoom(a)
  const bob = await joinRoom(a, room.roomId, 'bob')
  const { push } = await workspace(t, a, room)
  await lease(a, room.token, 'acquire', { paths: ['src/api/**'] })
  const onB = await push(as(urlB, room, 'bob', bob), { 'src/api/x.ts': 'x\n' })
  assert.match(onB.stderr, /src\/api\/x\.ts is leased by alice/)
  assert.equal((await push(as(urlB, room, 'bob', bob), { 'docs/x.md': 'x\n' })).code, 0)
})
