import assert from 'node:assert/strict'
import { test } from 'node:test'
import { a2a, createRoom, startApp, uniq } from '../helpers.ts'

test('50 parallel sends get 50 distinct, consecutive seqs', async (t) => {
  const srv = await startApp(t)
  const { roomId, token } = await createRoom(srv)
  const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => a2a(srv, 'message.send', { agentToken: token }, { text: `p${i}` })))
  const seqs = replies.map((r) => r.data.seq).sort((a, b) => a - b)
  assert.equal(new Set(seqs).size, 50)
  assert.deepEqual(seqs, Array.from({ length: 50 }, (_, i) => seqs[0] + i))
  const h = await a2a(srv, 'message.history', { agentToken: token, limit: 100 }, { contextId: roomId })
  assert.equal(h.data.total, 51)
})

test('20 parallel joins with one name: exactly one wins', async (t) => {
  const srv = await startApp(t)
  const { roomId } = await createRoom(srv)
  const replies = await Promise.all(Array.from({ length: 20 }, () => a2a(srv, 'room.join', { agentName: 'dup' }, { contextId: roomId })))
  assert.equal(replies.filter((r) => r.text.startsWith('Joined room')).length, 1)
  assert.equal(replies.filter((r) => r.text.includes('is already taken')).length, 19)
})

test('parallel creates of one name: exactly one room', async (t) => {
  const srv = await startApp(t)
  const name = uniq()
  const replies = await Promise.all(Array.from({ length: 10 }, () => a2a(srv, 'room.create', { agentName: 'a' }, { text: name })))
  assert.equal(replies.filter((r) => r.text.startsWith('Room created')).length, 1)
  const secret = uniq()
  const same = await Promise.all(Array.from({ length: 5 }, () => a2a(srv, 'room.create', { agentName: 'a', password: 'pw' }, { text: secret })))
  assert.equal(same.filter((r) => r.text.startsWith('Room created')).length, 1)
})

test('concurrent readers never both receive a message', async (t) => {
  const srv = await startApp(t)
  const { roomId, token: alice } = await createRoom(srv)
  const bob = await a2a(srv, 'room.join', { agentName: 'bob' }, { contextId: roomId })
  for (let i = 0; i < 30; i++) await a2a(srv, 'message.send', { agentToken: alice }, { text: `r${i}` })
  const reads = await Promise.all(Array.from({ length: 6 }, () => a2a(srv, 'message.unread', { agentToken: bob.data.agentToken })))
  const got = reads.flatMap((r) => r.data.messages.map((m: any) => m.body))
  assert.equal(got.length, 30)
  assert.equal(new Set(got).size, 30)
})
