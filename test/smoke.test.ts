import assert from 'node:assert/strict'
import { test } from 'node:test'
import { a2a, createRoom, joinRoom, startApp } from './helpers.ts'

test('create, join, send, unread over a listening server', async (t) => {
  const srv = await startApp(t)
  const { roomId, token } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob')
  const sent = await a2a(srv, 'message.send', { agentToken: token }, { text: 'hi', contextId: roomId })
  assert.equal(sent.text, 'Message sent')
  const unread = await a2a(srv, 'message.unread', { agentToken: bob })
  assert.deepEqual(unread.data.messages.map((m: any) => m.body), ['hi'])
})
