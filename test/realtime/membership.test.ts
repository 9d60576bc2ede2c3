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

test('MAX_SSE_STREAMS_PER_AGENT: one stream too many gets 429; closing one frees a place', async (t) => {
  const srv = await startApp(t, { maxSseStreamsPerAgent: 2 })
  const { roomId, token } = await createRoom(srv)
  const url = `${srv.url}/api/messages/${roomId}/sse?agentToken=${token}`
  const a = await SseClient.open(url)
  const b = await SseClient.open(url)
  t.after(() => [a, b].forEach((s) => s.close()))
  const third = await fetch(url)
  assert.equal(third.status, 429)
  assert.match((await third.json()).message, /at most 2/)
  a.close()
  await a.untilClosed(5000)
  let again = await SseClient.open(url)
  // the server notices the close asynchronously: retry once it has
  for (let i = 0; again.status === 429 && i < 50; i++) {
    again.close()
    await new Promise((r) => setImmediate(r))
    again = await SseClient.open(url)
  }
  t.after(() => again.close())
  assert.equal(again.status, 200)
})
