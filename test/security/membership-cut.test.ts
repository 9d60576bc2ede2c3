// Issue 13 point 6: kick and leave cut every live feed of the removed agent at once (driven by the removal's
// event, not a timer), on every surface and every instance; nothing sent afterwards reaches it.
import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { a2a, createRoom, DATABASE_URL, joinRoom, startApp, testConfig, uniq, type TestServer } from '../helpers.ts'
import { connect, rawSession, rawTool, type McpClient } from '../mcp/helpers.ts'
import { Receiver } from '../realtime/receiver.ts'
import { SseClient } from '../realtime/sse-client.ts'

const sseUrl = (srv: TestServer, roomId: string, token: string) => `${srv.url}/api/messages/${roomId}/sse?agentToken=${token}`

/** Resolves once `srv`'s next message.wait is blocked on the bus (its first read found nothing). */
function nextWaitBlocked(t: TestContext, srv: TestServer): Promise<void> {
  const bus = srv.app.events
  const original = bus.subscribe.bind(bus)
  let blocked!: () => void
  const isBlocked = new Promise<void>((r) => (blocked = r))
  bus.subscribe = (l) => {
    bus.subscribe = original
    blocked()
    return original(l)
  }
  t.after(() => (bus.subscribe = original))
  return isBlocked
}

/** Sends `texts` as `token`, then waits until the observer has all of them: by then every feed on its instance had them. */
async function sendObserved(srv: TestServer, token: string, roomId: string, texts: string[], seen: () => string[]) {
  for (const text of texts) await a2a(srv, 'message.send', { agentToken: token }, { text, contextId: roomId })
  const deadline = Date.now() + 5000
  while (!texts.every((x) => seen().includes(x))) {
    if (Date.now() > deadline) throw new Error(`observer did not receive ${texts.join(', ')}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const bodies = (c: McpClient) => c.notes.map((n) => n.data.body as string)

test('kick and leave close the agent’s SSE streams at once (default 15 s ping), nothing sent after reaches them', async (t) => {
  const srv = await startApp(t)
  const { roomId, token: admin } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob')
  const carol = await joinRoom(srv, roomId, 'carol')
  const dave = await joinRoom(srv, roomId, 'dave')
  const [bobStream, carolStream, daveStream] = await Promise.all([bob, carol, dave].map((tk) => SseClient.open(sseUrl(srv, roomId, tk))))
  t.after(() => [bobStream, carolStream, daveStream].forEach((s) => s.close()))

  const t0 = Date.now()
  await a2a(srv, 'room.kick', { agentToken: admin, targetAgent: 'bob' })
  await bobStream.untilClosed(3000)
  await a2a(srv, 'room.leave', { agentToken: carol })
  await carolStream.untilClosed(3000)
  assert.ok(Date.now() - t0 < 3000, 'cut by the event, not the 15 s sweep')

  await a2a(srv, 'message.send', { agentToken: admin }, { text: 'after' })
  await daveStream.until(() => daveStream.messages.some((m) => m.body === 'after'), 5000, 'dave to go on')
  for (const s of [bobStream, carolStream]) assert.ok(!s.messages.some((m) => m.body === 'after'))
  // The removal notice itself is not delivered to the removed agent either.
  assert.ok(!bobStream.messages.some((m) => /bob was kicked/.test(m.body)))
  assert.ok(!carolStream.messages.some((m) => /carol left/.test(m.body)))
})

test('a stream opened with a far Last-Event-ID just before its agent is kicked is still cut', async (t) => {
  const srv = await startApp(t)
  const { roomId, token: admin } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob')
  const s = await SseClient.open(`${sseUrl(srv, roomId, bob)}&lastEventId=999999`)
  t.after(() => s.close())
  await a2a(srv, 'room.kick', { agentToken: admin, targetAgent: 'bob' })
  await s.untilClosed(3000)
})

test('MCP: a kicked agent’s GET stream gets no room notification after the kick; one that left elsewhere neither', async (t) => {
  const srv = await startApp(t)
  const [alice, bob, carol, dave] = [await connect(t, srv.url), await connect(t, srv.url), await connect(t, srv.url), await connect(t, srv.url)]
  const name = uniq()
  const { json: room } = await alice.call('createRoom', { agentName: 'alice', name })
  await bob.call('joinRoom', { roomId: name, agentName: 'bob' })
  const { json: joined } = await carol.call('joinRoom', { roomId: name, agentName: 'carol' })
  await dave.call('joinRoom', { roomId: name, agentName: 'dave' })
  await sendObserved(srv, room.agentToken, room.roomId, ['before'], () => bodies(dave))
  await bob.nextNote((n) => n.data.body === 'before', 2000)

  await alice.call('kickAgent', { targetAgent: 'bob' })
  // carol's session stays joined, but her agent leaves through A2A with the same token
  await a2a(srv, 'room.leave', { agentToken: joined.agentToken })
  await sendObserved(srv, room.agentToken, room.roomId, ['after 1', 'after 2'], () => bodies(dave))
  for (const [c, notice] of [[bob, /bob was kicked/], [carol, /carol left/]] as const) {
    assert.deepEqual(bodies(c).filter((b) => b.startsWith('after')), [], 'nothing after the removal')
    assert.ok(!bodies(c).some((b) => notice.test(b)), 'nor the removal notice')
  }
  // Their next tool results carry nothing from the room either, and say the agent is gone.
  const r = await bob.call('waitForMessages', { timeout: 0 })
  assert.equal((r.content[0] as { text: string }).text, 'Error: Invalid agentToken')
  const listed = await carol.call('listRooms')
  assert.deepEqual(listed.structuredContent.unread, [])
})

test('MCP without a GET stream: no buffered notification from after the kick rides the next tool result', async (t) => {
  const srv = await startApp(t)
  const alice = await connect(t, srv.url)
  const carol = await connect(t, srv.url)
  const sid = await rawSession(srv.url) // never opens the GET stream: notifications wait in the buffer
  const name = uniq()
  const { json: room } = await alice.call('createRoom', { agentName: 'alice', name })
  await rawTool(srv.url, sid, 'joinRoom', { roomId: name, agentName: 'bob' })
  await carol.call('joinRoom', { roomId: name, agentName: 'carol' })
  await alice.call('kickAgent', { targetAgent: 'bob' })
  await sendObserved(srv, room.agentToken, room.roomId, ['after kick'], () => bodies(carol))
  const r = await rawTool(srv.url, sid, 'listRooms')
  const notes = r.messages.filter((m) => m.method === 'notifications/message').map((m) => m.params.data.body)
  assert.ok(!notes.includes('after kick'), `no notification from after the kick (got ${JSON.stringify(notes)})`)
  assert.ok(!notes.some((b: string) => /bob was kicked/.test(b)))
  assert.deepEqual(r.result.structuredContent.unread, [])
})

test('MCP: a session restored after its agent was kicked (restart, no GET stream) is not fed the room', async (t) => {
  const config = await testConfig(t)
  const first = await startApp(t, {}, { config })
  const sid = await rawSession(first.url)
  const { token: admin, roomId } = await createRoom(first)
  await rawTool(first.url, sid, 'joinRoom', { roomId, agentName: 'bob' })
  await a2a(first, 'room.kick', { agentToken: admin, targetAgent: 'bob' })
  await first.app.close()

  const second = await startApp(t, {}, { config: { ...config } })
  const carol = await connect(t, second.url)
  await carol.call('joinRoom', { roomId, agentName: 'carol' })
  await rawTool(second.url, sid, 'listRooms') // restores bob's session on this instance
  await sendObserved(second, admin, roomId, ['after restart'], () => bodies(carol))
  const r = await rawTool(second.url, sid, 'listRooms')
  const notes = r.messages.filter((m) => m.method === 'notifications/message').map((m) => m.params.data.body)
  assert.deepEqual(notes, [])
})

test('A2A push: a kicked agent gets no delivery after the kick and its pending retries are dropped', async (t) => {
  const failing = await Receiver.start(t)
  failing.answer = () => 503 // every delivery to bob fails, so retries are pending when he is kicked
  const ok = await Receiver.start(t)
  const srv = await startApp(t, { pushRetryBaseMs: 20, pushRetryMaxMs: 50 })
  const { roomId, token: admin } = await createRoom(srv)
  await joinRoom(srv, roomId, 'bob', { agentEndpoint: failing.url })
  await joinRoom(srv, roomId, 'carol', { agentEndpoint: ok.url })
  await a2a(srv, 'message.send', { agentToken: admin }, { text: 'before', contextId: roomId })
  await failing.until(() => failing.requests.length >= 3, 5000, 'retries to bob')
  const kick = await a2a(srv, 'room.kick', { agentToken: admin, targetAgent: 'bob' })
  assert.equal(kick.text, 'Kicked bob from the room')
  const kickedAt = failing.requests.length
  await a2a(srv, 'message.send', { agentToken: admin }, { text: 'after', contextId: roomId })
  const seen = () => ok.delivered.map((d) => d.params.message.parts[0].text)
  await ok.until(() => seen().includes('after'), 5000, 'carol’s delivery')
  // Retries were every 20-50 ms: ten retry periods with no request to bob show they were dropped.
  await failing.until(() => false, 500).catch(() => {})
  const texts = failing.requests.map((r) => r.body.params.message.parts[0].text)
  assert.ok(!texts.includes('after'))
  assert.ok(!texts.some((x) => /bob was kicked/.test(x)))
  assert.ok(failing.requests.length - kickedAt <= 1, `at most the retry already in flight (${failing.requests.length - kickedAt})`)
})

test('a pending message.wait of a kicked or departed agent returns at once with Invalid agentToken', async (t) => {
  const srv = await startApp(t)
  const { roomId, token: admin } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob')
  const blocked = nextWaitBlocked(t, srv)
  const t0 = Date.now()
  const waiting = a2a(srv, 'message.wait', { agentToken: bob, timeout: 30 })
  await blocked
  await a2a(srv, 'room.kick', { agentToken: admin, targetAgent: 'bob' })
  const r = await waiting
  assert.equal(r.text, 'Error: Invalid agentToken')
  assert.ok(Date.now() - t0 < 5000, 'returned at once, not at the 30 s timeout')

  // MCP: the session's wait ends when its agent leaves through another surface.
  const carol = await connect(t, srv.url)
  const { json } = await carol.call('joinRoom', { roomId, agentName: 'carol' })
  const blocked2 = nextWaitBlocked(t, srv)
  const t1 = Date.now()
  const mcpWait = carol.call('waitForMessages', { timeout: 30 })
  await blocked2
  await a2a(srv, 'room.leave', { agentToken: json.agentToken })
  const m = await mcpWait
  assert.equal((m.content[0] as { text: string }).text, 'Error: Invalid agentToken')
  assert.ok(Date.now() - t1 < 5000)
})

// Several instances exist only on PostgreSQL (an embedded store is one process), so this case is registered there only.
if (DATABASE_URL) {
  test('PostgreSQL, two instances: a kick on A cuts SSE, MCP notifications and a pending wait held on B', async (t) => {
    const config = await testConfig(t)
    const a = await startApp(t, {}, { config })
    const b = await startApp(t, {}, { config: { ...config } })
    const { roomId, token: admin } = await createRoom(a)
    const carol = await joinRoom(a, roomId, 'carol')
    const bobMcp = await connect(t, b.url)
    const carolMcp = await connect(t, b.url)
    const { json: bob } = await bobMcp.call('joinRoom', { roomId, agentName: 'bob' })
    await carolMcp.call('joinRoom', { roomId, agentName: 'carol', agentToken: carol })
    const bobStream = await SseClient.open(sseUrl(b, roomId, bob.agentToken))
    const carolStream = await SseClient.open(sseUrl(b, roomId, carol))
    t.after(() => [bobStream, carolStream].forEach((s) => s.close()))
    const blocked = nextWaitBlocked(t, b)
    const waiting = a2a(b, 'message.wait', { agentToken: bob.agentToken, timeout: 30 })
    await blocked

    const t0 = Date.now()
    await a2a(a, 'room.kick', { agentToken: admin, targetAgent: 'bob' })
    await bobStream.untilClosed(3000)
    assert.equal((await waiting).text, 'Error: Invalid agentToken')
    assert.ok(Date.now() - t0 < 3000, 'cut on B by the kick’s event')

    await sendObserved(a, admin, roomId, ['after kick'], () => bodies(carolMcp))
    await carolStream.until(() => carolStream.messages.some((m) => m.body === 'after kick'), 5000, 'carol’s stream on B')
    assert.ok(!bodies(bobMcp).includes('after kick'))
    assert.ok(!bobStream.messages.some((m) => m.body === 'after kick'))
  })
}
