// MCP 2026-07-28 with the real v2 client: stateless calls on any instance, room resources, listen, wait tasks.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DATABASE_URL, startApp, testConfig, uniq, type TestServer } from '../helpers.ts'
import { connect } from './helpers.ts'
import { resultFromTaskOutcome } from '@modelcontextprotocol/ext-tasks/client'
import { connectModern, MODERN, modernRpc, taskSession } from './modern-helpers.ts'

/** Resolves with the next notification of `method` the client receives that matches `pred`. */
function nextNotification(client: Awaited<ReturnType<typeof connectModern>>['client'], method: 'notifications/resources/updated', pred: (p: any) => boolean = () => true) {
  return new Promise<any>((resolve) => {
    client.setNotificationHandler(method, (n: any) => {
      if (pred(n.params)) resolve(n.params)
    })
  })
}

async function roomWithTwo(t: any, a: TestServer, b: TestServer = a) {
  const alice = await connectModern(t, a.url)
  const created = await alice.call('createRoom', { name: uniq('modern'), agentName: 'alice' })
  assert.equal(created.isError, undefined, created.text)
  const bob = await connectModern(t, b.url)
  const joined = await bob.call('joinRoom', { roomId: created.json.roomId, agentName: 'bob' })
  assert.equal(joined.isError, undefined, joined.text)
  return { alice, bob, roomId: created.json.roomId as string, aliceToken: created.json.agentToken as string, bobToken: joined.json.agentToken as string }
}

test('2026-07-28: the v2 client negotiates the current revision; tools take the agentToken; discover names both features', async (t) => {
  const s = await startApp(t)
  const c = await connectModern(t, s.url)
  assert.equal(c.client.getNegotiatedProtocolVersion(), MODERN)
  const { tools } = await c.client.listTools()
  const send = tools.find((x) => x.name === 'sendMessage')!
  assert.ok((send.inputSchema.properties as any).agentToken, 'sendMessage takes agentToken on 2026-07-28')
  assert.match(c.client.getInstructions() ?? '', /agentToken/)
  const caps = c.client.getServerCapabilities() as any
  assert.ok(caps.extensions['io.modelcontextprotocol/tasks'], 'the Tasks extension is advertised')
  assert.equal(caps.resources.subscribe, true)
})

test('MCP context budget: tools/list plus the instructions stay under 24k characters on both revisions', async (t) => {
  const s = await startApp(t)
  const modern = await connectModern(t, s.url)
  const legacy = await connect(t, s.url)
  for (const client of [modern.client, legacy.client] as any[]) {
    const size = JSON.stringify((await client.listTools()).tools).length + (client.getInstructions() ?? '').length
    assert.ok(size < 24_000, `tools/list + instructions: ${size} characters`)
  }
})

test('2026-07-28: a call without agentToken says how to get one; a bad token is a tool error; nothing is stored', async (t) => {
  const s = await startApp(t)
  const c = await connectModern(t, s.url)
  const r = await c.call('sendMessage', { text: 'hi' })
  assert.equal(r.isError, true)
  assert.match(r.text, /createRoom or joinRoom/)
  const bad = await c.call('sendMessage', { text: 'hi', agentToken: 'nope' })
  assert.equal(bad.isError, true)
  assert.match(bad.text, /Invalid agentToken/)
})

test('2026-07-28: an unknown protocol version gets the error listing the supported ones', async (t) => {
  const s = await startApp(t)
  const r = await modernRpc(s.url, 'tools/list', {}, { version: '2099-01-01' })
  assert.equal(r.body.error.code, -32022)
  assert.ok(r.body.error.data.supported.includes(MODERN), JSON.stringify(r.body))
})

test('2026-07-28: send, unread piggy-back and history work with the token alone; 2025-11-25 clients share the room', async (t) => {
  const s = await startApp(t)
  const { alice, bob, aliceToken, bobToken, roomId } = await roomWithTwo(t, s)
  const sent = await alice.call('sendMessage', { agentToken: aliceToken, text: 'hello bob' })
  assert.equal(sent.isError, undefined, sent.text)
  const info = await bob.call('roomInfo', { agentToken: bobToken })
  assert.equal(info.isError, undefined, info.text)
  assert.deepEqual(
    info.structuredContent.unread.map((m: any) => m.body),
    ['hello bob'],
    'the next call of the addressee carries the unread message',
  )
  const legacy = await connect(t, s.url)
  const carol = await legacy.call('joinRoom', { roomId, agentName: 'carol' })
  assert.equal(carol.isError, undefined)
  await legacy.call('sendMessage', { text: 'from a 2025 session' })
  const hist = await alice.call('messageHistory', { agentToken: aliceToken })
  assert.ok(hist.json.messages.some((m: any) => m.body === 'from a 2025 session'))
})

test('2026-07-28: the room resource shows the agent its transcript (its DMs, not others\') and the repository', async (t) => {
  const s = await startApp(t)
  const { alice, bob, aliceToken, bobToken, roomId } = await roomWithTwo(t, s)
  const carol = await connectModern(t, s.url)
  const c = await carol.call('joinRoom', { roomId, agentName: 'carol' })
  await alice.call('sendMessage', { agentToken: aliceToken, text: 'for everyone' })
  await alice.call('sendMessage', { agentToken: aliceToken, text: 'secret for carol', to: 'carol' })
  const asBob = await connectModern(t, s.url, { bearer: bobToken })
  const list = await asBob.client.listResources()
  assert.deepEqual(list.resources.map((r) => r.uri), [`convene://rooms/${roomId}`])
  const read = await asBob.client.readResource({ uri: `convene://rooms/${roomId}` })
  const text = (read.contents[0] as { text: string }).text
  assert.match(text, /for everyone/)
  assert.doesNotMatch(text, /secret for carol/)
  assert.match(text, /Repository files/)
  const asCarol = await connectModern(t, s.url, { bearer: c.json.agentToken })
  const carolRead = await asCarol.client.readResource({ uri: `convene://rooms/${roomId}` })
  assert.match((carolRead.contents[0] as { text: string }).text, /secret for carol/)
  void bob
})

test('2026-07-28: listen tells an agent its room changed, never for another agent\'s DM', async (t) => {
  const s = await startApp(t)
  const { alice, bobToken, aliceToken, roomId } = await roomWithTwo(t, s)
  const carol = await connectModern(t, s.url)
  await carol.call('joinRoom', { roomId, agentName: 'carol' })
  const asBob = await connectModern(t, s.url, { bearer: bobToken })
  const uri = `convene://rooms/${roomId}`
  const updates: any[] = []
  let wake = () => {}
  asBob.client.setNotificationHandler('notifications/resources/updated', (n: any) => {
    updates.push(n.params)
    wake()
  })
  const sub = await asBob.client.listen({ resourceSubscriptions: [uri] })
  assert.deepEqual(sub.honoredFilter.resourceSubscriptions, [uri])
  assert.match(await (await fetch(`${s.url}/metrics`)).text(), /^convene_mcp_listen_streams 1$/m)
  await alice.call('sendMessage', { agentToken: aliceToken, text: 'dm for carol', to: 'carol' })
  const sent = await alice.call('sendMessage', { agentToken: aliceToken, text: 'for all' })
  if (updates.length === 0) await new Promise<void>((r) => (wake = r))
  assert.equal(updates[0].uri, uri)
  assert.equal(updates[0]._meta['convene/seq'], sent.json.seq ?? updates[0]._meta['convene/seq'])
  assert.equal(updates.length, 1, 'the DM to carol told bob nothing')
  await sub.close()
})

test('2026-07-28: a stranger\'s listen is honored for nothing', async (t) => {
  const s = await startApp(t)
  const { roomId } = await roomWithTwo(t, s)
  const stranger = await connectModern(t, s.url, { bearer: 'not-a-token' })
  const sub = await stranger.client.listen({ resourceSubscriptions: [`convene://rooms/${roomId}`] })
  assert.deepEqual(sub.honoredFilter, {})
  assert.equal(await sub.closed, 'graceful')
})

test('2026-07-28: waitForMessages as a task (the official Tasks client) completes when another agent writes; another is cancelled', async (t) => {
  const s = await startApp(t)
  const { alice, bob, aliceToken, bobToken } = await roomWithTwo(t, s)
  const session = taskSession(s.url, bob.client)
  t.after(() => session.close())
  const exec = await session.callTool('waitForMessages', { agentToken: bobToken, timeout: 3600 })
  const taskId = (exec as any).handle.taskId as string
  assert.match(taskId, /^wt_/)
  assert.equal((await modernRpc(s.url, 'tasks/get', { taskId })).body.result.status, 'working')
  // Another v2 client follows the task on a listen stream: its end arrives as notifications/tasks.
  const watcher = await connectModern(t, s.url)
  const ended = new Promise<any>((resolve) => {
    watcher.client.fallbackNotificationHandler = async (n: any) => {
      if (n.method === 'notifications/tasks' && n.params.taskId === taskId) resolve(n.params)
    }
  })
  await watcher.client.listen({ taskIds: [taskId] } as any)
  await alice.call('sendMessage', { agentToken: aliceToken, text: 'wake up bob' })
  assert.equal((await ended).status, 'completed')
  const { outcome } = await exec.settle()
  const result = resultFromTaskOutcome(outcome) as any
  assert.deepEqual(result.structuredContent.messages.map((m: any) => m.body), ['wake up bob'])
  const unread = await bob.call('unreadMessages', { agentToken: bobToken })
  assert.deepEqual(unread.json.messages, [], 'the task marked what it delivered as read')

  const other = await session.callTool('waitForMessages', { agentToken: bobToken, timeout: 3600 })
  const otherId = (other as any).handle.taskId as string
  await other.cancel()
  assert.equal((await modernRpc(s.url, 'tasks/get', { taskId: otherId })).body.result.status, 'cancelled')
  const unknown = await modernRpc(s.url, 'tasks/get', { taskId: 'wt_unknown' })
  assert.match(unknown.body.error.message, /Unknown task/)
})

test('2026-07-28: without the Tasks extension waitForMessages answers in the call, as on 2025-11-25', async (t) => {
  const s = await startApp(t)
  const { bob, bobToken } = await roomWithTwo(t, s)
  const r = await bob.call('waitForMessages', { agentToken: bobToken, timeout: 0 })
  assert.equal(r.isError, undefined, r.text)
  assert.deepEqual(r.json.messages, [])
  const tooLong = await bob.call('waitForMessages', { agentToken: bobToken, timeout: 3600 })
  assert.equal(tooLong.isError, true)
  assert.match(tooLong.text, /timeout/)
})

const skip = !DATABASE_URL && 'needs PostgreSQL (set DATABASE_URL): several instances share one database'

test('2026-07-28 on two instances: a room created on A, joined and written on B with no shared session', { skip }, async (t) => {
  const config = await testConfig(t)
  const a = await startApp(t, {}, { config })
  const b = await startApp(t, {}, { config: { ...config } })
  const { alice, bob, bobToken, aliceToken, roomId } = await roomWithTwo(t, a, b)
  const sent = await bob.call('sendMessage', { agentToken: bobToken, text: 'sent on B' })
  assert.equal(sent.isError, undefined, sent.text)
  const unread = await alice.call('unreadMessages', { agentToken: aliceToken })
  assert.deepEqual(unread.json.messages.map((m: any) => m.body), ['bob joined the room', 'sent on B'])
  // A listen stream on A hears a message sent on B.
  const asAlice = await connectModern(t, a.url, { bearer: aliceToken })
  const uri = `convene://rooms/${roomId}`
  const heard = nextNotification(asAlice.client, 'notifications/resources/updated', (p) => p.uri === uri)
  await asAlice.client.listen({ resourceSubscriptions: [uri] })
  await bob.call('sendMessage', { agentToken: bobToken, text: 'again on B' })
  assert.equal((await heard).uri, uri)
})

test('2026-07-28: shutdown ends open listen streams gracefully instead of waiting on them', async (t) => {
  const s = await startApp(t)
  const { bobToken, roomId } = await roomWithTwo(t, s)
  const asBob = await connectModern(t, s.url, { bearer: bobToken })
  const sub = await asBob.client.listen({ resourceSubscriptions: [`convene://rooms/${roomId}`] })
  await s.app.close()
  assert.equal(await sub.closed, 'graceful')
})

test('2026-07-28 hostile input: foreign Origin, listen floods, malformed task and listen params change nothing', async (t) => {
  const s = await startApp(t, { maxSseStreamsPerIp: 1 })
  const { bobToken, roomId } = await roomWithTwo(t, s)
  const foreign = await fetch(`${s.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'https://evil.example', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } } }),
  })
  assert.equal(foreign.status, 403)

  const asBob = await connectModern(t, s.url, { bearer: bobToken })
  await asBob.client.listen({ resourceSubscriptions: [`convene://rooms/${roomId}`] })
  const second = await modernRpc(s.url, 'subscriptions/listen', { notifications: { resourceSubscriptions: [`convene://rooms/${roomId}`] } }, { bearer: bobToken })
  assert.equal(second.status, 429)
  assert.match(second.body.error.message, /at most 1/)

  const badId = await modernRpc(s.url, 'tasks/get', { taskId: 42 })
  assert.equal(badId.body.error.code, -32602, JSON.stringify(badId.body))
  const noRoom = await modernRpc(s.url, 'resources/read', { uri: 'file:///etc/passwd' }, { bearer: bobToken })
  assert.match(noRoom.body.error.message, /Unknown resource/)
  const stranger = await modernRpc(s.url, 'resources/read', { uri: `convene://rooms/${roomId}` }, { bearer: 'not-a-token' })
  assert.match(stranger.body.error.message, /Invalid agentToken/)
  const cap = await modernRpc(s.url, 'tools/call', { name: 'waitForMessages', arguments: { agentToken: bobToken, timeout: 100_000 } }, { tasks: true })
  assert.equal(cap.body.result.isError, true)
  assert.match(cap.body.result.content[0].text, /timeout/)
})

test('2026-07-28: a kicked agent\'s listen stream ends and tells it nothing more', async (t) => {
  const s = await startApp(t)
  const { alice, aliceToken, bobToken, roomId } = await roomWithTwo(t, s)
  const asBob = await connectModern(t, s.url, { bearer: bobToken })
  const updates: any[] = []
  asBob.client.setNotificationHandler('notifications/resources/updated', (n: any) => void updates.push(n.params))
  const sub = await asBob.client.listen({ resourceSubscriptions: [`convene://rooms/${roomId}`] })
  const kicked = await alice.call('kickAgent', { agentToken: aliceToken, targetAgent: 'bob' })
  assert.equal(kicked.isError, undefined, kicked.text)
  assert.equal(await sub.closed, 'graceful')
  await alice.call('sendMessage', { agentToken: aliceToken, text: 'after the kick' })
  assert.equal(updates.length, 0)
})

test('2026-07-28: a listen client that disconnects frees its stream (no feed subscription or quota left behind)', async (t) => {
  const s = await startApp(t, { maxSseStreamsPerIp: 1 })
  const { bobToken, roomId } = await roomWithTwo(t, s)
  const asBob = await connectModern(t, s.url, { bearer: bobToken })
  const sub = await asBob.client.listen({ resourceSubscriptions: [`convene://rooms/${roomId}`] })
  assert.match(await (await fetch(`${s.url}/metrics`)).text(), /^convene_mcp_listen_streams 1$/m)
  await sub.close() // aborts the request mid-stream
  // The server hears the socket close on its own schedule: the freed place is what the next listen finds.
  let again = await modernRpc(s.url, 'subscriptions/listen', { notifications: {} }, { bearer: bobToken })
  for (let i = 0; i < 100 && again.status === 429; i++) {
    await new Promise((r) => setImmediate(r))
    again = await modernRpc(s.url, 'subscriptions/listen', { notifications: {} }, { bearer: bobToken })
  }
  assert.equal(again.status, 200)
  assert.match(await (await fetch(`${s.url}/metrics`)).text(), /^convene_mcp_listen_streams 0$/m)
})
