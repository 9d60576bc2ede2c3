// An unknown token earns nothing: made-up agentTokens on every surface leave this instance's token cache as it was.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { a2a, createRoom, joinRoom, type TestServer } from '../helpers.ts'
import { fullApp } from './server.ts'

/** Made-up tokens sent on each surface: well-formed UUIDs (the shape real tokens have) and odd strings. */
const ROUNDS = 40
const madeUp = (i: number) => (i % 4 === 3 ? `not-a-token-${i}-${'x'.repeat(i)}` : crypto.randomUUID())

/** One round of requests carrying the made-up token on every surface that takes a token; each must be refused. */
async function tryEverywhere(srv: TestServer, room: { roomId: string; name: string }, token: string) {
  for (const [action, params, contextId] of [
    ['message.send', {}, undefined],
    ['message.history', { roomId: room.roomId }, room.roomId],
    ['message.unread', {}, undefined],
    ['room.leave', {}, room.roomId],
  ] as const) {
    const r = await a2a(srv, action, { ...params, agentToken: token }, { contextId, text: 'hi' })
    assert.match(r.text, /^Error: Invalid agentToken/, `${action} with a made-up token`)
  }
  const sse = [
    fetch(`${srv.url}/api/messages/${room.roomId}/sse?agentToken=${encodeURIComponent(token)}`),
    fetch(`${srv.url}/api/messages/${room.roomId}/sse`, { headers: { authorization: `Bearer ${token}` } }),
  ]
  for (const res of await Promise.all(sse)) {
    assert.equal(res.status, 401, 'SSE with a made-up token')
    await res.arrayBuffer()
  }
  const git = await fetch(`${srv.url}/rooms/${room.name}.git/info/refs?service=git-upload-pack`, {
    headers: { authorization: `Basic ${Buffer.from(`alice:${token}`).toString('base64')}` },
  })
  await git.arrayBuffer()
  assert.notEqual(git.status, 200, 'git with a made-up token as alice')
}

test('made-up agentTokens on A2A, SSE and git leave the token cache as it was; a real one is cached', async (t) => {
  const srv = await fullApp(t, {}, true)
  const room = await createRoom(srv, { password: 'pw' })
  const bob = await joinRoom(srv, room.roomId, 'bob', { password: 'pw' })
  const rooms = srv.app.rooms
  const before = rooms.cachedTokens
  // Five requests at a time: enough to interleave lookups, light on a shared machine.
  for (let i = 0; i < ROUNDS; i += 5) {
    await Promise.all(Array.from({ length: 5 }, (_, k) => tryEverywhere(srv, room, madeUp(i + k))))
    assert.ok(rooms.cachedTokens <= before, `cache holds ${rooms.cachedTokens} tokens after ${i + 5} rounds of made-up ones (was ${before})`)
  }
  // The same count moves for a token the store knows (bob's, not looked up yet): it reads the cache lookups fill.
  const afterFlood = rooms.cachedTokens
  assert.doesNotMatch((await a2a(srv, 'message.history', { agentToken: bob, roomId: room.roomId })).text, /^Error/)
  assert.equal(rooms.cachedTokens, afterFlood + 1, 'a real token is cached')
})
