// Delivery receipts: ackRequired, message.ack, message.status, awaitingAck, and each surface's delivery cursor.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { a2a, aliceBobCarol, createRoom, joinRoom, startApp, type TestServer } from '../helpers.ts'
import { connect } from '../mcp/helpers.ts'
import { Receiver } from '../realtime/receiver.ts'
import { SseClient } from '../realtime/sse-client.ts'

const send = (srv: TestServer, agentToken: string, text: string, more: Record<string, unknown> = {}) =>
  a2a(srv, 'message.send', { agentToken, ...more }, { text })
const ack = (srv: TestServer, agentToken: string, messageIds: unknown) => a2a(srv, 'message.ack', { agentToken, messageIds })
const status = (srv: TestServer, agentToken: string, messageId: string) => a2a(srv, 'message.status', { agentToken, messageId })
/** Each recipient's state (and surface, when known), by name. */
const states = async (srv: TestServer, agentToken: string, messageId: string) =>
  Object.fromEntries((await status(srv, agentToken, messageId)).data.recipients.map((r: any) => [r.agent, r.via ? `${r.state} ${r.via}` : r.state]))
const sse = (srv: TestServer, roomId: string, token: string) =>
  SseClient.open(`${srv.url}/api/messages/${roomId}/sse?agentToken=${encodeURIComponent(token)}`, { 'last-event-id': '0' })

test('A2A: a broadcast with ackRequired moves per recipient from sent to delivered, read and acknowledged; the ack reaches the sender', async (t) => {
  const srv = await startApp(t)
  const { roomId, alice, bob, carol } = await aliceBobCarol(srv)
  const aliceFeed = await sse(srv, roomId, alice)
  t.after(() => aliceFeed.close())
  const sent = await send(srv, alice, 'please confirm the plan', { ackRequired: true })
  const id = sent.data.id
  // an agent joining later is not a recipient
  const dave = await joinRoom(srv, roomId, 'dave')

  const first = await status(srv, alice, id)
  assert.equal(first.text, '2 recipient(s): 2 sent, 0 delivered, 0 read, 0 acknowledged')
  assert.equal(first.data.ackRequired, true)
  assert.deepEqual(first.data.recipients.map((r: any) => [r.agent, r.state]), [['bob', 'sent'], ['carol', 'sent']])
  assert.equal(first.data.recipients[0].at, new Date(first.data.recipients[0].at).toISOString())

  // carol's SSE stream delivers it (not read: her cursor has not moved)
  const carolFeed = await sse(srv, roomId, carol)
  t.after(() => carolFeed.close())
  await carolFeed.until(() => carolFeed.messages.some((m) => m.id === id), 10_000, 'the message on SSE')
  assert.equal(carolFeed.messages.find((m) => m.id === id).ackRequired, true)
  assert.deepEqual(await states(srv, alice, id), { bob: 'sent', carol: 'delivered sse' })

  // bob reads it: unread marks it as awaiting his ack
  const unread = await a2a(srv, 'message.unread', { agentToken: bob })
  const mine = unread.data.messages.find((m: any) => m.id === id)
  assert.equal(mine.ackRequired, true)
  assert.deepEqual(unread.data.awaitingAck, [id])
  assert.deepEqual(await states(srv, alice, id), { bob: 'read unread', carol: 'delivered sse' })

  const acked = await ack(srv, bob, [id])
  assert.equal(acked.text, 'Acknowledged 1 message(s)')
  assert.deepEqual(acked.data, { acknowledged: [id], alreadyAcknowledged: [] })
  const after = await status(srv, alice, id)
  assert.deepEqual(after.data.counts, { sent: 0, delivered: 1, read: 0, acknowledged: 1 })
  assert.deepEqual(after.data.recipients.map((r: any) => [r.agent, r.state]), [['bob', 'acknowledged'], ['carol', 'delivered']])

  // the sender hears of it as a room-bot DM, on its unread and on its live feed; nobody else does
  const notice = `bob acknowledged your message: ${id}`
  const aliceUnread = await a2a(srv, 'message.unread', { agentToken: alice })
  assert.deepEqual(aliceUnread.data.messages.map((m: any) => [m.from, m.to, m.body]), [
    ['room-bot', undefined, 'dave joined the room'],
    ['room-bot', 'alice', notice],
  ])
  await aliceFeed.until(() => aliceFeed.messages.some((m) => m.body === notice), 10_000, 'the ack on SSE')
  for (const token of [carol, dave]) {
    const h = await a2a(srv, 'message.history', { agentToken: token, limit: 100 }, { contextId: roomId })
    assert.ok(!h.data.messages.some((m: any) => m.body.includes('acknowledged')))
  }

  // acknowledging again changes nothing and tells nobody again
  const again = await ack(srv, bob, [id.toUpperCase()])
  assert.deepEqual(again.data, { acknowledged: [], alreadyAcknowledged: [id] })
  assert.equal(again.text, 'Acknowledged 0 message(s); 1 already acknowledged')
  assert.equal((await a2a(srv, 'message.unread', { agentToken: alice })).data.total, 0)

  // a later read no longer asks bob for it; carol's still does
  const peek = await a2a(srv, 'message.unread', { agentToken: carol, peek: true })
  assert.deepEqual(peek.data.awaitingAck, [id])
  await send(srv, alice, 'no ack needed')
  const plain = await a2a(srv, 'message.unread', { agentToken: bob })
  assert.equal(plain.data.awaitingAck, undefined)
  assert.equal(plain.data.messages.at(-1).ackRequired, undefined)
})

test('A2A: a DM with ackRequired has one recipient; wait marks it awaiting and counts as its surface; others cannot see or ack it', async (t) => {
  const srv = await startApp(t)
  const { roomId, alice, bob, carol } = await aliceBobCarol(srv)
  await a2a(srv, 'message.unread', { agentToken: bob })
  const waiting = a2a(srv, 'message.wait', { agentToken: bob, timeout: 20 })
  const id = (await send(srv, alice, 'sign off on the release?', { to: 'bob', ackRequired: true })).data.id
  const woke = await waiting
  assert.deepEqual(woke.data.awaitingAck, [id])
  const st = await status(srv, alice, id)
  assert.equal(st.data.to, 'bob')
  assert.deepEqual(st.data.recipients.map((r: any) => [r.agent, r.state, r.via]), [['bob', 'read', 'wait']])

  // carol: not hers to see, to ack, or to ask about
  assert.match((await ack(srv, carol, [id])).text, new RegExp(`^Error: messageIds: no message ${id} that you can see in this room`))
  assert.match((await status(srv, carol, id)).text, new RegExp(`^Error: messageId: no message ${id} of yours in this room`))
  // bob (the recipient) cannot read its receipts either
  assert.match((await status(srv, bob, id)).text, /^Error: messageId: no message .* of yours in this room/)

  assert.deepEqual((await ack(srv, bob, [id])).data.acknowledged, [id])
  assert.deepEqual(await states(srv, alice, id), { bob: 'acknowledged wait' })
  const carolSees = await a2a(srv, 'message.history', { agentToken: carol, limit: 100 }, { contextId: roomId })
  assert.ok(!carolSees.data.messages.some((m: any) => m.body.includes('acknowledged') || m.id === id))
})

test('bad acks and status requests: a clear error each, and nothing stored', async (t) => {
  const srv = await startApp(t)
  const { roomId, alice, bob } = await aliceBobCarol(srv)
  const early = (await send(srv, alice, 'before erin', { ackRequired: true })).data.id
  const asked = (await send(srv, alice, 'ack me', { ackRequired: true })).data.id
  const plain = (await send(srv, alice, 'just saying')).data.id
  const own = (await send(srv, bob, 'mine', { ackRequired: true })).data.id
  const elsewhere = await createRoom(srv)
  const foreign = (await send(srv, elsewhere.token, 'other room', { ackRequired: true })).data.id
  const erin = await joinRoom(srv, roomId, 'erin')

  const cases: [unknown, RegExp][] = [
    [[plain], new RegExp(`^Error: messageIds: message ${plain} was not sent with ackRequired`)],
    [[own], new RegExp(`^Error: messageIds: message ${own} is not addressed to you`)],
    [[foreign], new RegExp(`^Error: messageIds: no message ${foreign} that you can see in this room`)],
    [['00000000-0000-4000-8000-000000000000'], /^Error: messageIds: no message 00000000-0000-4000-8000-000000000000 that you can see/],
    [['not-an-id'], /^Error: messageIds must be message ids \(UUIDs\): "not-an-id" is not/],
    [[], /^Error: messageIds must be a list of 1 to 100 strings/],
    [Array.from({ length: 101 }, () => asked), /^Error: messageIds must be a list of 1 to 100 strings/],
    // one bad id spoils the lot: the good one before it is not acknowledged
    [[asked, plain], /^Error: messageIds: message .* was not sent with ackRequired/],
  ]
  for (const [ids, want] of cases) assert.match((await ack(srv, bob, ids)).text, want, JSON.stringify(ids).slice(0, 80))
  assert.match((await a2a(srv, 'message.ack', { agentToken: bob })).text, /^Error: messageIds is required/)
  // erin joined after `early` was sent: it was never addressed to her
  assert.match((await ack(srv, erin, [early])).text, new RegExp(`^Error: messageIds: message ${early} is not addressed to you`))
  assert.equal((await status(srv, alice, asked)).data.counts.acknowledged, 0)
  assert.equal((await a2a(srv, 'message.unread', { agentToken: alice })).data.messages.filter((m: any) => m.from === 'room-bot' && m.to).length, 0)

  assert.match((await status(srv, alice, 'nope')).text, /^Error: messageId: no message nope of yours in this room/)
  assert.match((await status(srv, alice, foreign)).text, /^Error: messageId: no message .* of yours in this room/)
  assert.match((await a2a(srv, 'message.status', { agentToken: alice })).text, /^Error: messageId is required/)
  assert.match((await send(srv, alice, 'x', { ackRequired: 'maybe' })).text, /^Error: ackRequired must be true or false/)
})

test('A2A push (2xx) and MCP notifications are delivery surfaces; MCP agents ack with ackMessages and ask messageStatus', async (t) => {
  const rx = await Receiver.start(t)
  const srv = await startApp(t, { pushRetryBaseMs: 20, pushRetryMaxMs: 200 })
  const { roomId, name, alice } = await aliceBobCarol(srv)
  await joinRoom(srv, roomId, 'dave', { agentEndpoint: rx.url })
  const erin = await connect(t, srv.url)
  await erin.call('joinRoom', { roomId: name, agentName: 'erin' })
  const sender = await connect(t, srv.url)
  await sender.call('joinRoom', { roomId: name, agentName: 'frank' })

  const sent = await sender.call('sendMessage', { text: 'all hands: ack please', ackRequired: true })
  const id = sent.json.id
  await rx.until(() => rx.delivered.some((b) => b.params.message.parts[0].text === 'all hands: ack please'), 10_000)
  const pushed = rx.delivered.find((b) => b.params.message.parts[0].text === 'all hands: ack please')
  assert.equal(pushed.params.message.metadata.ackRequired, true)
  await erin.nextNote((n) => n.data.id === id)
  assert.equal(erin.notes.find((n) => n.data.id === id)!.data.ackRequired, true)

  const st = await sender.call('messageStatus', { messageId: id })
  const by = Object.fromEntries(st.json.recipients.map((r: any) => [r.agent, [r.state, r.via]]))
  assert.deepEqual(by.dave, ['read', 'push'])
  assert.deepEqual(by.erin, ['delivered', 'mcp'])
  assert.deepEqual([by.alice, by.bob, by.carol], [['sent', undefined], ['sent', undefined], ['sent', undefined]])

  // erin's next result carries it too, asking for the ack in its line of the "New messages:" block
  const piggy = await erin.call('roomInfo')
  assert.match(JSON.stringify(piggy.content), new RegExp(`frank \\(asks for ackMessages, id ${id}\\): all hands: ack please`))
  const acked = await erin.call('ackMessages', { messageIds: [id] })
  assert.deepEqual(acked.json.acknowledged, [id])
  const later = await sender.call('messageStatus', { messageId: id })
  assert.equal(later.json.recipients.find((r: any) => r.agent === 'erin').state, 'acknowledged')
  assert.equal(later.json.counts.acknowledged, 1)
  // the ack rides frank's next result as a room-bot DM
  await sender.nextNote((n) => n.data.from === 'room-bot' && n.data.body === `erin acknowledged your message: ${id}`)
  // one alice, who reads with unread over A2A, is read via unread
  await a2a(srv, 'message.unread', { agentToken: alice })
  const final = await sender.call('messageStatus', { messageId: id })
  assert.deepEqual(final.json.recipients.find((r: any) => r.agent === 'alice'), {
    agent: 'alice',
    state: 'read',
    at: final.json.recipients.find((r: any) => r.agent === 'alice').at,
    via: 'unread',
  })
})

test('a broadcast to 60 agents with ackRequired stores one row per acknowledgement, none per recipient', async (t) => {
  const srv = await startApp(t)
  const { roomId, token: alice } = await createRoom(srv)
  const tokens: string[] = []
  for (let i = 0; i < 60; i++) tokens.push(await joinRoom(srv, roomId, `agent-${i}`))
  const id = (await send(srv, alice, 'everyone, ack', { ackRequired: true })).data.id
  const rows = async () => Number((await srv.app.db.query<{ n: string }>('SELECT count(*) AS n FROM message_acks WHERE room_id = $1', [roomId]))[0].n)
  assert.equal(await rows(), 0)
  for (const token of tokens.slice(0, 3)) await ack(srv, token, [id])
  assert.equal(await rows(), 3)
  const st = await status(srv, alice, id)
  assert.equal(st.data.recipients.length, 60)
  assert.deepEqual(st.data.counts, { sent: 57, delivered: 0, read: 0, acknowledged: 3 })
})
