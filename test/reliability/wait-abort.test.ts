// Issue 13 point 9: a message.wait whose client has gone never marks messages read for nobody.
import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { hashToken } from '../../lib/ids.ts'
import { Messaging } from '../../lib/rooms/messaging.ts'
import { a2a, createRoom, joinRoom, startApp, uniq, type TestServer } from '../helpers.ts'
import { connect } from '../mcp/helpers.ts'

/**
 * Watches the server's next message.wait: `blocked` once its first read came back (empty: it now listens for
 * events), `settled` once the server is done with it, whatever its client saw.
 */
function watchWait(t: TestContext, srv: TestServer) {
  const rooms = srv.app.rooms!
  const { wait } = rooms
  // The wait reads through the service's messaging part: its next read after the wait starts is the first one.
  const { drainUnread } = Messaging.prototype
  let blocked!: () => void
  const isBlocked = new Promise<void>((r) => (blocked = r))
  let settled!: (p: Promise<void>) => void
  const isSettled = new Promise<Promise<void>>((r) => (settled = r))
  rooms.wait = function (this: typeof rooms, ...args: Parameters<typeof wait>) {
    rooms.wait = wait
    Messaging.prototype.drainUnread = function (this: Messaging, ...d: Parameters<typeof drainUnread>) {
      Messaging.prototype.drainUnread = drainUnread
      const read = drainUnread.apply(this, d)
      read.then((got) => {
        assert.deepEqual(got, [], 'the first read finds nothing')
        setImmediate(blocked)
      }, () => {})
      return read
    }
    const p = wait.apply(this, args)
    settled(p.then(() => {}, () => {}))
    return p
  } as typeof wait
  t.after(() => {
    rooms.wait = wait
    Messaging.prototype.drainUnread = drainUnread
  })
  return { blocked: isBlocked, settled: isSettled.then((p) => p) }
}

/** Posts a message straight into the store, as one whose event has not reached this instance yet. */
async function postUnannounced(srv: TestServer, roomId: string, from: { id: string; name: string }, body: string) {
  await srv.app.store.postMessage({ id: crypto.randomUUID(), roomId, from: from.name, fromId: from.id, to: null, toId: null, body, timestamp: new Date() })
}

async function agentOf(srv: TestServer, token: string) {
  const found = await srv.app.store.agentByToken(hashToken(token).toString('hex'))
  assert.ok(found, 'agent exists')
  return found.agent
}

test('A2A: a wait aborted by its client leaves every later message unread', async (t) => {
  const srv = await startApp(t)
  const { roomId, token: alice } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob')
  const aliceAgent = await agentOf(srv, alice)
  await a2a(srv, 'message.unread', { agentToken: bob }) // bob starts with nothing unread

  const watch = watchWait(t, srv)
  const abort = new AbortController()
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'SendMessage',
    params: { message: { role: 'user', messageId: crypto.randomUUID(), parts: [{ text: '' }], metadata: { action: 'message.wait', agentToken: bob, timeout: 30 } } },
  })
  const request = fetch(`${srv.url}/a2a`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: abort.signal })
  await watch.blocked
  // Messages keep arriving: one whose event is still on its way (committed, not yet announced here) ...
  await postUnannounced(srv, roomId, aliceAgent, 'unannounced')
  // ... the client gives up, and more arrive right behind its abort.
  abort.abort()
  await assert.rejects(request)
  const sending = Promise.all(['after 1', 'after 2', 'after 3'].map((text) => a2a(srv, 'message.send', { agentToken: alice }, { text, contextId: roomId })))
  await watch.settled
  await sending

  const peek = await a2a(srv, 'message.unread', { agentToken: bob, peek: true })
  const unread = peek.data.messages.map((m: any) => m.body)
  assert.equal(unread[0], 'unannounced')
  assert.deepEqual(unread.slice(1).sort(), ['after 1', 'after 2', 'after 3'])
})

test('MCP: a waitForMessages cancelled by its client leaves every later message unread', async (t) => {
  const srv = await startApp(t)
  const alice = await connect(t, srv.url)
  const bob = await connect(t, srv.url)
  const name = uniq()
  const { json: room } = await alice.call('createRoom', { agentName: 'alice', name })
  await bob.call('joinRoom', { roomId: name, agentName: 'bob' })
  await bob.call('unreadMessages')
  const aliceAgent = await agentOf(srv, room.agentToken)

  const watch = watchWait(t, srv)
  const abort = new AbortController()
  const waiting = bob.client.callTool({ name: 'waitForMessages', arguments: { timeout: 30 } }, undefined, { signal: abort.signal })
  await watch.blocked
  await postUnannounced(srv, room.roomId, aliceAgent, 'unannounced')
  abort.abort() // the SDK sends notifications/cancelled
  await assert.rejects(waiting)
  const sending = (async () => {
    for (const text of ['after 1', 'after 2']) await alice.call('sendMessage', { text })
  })()
  await watch.settled
  await sending

  const peek = await bob.call('unreadMessages', { peek: true })
  assert.deepEqual(peek.json.messages.map((m: any) => m.body), ['unannounced', 'after 1', 'after 2'])
})

/** A signal whose client leaves after `checks` looks: the moment a read is under way, however fast the store. */
function leavesAfter(checks: number): AbortSignal {
  let looks = 0
  return { get aborted() { return ++looks > checks } } as AbortSignal
}

test('a client that leaves while its unread, send or join read is under way gets its messages back as unread', async (t) => {
  const srv = await startApp(t)
  const rooms = srv.app.rooms!
  const room = await createRoom(srv, { name: uniq('gone') })
  const bob = await joinRoom(srv, room.roomId, 'bob')
  const peek = async () => (await a2a(srv, 'message.unread', { agentToken: bob, peek: true })).data.total as number
  for (const text of ['one', 'two', 'three']) await a2a(srv, 'message.send', { agentToken: room.token, text })
  assert.equal(await peek(), 3)

  // The read happens (the signal was fine before it) and the client is gone when it returns.
  assert.deepEqual((await rooms.unread({ agentToken: bob }, leavesAfter(1))).data.messages, [])
  assert.equal(await peek(), 3, 'unread: nothing marked read for nobody')
  const sent = await rooms.send({ agentToken: bob, text: 'hi' }, leavesAfter(1))
  assert.equal(sent.data.missedMessages, undefined)
  assert.equal(await peek(), 3, 'send: its missed messages stay unread')
  const back = await rooms.join({ roomId: room.roomId, agentName: 'bob', agentToken: bob }, leavesAfter(1))
  assert.equal(back.data.missedMessages, undefined)
  assert.equal(await peek(), 3, 'reconnect: its missed messages stay unread')
  assert.equal((await a2a(srv, 'message.unread', { agentToken: bob })).data.total, 3)
})
