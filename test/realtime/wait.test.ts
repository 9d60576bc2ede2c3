import assert from 'node:assert/strict'
import { test } from 'node:test'
import { a2a, createRoom, joinRoom, startApp } from '../helpers.ts'

test('message.wait over HTTP returns as soon as a message arrives, moving the cursor', async (t) => {
  const srv = await startApp(t)
  const { roomId, token: alice } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob')
  const bus = srv.app.events
  const original = bus.subscribe.bind(bus)
  let blocked!: () => void
  const isBlocked = new Promise<void>((r) => (blocked = r))
  bus.subscribe = (l) => {
    blocked()
    return original(l)
  }
  t.after(() => (bus.subscribe = original))
  const t0 = Date.now()
  const waiting = a2a(srv, 'wait', { agentToken: bob, timeout: 20 })
  await isBlocked
  await a2a(srv, 'message.send', { agentToken: alice }, { text: 'ping', contextId: roomId })
  const r = await waiting
  assert.deepEqual(r.data.messages.map((m: any) => m.body), ['ping'])
  assert.ok(Date.now() - t0 < 10_000)
  const again = await a2a(srv, 'message.unread', { agentToken: bob })
  assert.deepEqual(again.data.messages, [])
})

test('message.wait returns an empty list at the timeout', async (t) => {
  const srv = await startApp(t)
  const { token } = await createRoom(srv)
  const t0 = Date.now()
  const r = await a2a(srv, 'message.wait', { agentToken: token, timeout: 0.3 })
  assert.deepEqual(r.data.messages, [])
  assert.ok(Date.now() - t0 >= 250, 'waited for the timeout')
})
