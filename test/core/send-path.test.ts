// Issue 19's send path: cached token lookups that never outlive a kick or a demotion, and batched inserts that keep
// every room's order, counters and cursors as one-at-a-time sends would.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { insertMessages } from '../../db/messages.ts'
import type { RoomEvent } from '../../lib/events/bus.ts'
import { hashToken } from '../../lib/ids.ts'
import type { NewMessage } from '../../lib/store.ts'
import { aliceBobCarol, createRoom, DATABASE_URL, joinRoom, startApp, testConfig } from '../helpers.ts'

const refused = (code: string) => (e: unknown) => (e as { code?: string }).code === code

test('a kicked agent is refused at once on the instance that kicked it, although its token was cached', async (t) => {
  const s = await startApp(t, {}, { listen: false })
  const { roomId, alice, bob } = await aliceBobCarol(s)
  await s.app.rooms.send({ agentToken: bob, text: 'hello' })
  await s.app.rooms.history({ agentToken: bob, roomId })
  await s.app.rooms.kick({ agentToken: alice, targetAgent: 'bob' })
  await assert.rejects(s.app.rooms.send({ agentToken: bob, text: 'still here?' }), refused('INVALID_TOKEN'))
  await assert.rejects(s.app.rooms.history({ agentToken: bob, roomId }), refused('INVALID_TOKEN'))
  const { data } = await s.app.rooms.history({ agentToken: alice, roomId })
  assert.ok(!data.messages.some((m: { body: string }) => m.body === 'still here?'), 'nothing from a kicked agent is stored')
})

test('a demoted admin of a channel can no longer post, at once', async (t) => {
  const s = await startApp(t, {}, { listen: false })
  const { token: alice, roomId } = await createRoom(s, { type: 'channel' })
  const bob = await joinRoom(s, roomId, 'bob')
  await s.app.rooms.promote({ agentToken: alice, targetAgent: 'bob' })
  await s.app.rooms.send({ agentToken: bob, text: 'as an admin' })
  await s.app.rooms.demote({ agentToken: alice, targetAgent: 'bob' })
  await assert.rejects(s.app.rooms.send({ agentToken: bob, text: 'as a member' }), refused('CHANNEL_ADMIN_ONLY'))
})

test('one batch over two rooms: gap-free seqs in order, DM counts, cursors of senders with nothing unread, a gone sender left out', async (t) => {
  const s = await startApp(t, {}, { listen: false })
  const one = await aliceBobCarol(s)
  const two = await createRoom(s, { agentName: 'dave' })
  for (const token of [one.alice, one.bob, one.carol, two.token]) await s.app.rooms.unread({ agentToken: token })
  const agent = async (token: string) => (await s.app.store.agentByToken(hashToken(token).toString('hex')))!.agent
  const [alice, bob, dave] = await Promise.all([agent(one.alice), agent(one.bob), agent(two.token)])
  const before = new Map([[one.roomId, await s.app.rooms.lastSeq(one.roomId)], [two.roomId, await s.app.rooms.lastSeq(two.roomId)]])
  const msg = (a: { id: string; name: string; roomId: string }, body: string, to?: { id: string; name: string }): NewMessage => ({
    id: crypto.randomUUID(), roomId: a.roomId, from: a.name, fromId: a.id, to: to?.name ?? null, toId: to?.id ?? null, body, timestamp: new Date(),
  })
  const ghost = { id: crypto.randomUUID(), name: 'ghost', roomId: one.roomId }
  const posted = await insertMessages(s.app.db, [
    msg(alice, 'a1'),
    msg(ghost, 'from nobody'),
    msg(dave, 'd1'),
    msg(bob, 'dm to alice', alice),
    msg(alice, 'a2'),
    msg(dave, 'd2'),
  ])
  const b1 = before.get(one.roomId)!
  const b2 = before.get(two.roomId)!
  assert.deepEqual(
    posted.map((p) => p && { seq: p.seq, caughtUp: p.caughtUp }),
    [
      { seq: b1 + 1, caughtUp: true },
      null,
      { seq: b2 + 1, caughtUp: true },
      { seq: b1 + 2, caughtUp: false }, // alice's a1 came first: bob has it to read
      { seq: b1 + 3, caughtUp: false }, // bob's DM came between
      { seq: b2 + 2, caughtUp: true },
    ],
  )
  // alone (its own statement), the same rules: a gone sender stores nothing, a present one gets the next seq
  assert.deepEqual(await insertMessages(s.app.db, [msg(ghost, 'alone, from nobody')]), [null])
  assert.equal((await insertMessages(s.app.db, [msg(dave, 'd3')]))[0]?.seq, b2 + 3)
  const unread = await s.app.rooms.unread({ agentToken: one.alice })
  assert.deepEqual(unread.data.messages.map((m: { body: string }) => m.body), ['dm to alice']) // a2 was past her cursor: a2 is hers
  const bobUnread = await s.app.rooms.unread({ agentToken: one.bob })
  assert.deepEqual(bobUnread.data.messages.map((m: { body: string }) => m.body), ['a1', 'a2'])
  const carol = await s.app.rooms.history({ agentToken: one.carol, roomId: one.roomId, limit: 100 })
  assert.ok(!carol.data.messages.some((m: { body: string }) => m.body === 'dm to alice'), 'a DM is not in a third agent history')
  const bobHistory = await s.app.rooms.history({ agentToken: one.bob, roomId: one.roomId, limit: 100 })
  assert.equal(bobHistory.data.total, carol.data.total + 1, 'the DM counts in both its agents totals, not in others')
  assert.equal(bobHistory.data.messages.length, bobHistory.data.total)
})

test('a lone surrogate in a message is stored as U+FFFD and fails no other send', async (t) => {
  const s = await startApp(t, {}, { listen: false })
  const { roomId, alice, bob } = await aliceBobCarol(s)
  const sends = await Promise.all([
    s.app.rooms.send({ agentToken: alice, text: 'broken \ud800 pair' }),
    s.app.rooms.send({ agentToken: bob, text: 'fine' }),
  ])
  assert.equal(sends.length, 2)
  const { data } = await s.app.rooms.history({ agentToken: alice, roomId })
  const bodies = data.messages.map((m: { body: string }) => m.body)
  assert.ok(bodies.includes('broken \ufffd pair') && bodies.includes('fine'), JSON.stringify(bodies))
})

const multi = !DATABASE_URL && 'needs PostgreSQL (set DATABASE_URL): two instances share one database'

test('two instances: a kick on A stops the token on B, which had it cached', { skip: multi }, async (t) => {
  const config = await testConfig(t)
  const a = await startApp(t, {}, { config, listen: false })
  const b = await startApp(t, {}, { config: { ...config }, listen: false })
  const { roomId, alice, bob } = await aliceBobCarol(a)
  await b.app.rooms.send({ agentToken: bob, text: 'cached on B now' })
  const heard = new Promise<RoomEvent>((resolve) => b.app.events.subscribe((e) => e.changed && e.roomId === roomId && resolve(e)))
  await a.app.rooms.kick({ agentToken: alice, targetAgent: 'bob' })
  // The insert itself checks the sender: refused even before B hears of the kick.
  await assert.rejects(b.app.rooms.send({ agentToken: bob, text: 'after the kick' }), refused('INVALID_TOKEN'))
  await heard
  await assert.rejects(b.app.rooms.history({ agentToken: bob, roomId }), refused('INVALID_TOKEN'))
})

test('two instances: a demotion on A reaches B, which had the admin cached', { skip: multi }, async (t) => {
  const config = await testConfig(t)
  const a = await startApp(t, {}, { config, listen: false })
  const b = await startApp(t, {}, { config: { ...config }, listen: false })
  const { token: alice, roomId } = await createRoom(a, { type: 'channel' })
  const bob = await joinRoom(a, roomId, 'bob')
  await a.app.rooms.promote({ agentToken: alice, targetAgent: 'bob' })
  await b.app.rooms.send({ agentToken: bob, text: 'as an admin, through B' })
  const heard = new Promise<RoomEvent>((resolve) => b.app.events.subscribe((e) => e.changed && e.roomId === roomId && resolve(e)))
  await a.app.rooms.demote({ agentToken: alice, targetAgent: 'bob' })
  await heard
  await assert.rejects(b.app.rooms.send({ agentToken: bob, text: 'as a member' }), refused('CHANNEL_ADMIN_ONLY'))
})
