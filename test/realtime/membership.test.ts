import assert from 'node:assert/strict'
import { test } from 'node:test'
import { a2a, createRoom, joinRoom, startApp } from '../helpers.ts'
import { SseClient } from './sse-client.ts'

test('a kicked or departed agent loses its SSE stream; others keep theirs', async (t) => {
  const srv = await startApp(t, { ssePingSeconds: 0.2 })
  const { roomId, token: admin } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob')
  const carol = await joinRoom(srv, roomId, 'carol')
  const url = (token: string) => `${srv.url}/api/messages/${roomId}/sse?agentToken=${token}`
  const [adminStream, bobStream, carolStream] = await Promise.all([admin, bob, carol].map((tk) => SseClient.open(url(tk))))
  t.after(() => [adminStream, bobStream, carolStream].forEach((s) => s.close()))

  await a2a(srv, 'room.kick', { agentToken: admin, targetAgent: 'bob' })
  await bobStream.untilClosed(5000)
  await a2a(srv, 'room.leave', { agentToken: carol })
  await carolStream.untilClosed(5000)

  await a2a(srv, 'message.send', { agentToken: admin }, { text: 'still open' })
  await adminStream.until(() => adminStream.messages.some((m) => m.body === 'still open'), 5000, 'the admin stream to go on')
  assert.ok(!bobStream.messages.some((m) => m.body === 'still open'))
})
