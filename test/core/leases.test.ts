// Path leases as actions: acquire, renew, release, list; conflicts, announcements, expiry, bad input; A2A and MCP.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { a2a, aliceBobCarol, createRoom, startApp, type TestServer } from '../helpers.ts'
import { connect } from '../mcp/helpers.ts'

const lease = (srv: TestServer, agentToken: string, action: string, params: Record<string, unknown> = {}) =>
  a2a(srv, `lease.${action}`, { agentToken, ...params })
const bot = async (srv: TestServer, token: string, roomId: string) =>
  (await a2a(srv, 'message.history', { agentToken: token, limit: 100 }, { contextId: roomId })).data.messages
    .filter((m: any) => m.from === 'room-bot')
    .map((m: any) => m.body)

test('leases: exclusive ones clash with anyone else\'s, shared ones with exclusive only; every change is announced', async (t) => {
  let now = new Date('2026-12-02T12:00:00Z')
  const srv = await startApp(t, {}, { clock: () => now })
  const { roomId, alice, bob, carol } = await aliceBobCarol(srv)

  const got = await lease(srv, alice, 'acquire', { paths: ['src/api/**', './docs/'], reason: 'refactoring the API', ttl: 600 })
  assert.equal(got.text, 'Leased 2 pattern(s) until 2026-12-02 12:10 UTC')
  assert.deepEqual(got.data.lease, { agent: 'alice', paths: ['docs', 'src/api/**'], exclusive: true, reason: 'refactoring the API', expiresAt: '2026-12-02T12:10:00.000Z' })

  const clash = await lease(srv, bob, 'acquire', { paths: ['src/api/routes.ts'] })
  assert.equal(clash.text, "Error: src/api/routes.ts conflicts with alice's exclusive lease on src/api/** (until 2026-12-02 12:10 UTC)")
  assert.equal(clash.raw.result.parts.at(-1).data.error.code, 'LEASE_CONFLICT')
  assert.match((await lease(srv, bob, 'acquire', { paths: ['docs/guide.md'], exclusive: false })).text, /^Error: docs\/guide\.md conflicts with alice's exclusive lease on docs/)
  // disjoint paths, and shared leases side by side
  assert.match((await lease(srv, bob, 'acquire', { paths: ['src/web/**'], exclusive: false })).text, /^Leased 1 pattern/)
  assert.match((await lease(srv, carol, 'acquire', { paths: ['src/web/app.ts'], exclusive: false })).text, /^Leased 1 pattern/)
  assert.match((await lease(srv, carol, 'acquire', { paths: ['src/web/**'] })).text, /^Error: src\/web\/\*\* conflicts with bob's shared lease on src\/web\/\*\*/)

  const listed = await lease(srv, carol, 'list')
  assert.deepEqual(
    listed.data.leases.map((l: any) => [l.agent, l.paths.join(' '), l.exclusive]),
    [['alice', 'docs src/api/**', true], ['bob', 'src/web/**', false], ['carol', 'src/web/app.ts', false]],
  )

  now = new Date('2026-12-02T12:05:00Z')
  const renewed = await lease(srv, alice, 'renew', { paths: ['docs'], ttl: 3600 })
  assert.deepEqual(renewed.data, { paths: ['docs'], expiresAt: '2026-12-02T13:05:00.000Z' })
  assert.equal((await lease(srv, alice, 'release', { paths: ['docs'] })).text, 'Released 1 pattern(s)')
  assert.deepEqual((await lease(srv, bob, 'acquire', { paths: ['docs/guide.md'] })).data.lease.paths, ['docs/guide.md'])

  // past its expiry a lease binds no one, and the sweep announces it once
  now = new Date('2026-12-02T12:11:00Z')
  assert.match((await lease(srv, bob, 'acquire', { paths: ['src/api/x.ts'] })).text, /^Leased 1 pattern/)
  await srv.app.rooms.expireLeases()
  await srv.app.rooms.expireLeases()
  assert.deepEqual(await bot(srv, alice, roomId).then((b: string[]) => b.filter((x) => /lease|leased|released/.test(x))), [
    'alice leased src/api/**, docs (exclusive) until 2026-12-02 12:10 UTC: refactoring the API',
    'bob leased src/web/** (shared) until 2026-12-02 13:00 UTC',
    'carol leased src/web/app.ts (shared) until 2026-12-02 13:00 UTC',
    'alice released docs',
    'bob leased docs/guide.md (exclusive) until 2026-12-02 13:05 UTC',
    'bob leased src/api/x.ts (exclusive) until 2026-12-02 13:11 UTC',
    "alice's lease on src/api/** expired",
  ])
  assert.equal((await lease(srv, alice, 'renew')).text, 'Error: You hold no unexpired lease in this room')
  // releasing everything (no paths) takes all of the caller's leases
  assert.deepEqual((await lease(srv, bob, 'release')).data.released, ['docs/guide.md', 'src/api/x.ts', 'src/web/**'])
})

test('bad lease requests: a clear error each, nothing stored', async (t) => {
  const srv = await startApp(t)
  const { alice, bob } = await aliceBobCarol(srv)
  const other = await createRoom(srv)
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ paths: ['../secrets'] }, /^Error: paths: "\.\.\/secrets" must stay inside the repository/],
    [{ paths: ['src/../../x'] }, /must stay inside the repository/],
    [{ paths: ['/etc/passwd'] }, /^Error: paths: "\/etc\/passwd" must be relative to the repository root/],
    [{ paths: ['C:/x'] }, /must be relative to the repository root/],
    [{ paths: ['src\\api'] }, /must use "\/"/],
    [{ paths: ['  '] }, /^Error: paths: "  " must not be empty/],
    [{ paths: [] }, /^Error: paths must be a list of 1 to 100 strings/],
    [{ paths: Array.from({ length: 101 }, (_, i) => `f${i}`) }, /^Error: paths must be a list of 1 to 100 strings/],
    [{ paths: ['x'], ttl: 0 }, /^Error: ttl must be an integer from 1 to 86400/],
    [{ paths: ['x'], ttl: 86401 }, /^Error: ttl must be an integer from 1 to 86400/],
    [{ paths: ['x'], exclusive: 'yes' }, /^Error: exclusive must be true or false/],
    [{ paths: ['x'], roomId: other.roomId }, /^Error: agentToken does not belong to this room/],
  ]
  for (const [params, want] of cases) assert.match((await lease(srv, alice, 'acquire', params)).text, want, JSON.stringify(params).slice(0, 60))
  assert.match((await lease(srv, alice, 'acquire')).text, /^Error: paths is required/)
  // at most 100 patterns held at once, whatever the number of calls
  assert.match((await lease(srv, bob, 'acquire', { paths: Array.from({ length: 60 }, (_, i) => `a${i}`) })).text, /^Leased 60/)
  assert.match((await lease(srv, bob, 'acquire', { paths: Array.from({ length: 41 }, (_, i) => `b${i}`) })).text, /^Error: paths would make 101 leased patterns; an agent may hold at most 100/)
  await lease(srv, bob, 'release')
  assert.match((await lease(srv, 'not-a-token', 'list')).text, /^Error: Invalid agentToken/)
  assert.deepEqual((await lease(srv, bob, 'list')).data.leases, [])
})

test('MCP: acquireLease, listLeases, releaseLease with the SDK client', async (t) => {
  const srv = await startApp(t)
  const { name } = await aliceBobCarol(srv)
  const dave = await connect(t, srv.url)
  await dave.call('joinRoom', { roomId: name, agentName: 'dave' })
  const got = await dave.call('acquireLease', { paths: ['lib/**'], reason: 'tests' })
  assert.deepEqual(got.json.lease.paths, ['lib/**'])
  assert.deepEqual((await dave.call('listLeases')).json.leases.map((l: any) => l.agent), ['dave'])
  assert.deepEqual((await dave.call('releaseLease')).json.released, ['lib/**'])
})
