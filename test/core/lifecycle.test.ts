import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { a2a, createRoom, DATABASE_URL, freshDataDir, startApp, testConfig } from '../helpers.ts'
import { spawnServer } from '../spawn.ts'

test('data survives a restart on the same store', async (t) => {
  const config = await testConfig(t)
  const first = await startApp(null, {}, { config, listen: false })
  const { roomId, token, name } = await createRoom(first, { password: 'pw' })
  await a2a(first, 'message.send', { agentToken: token }, { text: 'persisted' })
  await first.app.close()

  const second = await startApp(t, {}, { config, listen: false })
  const h = await a2a(second, 'message.history', { agentToken: token }, { contextId: roomId })
  assert.deepEqual(h.data.messages.map((m: any) => m.body).at(-1), 'persisted')
  const sent = await a2a(second, 'message.send', { agentToken: token }, { text: 'after restart' })
  assert.equal(sent.data.seq, 3, 'seq continues without gap or repeat')
  const info = await a2a(second, 'room.info', {}, { contextId: `${name}:pw` })
  assert.equal(info.data.roomId, roomId, 'the password hash survives too')
})

test('rooms idle past ROOM_TTL_DAYS expire with their agents and messages; active ones stay', async (t) => {
  let now = Date.parse('2030-01-01T00:00:00Z')
  const srv = await startApp(t, { roomTtlDays: 7 }, { listen: false, clock: () => new Date(now) })
  const idle = await createRoom(srv)
  const active = await createRoom(srv)
  now += 6 * 86_400_000
  await a2a(srv, 'message.send', { agentToken: active.token }, { text: 'still here' })
  now += 2 * 86_400_000
  const stored = async (roomId: string) => Number((await srv.app.db.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE room_id = $1', [roomId]))[0].n)
  assert.ok((await stored(idle.roomId)) > 0, 'the idle room has its join notice')
  const expired = await srv.app.rooms.reapIdleRooms()
  assert.ok(expired.includes(idle.roomId))
  assert.ok(!expired.includes(active.roomId))
  assert.equal(await stored(idle.roomId), 0, "the expired room's messages are deleted with it")
  assert.ok((await stored(active.roomId)) >= 2)
  assert.match((await a2a(srv, 'room.info', {}, { contextId: idle.roomId })).text, /^Error: Room not found/)
  assert.match((await a2a(srv, 'message.send', { agentToken: idle.token }, { text: 'x' })).text, /^Error: Invalid agentToken/)
  assert.equal((await a2a(srv, 'room.info', {}, { contextId: active.roomId })).data.roomId, active.roomId)
})

test('npm start serves the A2A API on the embedded store and stops cleanly on SIGTERM', async (t) => {
  const dataDir = await freshDataDir(t)
  const { url, child } = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: DATABASE_URL ?? '' })
  t.after(() => child.kill('SIGKILL'))
  const res = await fetch(`${url}/a2a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { role: 'user', parts: [{ text: '' }], metadata: { action: 'room.list' } } } }),
  })
  assert.equal(res.status, 200)
  assert.ok((await res.json()).result.parts[1].data.rooms)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  assert.equal(code, 0)
})
