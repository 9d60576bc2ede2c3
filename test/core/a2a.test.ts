import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { a2a, createRoom, rpc, startApp, type TestServer } from '../helpers.ts'
import { ACTIONS } from '../../lib/actions/index.ts'

let srv: TestServer
before(async () => {
  srv = await startApp(null)
})
after(() => srv.app.close())

const send = (body: unknown, headers?: Record<string, string>) => rpc(srv, body, headers)
const msg = (metadata: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: 7,
  method: 'SendMessage',
  params: { message: { role: 'user', parts: [{ text: '' }], metadata, ...extra } },
})

describe('JSON-RPC envelope', () => {
  test('parse error, invalid request, unknown method, invalid params', async () => {
    assert.deepEqual((await send('{nope')).error.code, -32700)
    assert.equal((await send('')).error.code, -32700)
    const noVersion = await send({ id: 1, method: 'SendMessage' })
    assert.equal(noVersion.error.code, -32600)
    assert.equal(noVersion.id, 1)
    assert.equal((await send({ jsonrpc: '2.0', id: 1 })).error.code, -32600)
    assert.equal((await send({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: {} })).error.code, -32001) // TaskNotFound
    assert.equal((await send({ jsonrpc: '2.0', id: 1, method: 'CreateTaskPushNotificationConfig', params: {} })).error.code, -32001)
    assert.equal((await send({ jsonrpc: '2.0', id: 1, method: 'nope' })).error.code, -32601)
    assert.equal((await send({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: {} })).error.code, -32602)
    assert.equal((await send({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: 'x' } })).error.code, -32602)
  })

  test('batches are answered element-wise; notifications get no reply', async () => {
    const replies = await send([
      { jsonrpc: '2.0', id: 'a', method: 'rpc.discover' },
      { jsonrpc: '2.0', id: 'b', method: 'tasks/unknown' },
      { jsonrpc: '2.0', method: 'rpc.discover' },
      42,
    ])
    assert.equal(replies.length, 3)
    assert.equal(replies[0].id, 'a')
    assert.ok(replies[0].result.actions)
    assert.equal(replies[1].error.code, -32601)
    assert.equal(replies[2].error.code, -32600)
    assert.equal((await send([])).error.code, -32600)
    const res = await fetch(`${srv.url}/a2a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'rpc.discover' }),
    })
    assert.equal(res.status, 204)
  })

  test('a body without a JSON content type is still JSON-RPC', async () => {
    const res = await fetch(`${srv.url}/a2a`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'rpc.discover' }) })
    assert.equal(res.status, 200)
    assert.ok((await res.json()).result.endpoints)
  })
})

describe('messages and versions', () => {
  test('v0.3 shape by default, with message/send and kind parts accepted', async () => {
    const r = await send({
      jsonrpc: '2.0',
      id: 3,
      method: 'message/send',
      params: { message: { kind: 'message', role: 'user', parts: [{ kind: 'text', text: 'v03-room-' + Date.now() }], metadata: { action: 'create', agentName: 'a' } } },
    })
    assert.equal(r.jsonrpc, '2.0')
    assert.equal(r.id, 3)
    assert.equal(r.result.kind, 'message')
    assert.equal(r.result.role, 'agent')
    assert.match(r.result.parts[0].text, /^Room created: /)
    assert.equal(r.result.parts[1].data.agentName, 'a')
    assert.equal(r.result.contextId, r.result.parts[1].data.roomId)
    assert.ok(r.result.messageId)
  })

  test('A2A-Version 1.0 gets the 1.0 shape; unknown versions get -32009', async () => {
    const r = await send(msg({ action: 'room.list' }), { 'A2A-Version': '1.0' })
    assert.equal(r.result.message.role, 'ROLE_AGENT')
    assert.deepEqual(Object.keys(r.result.message.parts[0]), ['text'])
    assert.ok(r.result.message.parts[1].data.rooms)
    const bad = await send(msg({ action: 'room.list' }), { 'A2A-Version': '9.9' })
    assert.equal(bad.error.code, -32009)
    assert.ok(Array.isArray(bad.error.data))
  })

  test('action errors are results with an Error: text and a machine-readable code', async () => {
    const r = await send(msg({ action: 'room.join', agentName: 'x' }, { contextId: 'no-such-room-xyz' }))
    assert.equal(r.result.parts[0].text, 'Error: Room not found: no-such-room-xyz')
    assert.deepEqual(r.result.parts[1].data, { error: { code: 'ROOM_NOT_FOUND', message: 'Room not found: no-such-room-xyz' } })
    const unknown = await send(msg({ action: 'room.explode' }))
    assert.equal(unknown.result.parts[0].text, 'Error: Unknown action: room.explode')
    assert.equal(unknown.result.parts[1].data.error.code, 'UNKNOWN_ACTION')
  })

  test('no action: contextId + agentToken is a send, otherwise the docs', async () => {
    const { roomId, token } = await createRoom(srv)
    const implied = await a2a(srv, undefined, { agentToken: token }, { contextId: roomId, text: 'implicit send' })
    assert.equal(implied.text, 'Message sent')
    const docs = await a2a(srv, undefined, {})
    assert.match(docs.text, /room\.create/)
    assert.ok(Array.isArray(docs.data.actions))
    // Join.cloud clients read documentation.actions, grouped
    assert.deepEqual(Object.keys(docs.data.documentation.actions), ['room', 'messages', 'leases', 'other'])
    assert.ok(docs.data.documentation.actions.messages.some((a: any) => a.action === 'message.send'))
    assert.ok(docs.data.documentation.actions.room.every((a: any) => a.action.startsWith('room.')))
  })

  test('help and rpc.discover are generated from the action table', async () => {
    const help = await a2a(srv, 'help')
    const names = help.data.actions.map((d: any) => d.action)
    for (const a of ['room.create', 'room.join', 'room.leave', 'room.info', 'room.list', 'message.send', 'message.history', 'message.unread', 'message.wait', 'room.promote', 'room.demote', 'room.kick', 'room.update', 'help']) {
      assert.ok(names.includes(a), a)
      assert.ok(help.text.includes(a), a)
    }
    const create = help.data.actions.find((d: any) => d.action === 'room.create')
    assert.deepEqual(create.params.filter((p: any) => p.required).map((p: any) => p.name), ['agentName'])
    const d = (await send({ jsonrpc: '2.0', id: 1, method: 'rpc.discover' })).result
    assert.equal(d.name, 'Convene')
    assert.deepEqual(Object.keys(d.endpoints).sort(), ['a2a', 'agentCard', 'git', 'mcp', 'sse'])
    assert.equal(d.actions.length, names.length)
    assert.equal(d.actions.find((a: any) => a.name === 'message.send').params.required.includes('text'), true)
    const viaMethod = (await send({ jsonrpc: '2.0', id: 1, method: 'help' })).result
    assert.ok(viaMethod.parts[1].data.documentation)
  })

  test('prototype-pollution keys in metadata change nothing', async () => {
    const body = JSON.stringify(msg({ action: 'room.list' })).replace(
      '"action":"room.list"',
      '"action":"room.list","__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}',
    )
    assert.ok(body.includes('__proto__'))
    const r = await send(body)
    assert.ok(r.result.parts[1].data.rooms)
    const viaData = await send(body.replace('"parts":[{"text":""}]', '"parts":[{"data":{"__proto__":{"polluted":true}}}]'))
    assert.ok(viaData.result.parts[1].data.rooms)
    assert.equal(({} as any).polluted, undefined)
  })
})

describe('discovery documents', () => {
  test('GET /a2a is text docs', async () => {
    const res = await fetch(`${srv.url}/a2a`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/)
    assert.match(await res.text(), /message\.send/)
  })

  test('the agent card serves A2A 0.3 and 1.0 clients, one skill per action', async () => {
    const res = await fetch(`${srv.url}/.well-known/agent-card.json`)
    const card = await res.json()
    assert.equal(card.url, `${srv.url}/a2a`)
    assert.equal(card.preferredTransport, 'JSONRPC')
    assert.ok(card.protocolVersion)
    assert.deepEqual(card.supportedInterfaces, [
      { url: `${srv.url}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url: `${srv.url}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
    ])
    assert.deepEqual(Object.keys(card.capabilities).sort(), ['pushNotifications', 'streaming'])
    for (const k of ['name', 'description', 'version', 'defaultInputModes', 'defaultOutputModes']) assert.ok(card[k], k)
    assert.equal(card.skills.length, ACTIONS.length)
    assert.ok(card.skills.every((s: any) => s.id && s.name && s.description && Array.isArray(s.tags)))
  })
})

describe('PROTOCOLS', () => {
  test('a disabled protocol answers 404', async (t) => {
    const only = await startApp(t, { protocols: ['git'] }, { listen: false })
    const res = await only.app.inject({ method: 'POST', url: '/a2a', payload: { jsonrpc: '2.0', id: 1, method: 'rpc.discover' } })
    assert.equal(res.statusCode, 404)
    const card = await only.app.inject({ method: 'GET', url: '/.well-known/agent-card.json' })
    assert.equal(card.statusCode, 404)
    assert.equal(card.json().error, 'Not Found')
  })
})
