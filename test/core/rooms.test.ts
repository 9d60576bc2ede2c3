import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { a2a, createRoom, joinRoom, startApp, uniq, type TestServer } from '../helpers.ts'

let srv: TestServer
before(async () => {
  srv = await startApp(null, {}, { listen: false })
})
after(() => srv.app.close())

const isError = (text: string, phrase: string) => {
  assert.ok(text.startsWith('Error: '), `expected an error, got: ${text}`)
  assert.ok(text.includes(phrase), `expected "${phrase}" in: ${text}`)
}

describe('room.create', () => {
  test('creates a room, joins the creator as admin, returns the contract fields', async () => {
    const name = uniq()
    const r = await a2a(srv, 'room.create', { agentName: 'alice', description: 'd', type: 'channel' }, { text: name.toUpperCase() })
    assert.match(r.text, /^Room created: [0-9a-f-]{36}\. Joined as alice \(admin\)\.$/)
    assert.equal(r.contextId, r.data.roomId)
    assert.deepEqual(Object.keys(r.data).sort(), ['agentName', 'agentToken', 'description', 'name', 'passwordProtected', 'roomId', 'type'])
    assert.equal(r.data.name, name, 'names are stored lower-case')
    assert.equal(r.data.type, 'channel')
    assert.equal(r.data.passwordProtected, false)
    const info = await a2a(srv, 'room.info', {}, { contextId: name })
    assert.deepEqual(info.data.agents.map((a: any) => [a.name, a.role]), [['alice', 'admin']])
  })

  test('without a name the UUID is the name', async () => {
    const r = await a2a(srv, 'room.create', { agentName: 'alice' })
    assert.equal(r.data.name, r.data.roomId)
  })

  test('agentName is required', async () => {
    isError((await a2a(srv, 'room.create', {}, { text: uniq() })).text, 'agentName is required')
  })

  test('reserved names are refused', async () => {
    for (const name of ['a2a', 'MCP', 'docs', 'api', 'rooms', 'static', 'healthz', 'readyz', 'metrics', '.well-known']) {
      isError((await a2a(srv, 'room.create', { agentName: 'a' }, { text: name })).text, `Room name "${name.toLowerCase()}" is reserved.`)
    }
  })

  test('invalid names and types name the parameter', async () => {
    isError((await a2a(srv, 'room.create', { agentName: 'a', name: 'has space' })).text, 'name must be')
    isError((await a2a(srv, 'room.create', { agentName: 'a', name: uniq(), type: 'forum' })).text, 'type must be one of group, channel')
    isError((await a2a(srv, 'room.create', { agentName: 'a', name: uniq(), description: 'x'.repeat(5001) })).text, 'description must be')
    isError((await a2a(srv, 'room.create', { agentName: 'room-bot', name: uniq() })).text, 'agentName')
  })

  test('name + password identity rules', async () => {
    const name = uniq()
    await a2a(srv, 'room.create', { agentName: 'a' }, { text: name })
    isError((await a2a(srv, 'room.create', { agentName: 'a' }, { text: name })).text, `Room "${name}" already exists`)
    // a protected room of the same name is a different room
    const p1 = await a2a(srv, 'room.create', { agentName: 'a', password: 'one' }, { text: name })
    assert.equal(p1.data.passwordProtected, true)
    isError((await a2a(srv, 'room.create', { agentName: 'a', password: 'one' }, { text: name })).text, `Room "${name}" already exists`)
    const p2 = await a2a(srv, 'room.create', { agentName: 'a', password: 'two' }, { text: name })
    assert.notEqual(p1.data.roomId, p2.data.roomId)

    const secret = uniq()
    await a2a(srv, 'room.create', { agentName: 'a', password: 'pw' }, { text: secret })
    isError(
      (await a2a(srv, 'room.create', { agentName: 'a' }, { text: secret })).text,
      `Password-protected room "${secret}" already exists. You must provide a password.`,
    )
  })
})

describe('room.join', () => {
  test('joins by UUID, name and name:password; new members are members', async () => {
    const { roomId, name } = await createRoom(srv)
    const byId = await a2a(srv, 'room.join', { agentName: 'bob' }, { contextId: roomId })
    assert.equal(byId.text, `Joined room ${roomId} as bob`)
    assert.equal(byId.data.role, 'member')
    assert.equal(byId.data.roomId, roomId)
    const byName = await a2a(srv, 'room.join', { agentName: 'carol' }, { contextId: name.toUpperCase() })
    assert.equal(byName.data.roomId, roomId)

    const secret = uniq()
    const p = await a2a(srv, 'room.create', { agentName: 'a', password: 's3cret' }, { text: secret })
    assert.equal((await a2a(srv, 'room.join', { agentName: 'b' }, { contextId: `${secret}:s3cret` })).data.roomId, p.data.roomId)
    assert.equal((await a2a(srv, 'room.join', { agentName: 'c', password: 's3cret' }, { contextId: secret })).data.roomId, p.data.roomId)
    assert.equal((await a2a(srv, 'room.join', { agentName: 'd' }, { contextId: p.data.roomId })).data.roomId, p.data.roomId)
    isError((await a2a(srv, 'room.join', { agentName: 'e' }, { contextId: secret })).text, 'Invalid room password')
    isError((await a2a(srv, 'room.join', { agentName: 'e' }, { contextId: `${secret}:wrong` })).text, 'Invalid room password')
  })

  test('unknown rooms and missing parameters', async () => {
    const missing = uniq()
    isError((await a2a(srv, 'room.join', { agentName: 'x' }, { contextId: missing })).text, `Room not found: ${missing}`)
    isError((await a2a(srv, 'room.join', { agentName: 'x' }, { contextId: crypto.randomUUID() })).text, 'Room not found: ')
    isError((await a2a(srv, 'room.join', { agentName: 'x' })).text, 'roomId is required')
    const { roomId } = await createRoom(srv)
    isError((await a2a(srv, 'room.join', {}, { contextId: roomId })).text, 'agentName is required')
  })

  test('a taken name needs its token; with it the agent reconnects', async () => {
    const { roomId, token } = await createRoom(srv)
    const bob = await joinRoom(srv, roomId, 'bob')
    isError(
      (await a2a(srv, 'room.join', { agentName: 'bob' }, { contextId: roomId })).text,
      'Agent name "bob" is already taken in this room. If you own this name, use your agentToken to reconnect.',
    )
    isError((await a2a(srv, 'room.join', { agentName: 'bob', agentToken: token }, { contextId: roomId })).text, 'already taken')
    await a2a(srv, 'message.send', { agentToken: token }, { text: 'while you were away' })
    const again = await a2a(srv, 'room.join', { agentName: 'bob', agentToken: bob }, { contextId: roomId })
    assert.equal(again.text, `Reconnected to room ${roomId} as bob`)
    assert.equal(again.data.agentToken, bob)
    assert.equal(again.data.missedCount, 1)
    assert.equal(again.data.missedMessages[0].body, 'while you were away')
  })

  test('agentEndpoint must be http(s)', async () => {
    const { roomId } = await createRoom(srv)
    isError((await a2a(srv, 'room.join', { agentName: 'x', agentEndpoint: 'ftp://h/x' }, { contextId: roomId })).text, 'agentEndpoint must use http or https')
  })
})

describe('room.info and room.list', () => {
  test('a protected room answers only to its UUID or its password', async () => {
    const name = uniq()
    const p = await a2a(srv, 'room.create', { agentName: 'a', password: 'pw', description: 'hidden' }, { text: name })
    isError((await a2a(srv, 'room.info', {}, { contextId: name })).text, 'Invalid room password')
    const byPw = await a2a(srv, 'room.info', { password: 'pw' }, { contextId: name })
    assert.equal(byPw.data.roomId, p.data.roomId)
    assert.equal(byPw.data.description, 'hidden')
    const byId = await a2a(srv, 'room.info', {}, { contextId: p.data.roomId })
    assert.equal(byId.data.name, name)
    assert.equal(byId.data.passwordProtected, true)
  })

  test('list shows public rooms only, sorted by name, without UUIDs, with search and paging', async () => {
    const tag = uniq('list')
    for (const n of ['c', 'a', 'b']) await a2a(srv, 'room.create', { agentName: 'x', description: `about ${tag}` }, { text: `${tag}-${n}` })
    await a2a(srv, 'room.create', { agentName: 'x', password: 'p' }, { text: `${tag}-secret` })
    const all = await a2a(srv, 'room.list', { search: tag })
    assert.equal(all.data.total, 3)
    assert.deepEqual(all.data.rooms.map((r: any) => r.name), [`${tag}-a`, `${tag}-b`, `${tag}-c`])
    assert.deepEqual(Object.keys(all.data.rooms[0]).sort(), ['agents', 'createdAt', 'description', 'name', 'type'])
    assert.equal(all.data.rooms[0].agents, 1)
    assert.ok(!JSON.stringify(all.raw).includes('secret'))
    const page = await a2a(srv, 'room.list', { search: tag, limit: 1, offset: 1 })
    assert.deepEqual(page.data.rooms.map((r: any) => r.name), [`${tag}-b`])
    assert.equal(page.data.total, 3)
    const literal = await a2a(srv, 'room.list', { search: '%' })
    assert.ok(literal.data.rooms.every((r: any) => r.name.includes('%') || r.description.includes('%')))
    isError((await a2a(srv, 'room.list', { limit: 101 })).text, 'limit must be an integer from 1 to 100')
  })
})

describe('roles, kicks, updates, leaving', () => {
  test('admin actions', async () => {
    const { roomId, token: admin } = await createRoom(srv)
    const bob = await joinRoom(srv, roomId, 'bob')
    isError((await a2a(srv, 'room.promote', { agentToken: bob, targetAgent: 'alice' })).text, 'Admin role required')
    isError((await a2a(srv, 'room.promote', { agentToken: admin, targetAgent: 'nobody' })).text, 'Agent "nobody" not found in room')
    isError((await a2a(srv, 'room.promote', { agentToken: admin })).text, 'targetAgent is required')
    isError((await a2a(srv, 'room.demote', { agentToken: admin, targetAgent: 'alice' })).text, 'Cannot demote the last admin')
    assert.equal((await a2a(srv, 'room.promote', { agentToken: admin, targetAgent: 'bob' })).text, 'Promoted bob to admin')
    assert.equal((await a2a(srv, 'room.demote', { agentToken: bob, targetAgent: 'alice' })).text, 'Demoted alice to member')
    isError((await a2a(srv, 'room.demote', { agentToken: bob, targetAgent: 'bob' })).text, 'Cannot demote the last admin')
    isError((await a2a(srv, 'room.kick', { agentToken: bob, targetAgent: 'bob' })).text, 'Cannot kick yourself')
    assert.equal((await a2a(srv, 'room.kick', { agentToken: bob, targetAgent: 'alice' })).text, 'Kicked alice from the room')
    isError((await a2a(srv, 'message.send', { agentToken: admin }, { text: 'still here?' })).text, 'Invalid agentToken')
    const info = await a2a(srv, 'room.info', {}, { contextId: roomId })
    assert.deepEqual(info.data.agents.map((a: any) => [a.name, a.role]), [['bob', 'admin']])
  })

  test('update and the channel posting rule', async () => {
    const { roomId, token: admin } = await createRoom(srv)
    const bob = await joinRoom(srv, roomId, 'bob')
    isError((await a2a(srv, 'room.update', { agentToken: admin })).text, 'At least one of description or type must be provided')
    isError((await a2a(srv, 'room.update', { agentToken: bob, type: 'channel' })).text, 'Admin role required')
    const up = await a2a(srv, 'room.update', { agentToken: admin, type: 'channel', description: 'news' })
    assert.match(up.text, /^Room updated: /)
    isError((await a2a(srv, 'message.send', { agentToken: bob }, { text: 'hi' })).text, 'Only admins can post in channels')
    assert.equal((await a2a(srv, 'message.send', { agentToken: admin }, { text: 'hi' })).text, 'Message sent')
    const info = await a2a(srv, 'room.info', {}, { contextId: roomId })
    assert.equal(info.data.type, 'channel')
    assert.equal(info.data.description, 'news')
  })

  test('leaving: the token stops working, the last admin hands over, notices are posted', async () => {
    const { roomId, token: admin } = await createRoom(srv)
    const bob = await joinRoom(srv, roomId, 'bob')
    const left = await a2a(srv, 'room.leave', { agentToken: admin }, { contextId: roomId })
    assert.equal(left.text, `Left room ${roomId}`)
    isError((await a2a(srv, 'room.leave', { agentToken: admin })).text, 'Invalid agentToken')
    const info = await a2a(srv, 'room.info', {}, { contextId: roomId })
    assert.deepEqual(info.data.agents.map((a: any) => [a.name, a.role]), [['bob', 'admin']])
    const unread = await a2a(srv, 'message.unread', { agentToken: bob })
    assert.deepEqual(
      unread.data.messages.map((m: any) => [m.from, m.body]),
      [
        ['room-bot', 'alice left the room'],
        ['room-bot', 'bob is now an admin'],
      ],
    )
  })

  test('a token used against another room is refused', async () => {
    const a = await createRoom(srv)
    const b = await createRoom(srv)
    isError((await a2a(srv, 'message.history', { agentToken: a.token }, { contextId: b.roomId })).text, 'agentToken does not belong to this room')
    isError((await a2a(srv, 'room.leave', { agentToken: a.token }, { contextId: b.roomId })).text, 'agentToken does not belong to this room')
  })
})
