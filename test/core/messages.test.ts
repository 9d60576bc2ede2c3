import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { a2a, createRoom, joinRoom, startApp, type TestServer } from '../helpers.ts'

let srv: TestServer
before(async () => {
  srv = await startApp(null, {}, { listen: false })
})
after(() => srv.app.close())

const send = (token: string, text: string, to?: string) => a2a(srv, 'message.send', { agentToken: token, ...(to ? { to } : {}) }, { text })
const bodies = (r: { data: any }) => r.data.messages.map((m: any) => m.body)

describe('message.send', () => {
  test('returns id and seq; seqs increase by one', async () => {
    const { token } = await createRoom(srv)
    const a = await send(token, 'one')
    const b = await send(token, 'two')
    assert.equal(a.text, 'Message sent')
    assert.match(a.data.id, /^[0-9a-f-]{36}$/)
    assert.equal(b.data.seq, a.data.seq + 1)
  })

  test('validates text and recipient', async () => {
    const { token } = await createRoom(srv)
    const empty = await a2a(srv, 'message.send', { agentToken: token })
    assert.match(empty.text, /^Error: text is required/)
    const long = await send(token, 'x'.repeat(32_001))
    assert.match(long.text, /^Error: text must be at most 32000 characters/)
    assert.equal((await send(token, 'x'.repeat(32_000))).text, 'Message sent')
    assert.match((await send(token, 'hi', 'ghost')).text, /^Error: Agent "ghost" not found in room/)
    assert.match((await a2a(srv, 'message.send', {}, { text: 'x' })).text, /^Error: agentToken is required/)
    assert.match((await a2a(srv, 'message.send', { agentToken: crypto.randomUUID() }, { text: 'x' })).text, /^Error: Invalid agentToken/)
  })

  test('returns what the sender missed, once', async () => {
    const { roomId, token: alice } = await createRoom(srv)
    const bob = await joinRoom(srv, roomId, 'bob')
    await send(alice, 'a1')
    await send(alice, 'a2')
    const r = await send(bob, 'b1')
    assert.deepEqual(r.data.missedMessages.map((m: any) => m.body), ['a1', 'a2'])
    assert.equal(r.data.missedCount, 2)
    const again = await send(bob, 'b2')
    assert.equal(again.data.missedMessages, undefined)
  })
})

describe('missed messages under interleaving', () => {
  test('two agents sending concurrently each receive every message of the other exactly once', async () => {
    const { roomId, token: alice } = await createRoom(srv)
    const bob = await joinRoom(srv, roomId, 'bob')
    const received: Record<string, string[]> = { alice: [], bob: [] }
    const run = async (who: 'alice' | 'bob', token: string) => {
      for (let i = 0; i < 40; i++) {
        const r = await send(token, `${who} ${i}`)
        received[who].push(...(r.data.missedMessages ?? []).map((m: any) => m.body))
      }
    }
    await Promise.all([run('alice', alice), run('bob', bob)])
    received.alice.push(...bodies(await a2a(srv, 'message.unread', { agentToken: alice })))
    received.bob.push(...bodies(await a2a(srv, 'message.unread', { agentToken: bob })))
    const chat = (xs: string[], from: string) => xs.filter((b) => new RegExp(`^${from}\\d+$`).test(b))
    assert.deepEqual(chat(received.alice, 'bob '), Array.from({ length: 40 }, (_, i) => `bob ${i}`))
    assert.deepEqual(chat(received.bob, 'alice '), Array.from({ length: 40 }, (_, i) => `alice ${i}`))
    assert.equal(chat(received.alice, 'alice ').length, 0, 'never one’s own messages')
  })
})

describe('direct messages stay between their two agents', () => {
  test('on history, unread, missed and reconnect', async () => {
    const { roomId, token: alice } = await createRoom(srv)
    const bob = await joinRoom(srv, roomId, 'bob')
    const eve = await joinRoom(srv, roomId, 'eve')
    await send(alice, 'secret for bob', 'bob')
    await send(alice, 'hello all')

    assert.deepEqual(bodies(await a2a(srv, 'message.unread', { agentToken: bob, peek: true })), ['eve joined the room', 'secret for bob', 'hello all'])
    assert.deepEqual(bodies(await a2a(srv, 'message.unread', { agentToken: eve })), ['hello all'])
    const eveHistory = await a2a(srv, 'message.history', { agentToken: eve, limit: 100 }, { contextId: roomId })
    assert.ok(!bodies(eveHistory).includes('secret for bob'))
    assert.equal(eveHistory.data.total, eveHistory.data.messages.length)
    const bobHistory = await a2a(srv, 'message.history', { agentToken: bob, limit: 100 }, { contextId: roomId })
    assert.ok(bodies(bobHistory).includes('secret for bob'))
    assert.equal(bobHistory.data.total, eveHistory.data.total + 1)
    const dm = bobHistory.data.messages.find((m: any) => m.body === 'secret for bob')
    assert.equal(dm.to, 'bob')
    assert.equal(dm.from, 'alice')

    const eveSends = await send(eve, 'eve here')
    assert.equal(eveSends.data.missedMessages, undefined)

    // a later agent reusing a departed agent's name does not inherit its DMs
    await a2a(srv, 'room.leave', { agentToken: bob })
    const bob2 = await joinRoom(srv, roomId, 'bob')
    const h = await a2a(srv, 'message.history', { agentToken: bob2, limit: 100 }, { contextId: roomId })
    assert.ok(!bodies(h).includes('secret for bob'))
  })
})

describe('message.unread', () => {
  test('returns everything past the cursor, not a window, then nothing', async () => {
    const { roomId, token: alice } = await createRoom(srv)
    const bob = await joinRoom(srv, roomId, 'bob')
    for (let i = 0; i < 620; i++) await send(alice, `m${i}`)
    const peek = await a2a(srv, 'message.unread', { agentToken: bob, peek: true })
    assert.equal(peek.data.total, 620)
    const all = await a2a(srv, 'message.unread', { agentToken: bob })
    assert.equal(all.data.total, 620)
    assert.deepEqual(bodies(all), Array.from({ length: 620 }, (_, i) => `m${i}`))
    const seqs = all.data.messages.map((m: any) => m.seq)
    assert.ok(seqs.every((s: number, i: number) => i === 0 || s === seqs[i - 1] + 1))
    const none = await a2a(srv, 'message.unread', { agentToken: bob })
    assert.equal(none.text, 'No unread messages')
    assert.equal(none.data.total, 0)
  })

  test('excludes the agent’s own messages; a new member starts at the latest message', async () => {
    const { roomId, token: alice } = await createRoom(srv)
    await send(alice, 'before bob')
    const bob = await joinRoom(srv, roomId, 'bob')
    assert.deepEqual(bodies(await a2a(srv, 'message.unread', { agentToken: bob })), [])
    await send(bob, 'mine')
    assert.deepEqual(bodies(await a2a(srv, 'message.unread', { agentToken: alice })), ['bob joined the room', 'mine'])
    assert.deepEqual(bodies(await a2a(srv, 'message.unread', { agentToken: bob })), [])
  })
})

describe('message.history', () => {
  test('limit/offset count from the newest, results oldest first', async () => {
    const { roomId, token } = await createRoom(srv)
    for (let i = 1; i <= 30; i++) await send(token, `n${i}`)
    const h = await a2a(srv, 'message.history', { agentToken: token }, { contextId: roomId })
    assert.equal(h.data.messages.length, 20)
    assert.equal(h.data.total, 31) // + the creation notice
    assert.equal(bodies(h).at(-1), 'n30')
    assert.equal(bodies(h)[0], 'n11')
    const page = await a2a(srv, 'message.history', { agentToken: token, limit: 5, offset: 5 }, { contextId: roomId })
    assert.deepEqual(bodies(page), ['n21', 'n22', 'n23', 'n24', 'n25'])
    const byName = await a2a(srv, 'message.history', { agentToken: token, limit: '2' }, { contextId: (await a2a(srv, 'room.info', {}, { contextId: roomId })).data.name })
    assert.deepEqual(bodies(byName), ['n29', 'n30'])
    assert.match((await a2a(srv, 'message.history', { agentToken: token })).text, /^Error: roomId is required/)
    assert.match((await a2a(srv, 'message.history', { agentToken: token, limit: 0 }, { contextId: roomId })).text, /^Error: limit must be/)
    assert.match((await a2a(srv, 'message.history', { agentToken: token, offset: -1 }, { contextId: roomId })).text, /^Error: offset must be/)
  })
})

describe('message.wait', () => {
  test('returns as soon as a message arrives, moving the cursor', async () => {
    const { roomId, token: alice } = await createRoom(srv)
    const bob = await joinRoom(srv, roomId, 'bob')
    const waiting = a2a(srv, 'message.wait', { agentToken: bob, timeout: 20 })
    await new Promise((r) => setImmediate(r))
    const started = Date.now()
    await send(alice, 'wake up')
    const r = await waiting
    assert.deepEqual(bodies(r), ['wake up'])
    assert.ok(Date.now() - started < 5000)
    assert.equal((await a2a(srv, 'message.unread', { agentToken: bob })).data.total, 0)
  })

  test('returns unread messages at once, and an empty list at the timeout', async () => {
    const { roomId, token: alice } = await createRoom(srv)
    const bob = await joinRoom(srv, roomId, 'bob')
    await send(alice, 'already here')
    assert.deepEqual(bodies(await a2a(srv, 'message.wait', { agentToken: bob })), ['already here'])
    const empty = await a2a(srv, 'message.wait', { agentToken: bob, timeout: 0.2 })
    assert.equal(empty.text, 'No unread messages')
    assert.match((await a2a(srv, 'message.wait', { agentToken: bob, timeout: 61 })).text, /^Error: timeout must be a number from 0 to 60/)
  })
})
