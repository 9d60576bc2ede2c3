// Threads (replyTo, threadId, message.thread) and @mentions (mentions, mentionsOnly), on every surface.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mentionCandidates } from '../../lib/rooms/mentions.ts'
import type { WaitTask } from '../../lib/rooms/service.ts'
import { a2a, aliceBobCarol, createRoom, joinRoom, startApp, uniq, type TestServer } from '../helpers.ts'
import { aliceAndBob, connect, text } from '../mcp/helpers.ts'
import { Receiver } from '../realtime/receiver.ts'
import { SseClient } from '../realtime/sse-client.ts'

const send = (srv: TestServer, agentToken: string, text: string, more: Record<string, unknown> = {}) =>
  a2a(srv, 'message.send', { agentToken, ...more }, { text })
const thread = (srv: TestServer, agentToken: string, threadId: string, more: Record<string, unknown> = {}) =>
  a2a(srv, 'message.thread', { agentToken, threadId, ...more })
const history = (srv: TestServer, agentToken: string, roomId: string) => a2a(srv, 'message.history', { agentToken, limit: 100 }, { contextId: roomId })
const bodies = (r: { data: any }) => r.data.messages.map((m: any) => m.body)
const pick = (m: any) => ({ body: m.body, replyTo: m.replyTo, threadId: m.threadId, mentions: m.mentions })

test('A2A: replies thread under their root; every message names its thread on history, unread and message.thread', async (t) => {
  const srv = await startApp(t)
  const { roomId, alice, bob, carol } = await aliceBobCarol(srv)
  await a2a(srv, 'message.unread', { agentToken: carol })
  const root = (await send(srv, alice, 'shall we ship?')).data.id
  const r1 = await send(srv, bob, 'yes @alice', { replyTo: root })
  assert.equal(r1.text, 'Message sent')
  // a reply to a reply stays in the root's thread
  const r2 = (await send(srv, alice, 'then go', { replyTo: r1.data.id })).data.id
  const other = (await send(srv, alice, 'unrelated')).data.id

  const seen = (await history(srv, carol, roomId)).data.messages.slice(-4).map(pick)
  assert.deepEqual(seen, [
    { body: 'shall we ship?', replyTo: null, threadId: root, mentions: [] },
    { body: 'yes @alice', replyTo: root, threadId: root, mentions: ['alice'] },
    { body: 'then go', replyTo: r1.data.id, threadId: root, mentions: [] },
    { body: 'unrelated', replyTo: null, threadId: other, mentions: [] },
  ])
  const unread = await a2a(srv, 'message.unread', { agentToken: carol })
  assert.deepEqual(unread.data.messages.map(pick), seen)

  const th = await thread(srv, carol, root)
  assert.equal(th.text, '3 of 3 message(s) in the thread')
  assert.deepEqual(bodies(th), ['shall we ship?', 'yes @alice', 'then go'])
  assert.equal(th.data.total, 3)
  // a reply's id stands for its thread; contextId may name the room
  assert.deepEqual(bodies(await a2a(srv, 'message.thread', { agentToken: carol, threadId: r2 }, { contextId: roomId })), bodies(th))
  // a message that is not a reply is a thread of one
  assert.deepEqual(bodies(await thread(srv, carol, other)), ['unrelated'])
  // the alias works
  assert.equal((await a2a(srv, 'thread', { agentToken: bob, threadId: root })).data.total, 3)
})

test('message.thread pages oldest first: limit (default 50, max 200) after offset, with the total', async (t) => {
  const srv = await startApp(t)
  const { alice, bob } = await aliceBobCarol(srv)
  const root = (await send(srv, alice, 'root')).data.id
  for (let i = 1; i <= 5; i++) await send(srv, i % 2 ? bob : alice, `r${i}`, { replyTo: root })
  const page = async (limit?: number, offset?: number) => {
    const r = await thread(srv, bob, root, { ...(limit ? { limit } : {}), ...(offset !== undefined ? { offset } : {}) })
    return { bodies: bodies(r), total: r.data.total }
  }
  assert.deepEqual(await page(), { bodies: ['root', 'r1', 'r2', 'r3', 'r4', 'r5'], total: 6 })
  assert.deepEqual(await page(2), { bodies: ['root', 'r1'], total: 6 })
  assert.deepEqual(await page(2, 2), { bodies: ['r2', 'r3'], total: 6 })
  assert.deepEqual(await page(2, 4), { bodies: ['r4', 'r5'], total: 6 })
  assert.deepEqual(await page(1, 0), { bodies: ['root'], total: 6 })
  assert.deepEqual(await page(10, 1), { bodies: ['r1', 'r2', 'r3', 'r4', 'r5'], total: 6 })
  assert.deepEqual(await page(10, 6), { bodies: [], total: 6 })
  assert.match((await thread(srv, bob, root, { limit: 201 })).text, /^Error: limit must be an integer from 1 to 200/)
  assert.match((await thread(srv, bob, root, { offset: -1 })).text, /^Error: offset must be an integer ≥ 0/)
  assert.match((await a2a(srv, 'message.thread', { agentToken: bob })).text, /^Error: threadId is required/)
})

test('privacy: a DM reply in a thread reaches only its two agents, on every surface', async (t) => {
  const rx = await Receiver.start(t)
  const srv = await startApp(t, { pushRetryBaseMs: 20, pushRetryMaxMs: 200 })
  const { roomId, name, alice, bob } = await aliceBobCarol(srv)
  const dave = await joinRoom(srv, roomId, 'dave', { agentEndpoint: rx.url })
  const sse = await SseClient.open(`${srv.url}/api/messages/${roomId}/sse?agentToken=${encodeURIComponent(dave)}`)
  t.after(() => sse.close())
  const mcp = await connect(t, srv.url)
  await mcp.call('joinRoom', { roomId: name, agentName: 'erin' })

  const root = (await send(srv, alice, 'plan?')).data.id
  const secret = (await send(srv, bob, 'between us: no @dave', { replyTo: root, to: 'alice' })).data.id
  await send(srv, alice, 'public answer', { replyTo: secret })
  await send(srv, alice, 'done')

  // alice and bob see the whole thread, the DM included (it carries no mentions: DMs are not parsed)
  const full = await thread(srv, bob, root)
  assert.deepEqual(bodies(full), ['plan?', 'between us: no @dave', 'public answer'])
  assert.deepEqual(full.data.messages[1].mentions, [])
  assert.equal(full.data.messages[1].to, 'alice')
  assert.deepEqual(bodies(await thread(srv, alice, root)), bodies(full))

  // dave: not in message.thread (nor its total), history, unread, SSE or push; erin: not in MCP notifications
  const th = await thread(srv, dave, root)
  assert.deepEqual(bodies(th), ['plan?', 'public answer'])
  assert.equal(th.data.total, 2)
  // the public reply names the DM it answers (an id, nothing of its content) and stays in the thread
  assert.deepEqual(pick(th.data.messages[1]), { body: 'public answer', replyTo: secret, threadId: root, mentions: [] })
  // the DM's id does not open it
  assert.match((await thread(srv, dave, secret)).text, new RegExp(`^Error: threadId: no thread ${secret} that you can see in this room`))
  assert.ok(!bodies(await history(srv, dave, roomId)).includes('between us: no @dave'))
  const unread = await a2a(srv, 'message.unread', { agentToken: dave, peek: true })
  assert.ok(!bodies(unread).includes('between us: no @dave'))

  await sse.until(() => sse.messages.some((m) => m.body === 'done'), 10_000, 'done')
  assert.deepEqual(sse.messages.map((m) => m.body).slice(-3), ['plan?', 'public answer', 'done'])
  await rx.until(() => rx.delivered.some((b) => b.params.message.parts[0].text === 'done'), 10_000)
  assert.ok(!rx.delivered.some((b) => b.params.message.parts[0].text.startsWith('between us')))
  await mcp.nextNote((n) => n.data.body === 'done')
  assert.ok(!mcp.notes.some((n) => n.data.body.startsWith('between us')))
  const th2 = await mcp.call('messageThread', { threadId: root })
  assert.deepEqual(th2.json.messages.map((m: any) => m.body), ['plan?', 'public answer'])
})

test('bad replyTo (another room, a DM of others, unknown, not an id): one error that tells nothing, and nothing stored', async (t) => {
  const srv = await startApp(t)
  const { roomId, alice, bob, carol } = await aliceBobCarol(srv)
  const elsewhere = await createRoom(srv)
  const foreign = (await send(srv, elsewhere.token, 'other room')).data.id
  const dm = (await send(srv, alice, 'for bob only', { to: 'bob' })).data.id
  const before = (await history(srv, carol, roomId)).data.total
  for (const replyTo of [foreign, dm, crypto.randomUUID(), 'not-an-id']) {
    const r = await send(srv, carol, 'reply', { replyTo })
    assert.equal(r.text, `Error: replyTo: no message ${replyTo} that you can see in this room`)
    assert.match((await thread(srv, carol, replyTo)).text, /^Error: threadId: no thread .* that you can see in this room$/)
  }
  assert.match((await send(srv, carol, 'reply', { replyTo: 'x'.repeat(101) })).text, /^Error: replyTo must be a string of 0 to 100 characters/)
  assert.equal((await history(srv, carol, roomId)).data.total, before)
  assert.deepEqual(bodies(await a2a(srv, 'message.unread', { agentToken: bob })).filter((b: string) => b === 'reply'), [])
  // the DM's own two agents may reply to it, publicly or privately
  assert.equal((await send(srv, bob, 'got it', { replyTo: dm, to: 'alice' })).text, 'Message sent')
  assert.equal((await send(srv, bob, 'thanks alice', { replyTo: dm })).text, 'Message sent')
  assert.deepEqual(bodies(await thread(srv, alice, dm)), ['for bob only', 'got it', 'thanks alice'])
})

test('MCP: reply and read a thread with the SDK client; notifications carry id, replyTo, threadId and mentions', async (t) => {
  const srv = await startApp(t)
  const { a, b } = await aliceAndBob(t, srv.url)
  const root = (await a.call('sendMessage', { text: 'who reviews?' })).json.id
  const note = await b.nextNote((n) => n.data.body === 'who reviews?')
  assert.deepEqual({ id: note.data.id, replyTo: note.data.replyTo, threadId: note.data.threadId, mentions: note.data.mentions }, {
    id: root,
    replyTo: null,
    threadId: root,
    mentions: [],
  })
  const reply = await b.call('sendMessage', { text: 'me, @alice', replyTo: note.data.id })
  assert.notEqual(reply.isError, true)
  const back = await a.nextNote((n) => n.data.body === 'me, @alice')
  assert.deepEqual(pick(back.data), { body: 'me, @alice', replyTo: root, threadId: root, mentions: ['alice'] })
  assert.equal(back.data.id, reply.json.id)

  const th = await a.call('messageThread', { threadId: root })
  assert.deepEqual(th.structuredContent.messages.map(pick), [
    { body: 'who reviews?', replyTo: null, threadId: root, mentions: [] },
    { body: 'me, @alice', replyTo: root, threadId: root, mentions: ['alice'] },
  ])
  assert.equal(th.structuredContent.total, 2)
  const bad = await b.call('sendMessage', { text: 'x', replyTo: crypto.randomUUID() })
  assert.equal(bad.isError, true)
  assert.match(text(bad), /^Error: replyTo: no message [0-9a-f-]{36} that you can see in this room$/)
  const { tools } = await a.client.listTools()
  const tool = tools.find((x) => x.name === 'messageThread')!
  assert.deepEqual(tool.inputSchema.required, ['threadId'])
  assert.equal(tool.annotations?.readOnlyHint, true)
  assert.ok('replyTo' in (tools.find((x) => x.name === 'sendMessage')!.inputSchema.properties ?? {}))
})

test('mentions: @name of an agent in the room, parsed from broadcasts only, deduplicated, in order', async (t) => {
  const srv = await startApp(t)
  const { roomId, alice, bob } = await aliceBobCarol(srv)
  await joinRoom(srv, roomId, 'Claude Code')
  const m = async (text: string, more: Record<string, unknown> = {}) => {
    const { id } = (await send(srv, alice, text, more)).data
    return (await history(srv, bob, roomId)).data.messages.find((x: any) => x.id === id)?.mentions
  }
  assert.deepEqual(await m('@carol, @bob: look (@carol again)'), ['carol', 'bob'])
  assert.deepEqual(await m('ask @Claude Code or @nobody; mail bob@example.org'), ['Claude Code'])
  assert.deepEqual(await m('@Bob is not bob, @room-bot is no agent'), [])
  // names with quotes, commas, braces and backslashes come back as they are
  const odd = 'q"u,o\\te} {x}'
  await joinRoom(srv, roomId, odd)
  assert.deepEqual(await m(`@${odd} and @Claude Code`), [odd, 'Claude Code'])
  // a DM parses nothing, whoever it names
  const dm = (await send(srv, alice, '@carol psst', { to: 'bob' })).data.id
  assert.deepEqual((await history(srv, bob, roomId)).data.messages.find((x: any) => x.id === dm).mentions, [])
  // an agent that left is mentioned no more
  await a2a(srv, 'room.kick', { agentToken: alice, targetAgent: 'carol' })
  assert.deepEqual(await m('@carol?'), [])
  // the parser on its own: candidates, bounded
  assert.deepEqual(mentionCandidates('hi @a.b! x@y @ z'), ['a.b!', 'a.b', 'a.b! x@y', 'a.b! x@y @', 'a.b! x@y @ z'])
  assert.ok(mentionCandidates('@x '.repeat(10_000) + Array.from({ length: 500 }, (_, i) => `@n${i}`).join(' ')).length <= 100)
})

test('mentionsOnly: unread returns DMs to you and mentions of you, and passes over the rest', async (t) => {
  const srv = await startApp(t)
  const { alice, bob, carol } = await aliceBobCarol(srv)
  await a2a(srv, 'message.unread', { agentToken: bob })
  await send(srv, alice, 'plain')
  await send(srv, alice, 'hey @bob')
  await send(srv, carol, 'for you', { to: 'bob' })
  await send(srv, alice, 'hey @carol')
  await send(srv, carol, 'for alice', { to: 'alice' })
  const peek = await a2a(srv, 'message.unread', { agentToken: bob, mentionsOnly: true, peek: true })
  assert.deepEqual(bodies(peek), ['hey @bob', 'for you'])
  // peek moved nothing
  assert.equal((await a2a(srv, 'message.unread', { agentToken: bob, peek: true })).data.total, 4)
  const only = await a2a(srv, 'message.unread', { agentToken: bob, mentionsOnly: true })
  assert.deepEqual(bodies(only), ['hey @bob', 'for you'])
  assert.equal(only.text, '2 unread message(s)')
  // everything considered was passed over: nothing is left unread
  assert.deepEqual(bodies(await a2a(srv, 'message.unread', { agentToken: bob })), [])
  await send(srv, alice, 'later')
  assert.deepEqual(bodies(await a2a(srv, 'message.unread', { agentToken: bob, mentionsOnly: true })), [])
  assert.deepEqual(bodies(await a2a(srv, 'message.unread', { agentToken: bob })), [])
  // more messages than an unread page (500): one read passes over all of them
  for (let i = 0; i < 3; i++) {
    await Promise.all(Array.from({ length: 200 }, (_, j) => send(srv, alice, j === 199 && i === 2 ? 'finally @bob' : `noise ${i}.${j}`)))
  }
  assert.deepEqual(bodies(await a2a(srv, 'message.unread', { agentToken: bob, mentionsOnly: true })), ['finally @bob'])
  assert.equal((await a2a(srv, 'message.unread', { agentToken: bob })).data.total, 0)
})

test('mentionsOnly: message.wait returns on a mention or DM, not on other messages', async (t) => {
  const srv = await startApp(t)
  const { alice, bob } = await aliceBobCarol(srv)
  await a2a(srv, 'message.unread', { agentToken: bob })
  await send(srv, alice, 'already here')
  // nothing that concerns bob: the wait times out empty, and what it considered is passed over
  const none = await a2a(srv, 'message.wait', { agentToken: bob, mentionsOnly: true, timeout: 0 })
  assert.deepEqual(bodies(none), [])
  assert.equal((await a2a(srv, 'message.unread', { agentToken: bob, peek: true })).data.total, 0)
  // a waiting bob hears the mention and not the message before it (returning on that one would have shown it)
  const waiting = a2a(srv, 'message.wait', { agentToken: bob, mentionsOnly: true, timeout: 30 })
  await send(srv, alice, 'not for bob')
  await send(srv, alice, '@bob now')
  assert.deepEqual(bodies(await waiting), ['@bob now'])
  const dm = a2a(srv, 'message.wait', { agentToken: bob, mentionsOnly: true, timeout: 30 })
  await send(srv, alice, 'noise again')
  await send(srv, alice, 'a word', { to: 'bob' })
  assert.deepEqual(bodies(await dm), ['a word'])
  assert.equal((await a2a(srv, 'message.unread', { agentToken: bob, peek: true })).data.total, 0)
})

test('mentionsOnly: a wait task completes on a mention only, and passes over the rest', async (t) => {
  const srv = await startApp(t)
  const rooms = srv.app.rooms
  const { alice, bob } = await aliceBobCarol(srv)
  await a2a(srv, 'message.unread', { agentToken: bob })
  const task = await rooms.startWaitTask({ agentToken: bob, timeout: 600, mentionsOnly: true })
  assert.equal(task.status, 'working')
  const ended = new Promise<WaitTask>((resolve) => rooms.followWaitTask(task.id, resolve))
  await send(srv, alice, 'not yet')
  await send(srv, alice, 'still nothing')
  await send(srv, alice, 'ping @bob')
  await send(srv, alice, 'after it')
  const done = await ended
  assert.equal(done.status, 'completed')
  assert.deepEqual(done.result!.data.messages.map((m) => m.body), ['ping @bob'])
  assert.deepEqual(done.result!.data.messages.map((m) => m.mentions), [['bob']])
  // the messages it considered are passed over (those after it may still be unread)
  assert.ok(!bodies(await a2a(srv, 'message.unread', { agentToken: bob })).some((b: string) => ['not yet', 'still nothing', 'ping @bob'].includes(b)))
  // without mentionsOnly, a task completes on anything (unchanged)
  const plain = await rooms.startWaitTask({ agentToken: bob, timeout: 600 })
  const plainEnded = new Promise<WaitTask>((resolve) => rooms.followWaitTask(plain.id, resolve))
  await send(srv, alice, 'anything')
  assert.deepEqual((await plainEnded).result!.data.messages.map((m) => m.body), ['anything'])
})

test('A2A push and SSE carry replyTo, threadId and mentions', async (t) => {
  const rx = await Receiver.start(t)
  const srv = await startApp(t, { pushRetryBaseMs: 20, pushRetryMaxMs: 200 })
  const { roomId, token: alice } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob', { agentEndpoint: rx.url })
  const sse = await SseClient.open(`${srv.url}/api/messages/${roomId}/sse?agentToken=${encodeURIComponent(bob)}`)
  t.after(() => sse.close())
  const root = (await send(srv, alice, 'root')).data.id
  const reply = (await send(srv, alice, 'and @bob', { replyTo: root })).data.id
  await rx.until(() => rx.delivered.some((b) => b.params.message.messageId === reply), 10_000)
  const meta = (id: string) => rx.delivered.find((b) => b.params.message.messageId === id).params.message.metadata
  assert.deepEqual({ replyTo: meta(root).replyTo, threadId: meta(root).threadId, mentions: meta(root).mentions }, { replyTo: null, threadId: root, mentions: [] })
  assert.deepEqual({ replyTo: meta(reply).replyTo, threadId: meta(reply).threadId, mentions: meta(reply).mentions }, { replyTo: root, threadId: root, mentions: ['bob'] })
  await sse.until(() => sse.messages.some((m) => m.id === reply), 10_000, 'the reply')
  assert.deepEqual(sse.messages.filter((m) => m.id === root || m.id === reply).map(pick), [
    { body: 'root', replyTo: null, threadId: root, mentions: [] },
    { body: 'and @bob', replyTo: root, threadId: root, mentions: ['bob'] },
  ])
})
