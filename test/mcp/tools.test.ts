import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACTIONS } from '../../lib/actions/index.ts'
import { a2a, startApp, uniq } from '../helpers.ts'
import { connect, text } from './helpers.ts'

const err = (r: { isError?: boolean; content: unknown[] }) => {
  assert.equal(r.isError, true, 'expected an error result')
  return text(r as never)
}

/** What MCP assumes for a hint a tool leaves out. */
const HINT_DEFAULTS = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true }

test('lists every action as a tool with input and output schemas and truthful annotations', async (t) => {
  const srv = await startApp(t)
  const c = await connect(t, srv.url)
  const { tools } = await c.client.listTools()
  assert.deepEqual(tools.map((x) => x.name).sort(), [
    'ackMessages', 'acquireLease', 'createRoom', 'demoteAgent', 'joinRoom', 'kickAgent', 'leaveRoom', 'listLeases', 'listRooms',
    'messageHistory', 'messageStatus', 'messageThread', 'promoteAgent', 'releaseLease', 'renewLease', 'roomInfo', 'searchMessages',
    'sendMessage', 'unreadMessages', 'updateRoom', 'waitForMessages',
  ])
  for (const tool of tools) {
    assert.equal(tool.inputSchema.type, 'object', tool.name)
    assert.equal(tool.outputSchema?.type, 'object', tool.name)
    assert.ok(tool.description, tool.name)
    const def = ACTIONS.find((a) => a.tool === tool.name)!
    for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
      assert.equal(tool.annotations?.[hint] ?? HINT_DEFAULTS[hint], def.annotations[hint], `${tool.name} ${hint}`)
    }
  }
  const by = new Map(tools.map((x) => [x.name, x]))
  assert.ok(!('agentToken' in (by.get('sendMessage')!.inputSchema.properties ?? {})))
  assert.ok('agentToken' in (by.get('joinRoom')!.inputSchema.properties ?? {}), 'joinRoom keeps agentToken for reconnects')
  assert.ok(!by.get('messageHistory')!.inputSchema.required?.includes('roomId'))
  assert.equal(by.get('listRooms')!.annotations?.readOnlyHint, true)
  assert.equal(by.get('kickAgent')!.annotations?.destructiveHint, true)
  assert.equal(by.get('sendMessage')!.annotations?.readOnlyHint ?? false, false)
  assert.equal(by.get('sendMessage')!.annotations?.openWorldHint, false)
  const instructions = c.client.getInstructions() ?? ''
  assert.ok(instructions.includes('joinRoom') && instructions.includes('room.create'))
})

test('every tool: success paths', async (t) => {
  const srv = await startApp(t)
  const a = await connect(t, srv.url)
  const b = await connect(t, srv.url)
  const name = uniq()

  const created = await a.call('createRoom', { agentName: 'alice', name, description: 'test room' })
  assert.match(text(created), /^Room created: [0-9a-f-]{36}\. Joined as alice \(admin\)\.\n\{/)
  assert.equal(created.structuredContent.name, name)
  assert.deepEqual(created.json, Object.fromEntries(Object.entries(created.structuredContent).filter(([k]) => k !== 'unread')))
  const roomId = created.json.roomId

  const joined = await b.call('joinRoom', { roomId: name, agentName: 'bob' })
  assert.equal(text(joined).split('\n')[0], `Joined room ${roomId} as bob`)
  assert.equal(joined.json.role, 'member')

  const listed = await a.call('listRooms', { search: name })
  assert.deepEqual(listed.json.rooms.map((r: any) => r.name), [name])

  const info = await b.call('roomInfo')
  assert.deepEqual(info.json.agents.map((x: any) => x.name).sort(), ['alice', 'bob'])

  const sent = await a.call('sendMessage', { text: 'hello' })
  assert.equal(text(sent).split('\n')[0], 'Message sent')
  assert.equal(typeof sent.json.seq, 'number')

  const peek = await b.call('unreadMessages', { peek: true })
  assert.deepEqual(peek.json.messages.map((m: any) => m.body), ['hello'])
  const unread = await b.call('unreadMessages')
  assert.deepEqual(unread.json.messages.map((m: any) => m.body), ['hello'])
  assert.equal(text(await b.call('unreadMessages')).split('\n')[0], 'No unread messages')

  const history = await b.call('messageHistory', { limit: 5 })
  assert.ok(history.json.messages.some((m: any) => m.body === 'hello'))

  const waiting = b.call('waitForMessages', { timeout: 10 })
  await a.call('sendMessage', { text: 'wake up' })
  assert.deepEqual((await waiting).json.messages.map((m: any) => m.body), ['wake up'])
  const empty = await b.call('waitForMessages', { timeout: 0 })
  assert.equal(empty.json.total, 0)

  assert.equal(text(await a.call('promoteAgent', { targetAgent: 'bob' })).split('\n')[0], 'Promoted bob to admin')
  assert.equal(text(await a.call('demoteAgent', { targetAgent: 'bob' })).split('\n')[0], 'Demoted bob to member')
  assert.match(text(await a.call('updateRoom', { description: 'new' })), /^Room updated: description\n/)
  assert.equal(text(await a.call('kickAgent', { targetAgent: 'bob' })).split('\n')[0], 'Kicked bob from the room')
  // bob's session forgets the kicked agent
  assert.equal(err(await b.call('sendMessage', { text: 'x' })), 'Error: Invalid agentToken')
  assert.equal(err(await b.call('sendMessage', { text: 'x' })), 'Error: Not joined to any room. Call joinRoom first.')

  const left = await a.call('leaveRoom')
  assert.equal(text(left).split('\n')[0], `Left room ${roomId}`)
  assert.equal(err(await a.call('roomInfo')), 'Error: roomId is required')
})

test('every tool: error paths', async (t) => {
  const srv = await startApp(t)
  const a = await connect(t, srv.url)
  const b = await connect(t, srv.url)
  const name = uniq()
  const notJoined = 'Error: Not joined to any room. Call joinRoom first.'
  for (const tool of ['leaveRoom', 'sendMessage', 'messageHistory', 'unreadMessages', 'waitForMessages', 'promoteAgent', 'demoteAgent', 'kickAgent', 'updateRoom']) {
    const args = tool === 'sendMessage' ? { text: 'x' } : ['promoteAgent', 'demoteAgent', 'kickAgent'].includes(tool) ? { targetAgent: 'x' } : { description: 'x' }
    assert.equal(err(await a.call(tool, args)), notJoined, tool)
  }
  assert.equal(err(await a.call('createRoom', {})), 'Error: agentName is required')
  assert.equal(err(await a.call('createRoom', { agentName: 'a', name: 'mcp' })), 'Error: Room name "mcp" is reserved.')
  assert.equal(err(await a.call('joinRoom', { roomId: uniq('nope'), agentName: 'x' })).startsWith('Error: Room not found: '), true)
  assert.equal(err(await a.call('roomInfo', { roomId: uniq('nope') })).startsWith('Error: Room not found: '), true)
  assert.match(err(await a.call('listRooms', { limit: 1000 })), /^Error: limit /)

  await a.call('createRoom', { agentName: 'alice', name })
  assert.equal(err(await b.call('createRoom', { agentName: 'bob', name })), `Error: Room "${name}" already exists`)
  assert.equal(
    err(await b.call('joinRoom', { roomId: name, agentName: 'alice' })),
    'Error: Agent name "alice" is already taken in this room. If you own this name, use your agentToken to reconnect.',
  )
  await b.call('joinRoom', { roomId: name, agentName: 'bob' })
  assert.equal(err(await b.call('promoteAgent', { targetAgent: 'alice' })), 'Error: Admin role required')
  assert.equal(err(await b.call('demoteAgent', { targetAgent: 'alice' })), 'Error: Admin role required')
  assert.equal(err(await b.call('kickAgent', { targetAgent: 'alice' })), 'Error: Admin role required')
  assert.equal(err(await b.call('updateRoom', { description: 'x' })), 'Error: Admin role required')
  assert.equal(err(await a.call('demoteAgent', { targetAgent: 'alice' })), 'Error: Cannot demote the last admin')
  assert.equal(err(await a.call('kickAgent', { targetAgent: 'alice' })), 'Error: Cannot kick yourself')
  assert.equal(err(await a.call('promoteAgent', { targetAgent: 'carol' })), 'Error: Agent "carol" not found in room')
  assert.equal(err(await a.call('updateRoom', {})), 'Error: At least one of description or type must be provided')
  assert.equal(err(await a.call('sendMessage', {})), 'Error: text is required')
  assert.equal(err(await a.call('sendMessage', { text: 'x', to: 'carol' })), 'Error: Agent "carol" not found in room')
  assert.equal(err(await a.call('messageHistory', { roomId: uniq('other') })), 'Error: agentToken does not belong to this room')
  assert.match(err(await a.call('waitForMessages', { timeout: 61 })), /^Error: timeout /)
  await a.call('updateRoom', { type: 'channel' })
  assert.equal(err(await b.call('sendMessage', { text: 'x' })), 'Error: Only admins can post in channels')
  await assert.rejects(a.client.callTool({ name: 'noSuchTool', arguments: {} }), /Unknown tool: noSuchTool/)
})

test('a bad parameter is worded the same over MCP and A2A (one validator)', async (t) => {
  const srv = await startApp(t)
  const c = await connect(t, srv.url)
  const name = uniq()
  const { data } = await a2a(srv, 'room.create', { agentName: 'alice', name })
  await c.call('joinRoom', { roomId: name, agentName: 'bob' })
  const cases: [string, string, Record<string, unknown>][] = [
    ['listRooms', 'room.list', { limit: 1000 }],
    ['listRooms', 'room.list', { offset: -1 }],
    ['createRoom', 'room.create', { agentName: 'a', type: 'nope' }],
    ['createRoom', 'room.create', { agentName: 'x'.repeat(65) }],
    ['createRoom', 'room.create', {}],
    ['waitForMessages', 'message.wait', { timeout: 61 }],
    ['messageHistory', 'message.history', { limit: 0 }],
  ]
  for (const [tool, action, args] of cases) {
    const viaA2a = (await a2a(srv, action, { ...args, agentToken: data.agentToken, roomId: data.roomId })).text
    assert.match(viaA2a, /^Error: /, `${action} ${JSON.stringify(args)}`)
    assert.equal(err(await c.call(tool, args)), viaA2a, `${tool} ${JSON.stringify(args)}`)
  }
})

test('reconnecting with joinRoom and the agentToken rebinds the session', async (t) => {
  const srv = await startApp(t)
  const a = await connect(t, srv.url)
  const name = uniq()
  const created = await a.call('createRoom', { agentName: 'alice', name })
  const again = await connect(t, srv.url)
  const r = await again.call('joinRoom', { roomId: name, agentName: 'alice', agentToken: created.json.agentToken })
  assert.equal(text(r).split('\n')[0], `Reconnected to room ${created.json.roomId} as alice`)
  assert.ok(!(await again.call('sendMessage', { text: 'back' })).isError)
})
