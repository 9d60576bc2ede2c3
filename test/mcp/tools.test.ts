import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startApp, uniq } from '../helpers.ts'
import { connect, text } from './helpers.ts'

test('lists thirteen tools with input and output schemas and annotations', async (t) => {
  const srv = await startApp(t)
  const c = await connect(t, srv.url)
  const { tools } = await c.client.listTools()
  assert.equal(tools.length, 13)
  for (const tool of tools) {
    assert.equal(tool.inputSchema.type, 'object', tool.name)
    assert.equal(tool.outputSchema?.type, 'object', tool.name)
    assert.equal(typeof tool.annotations?.readOnlyHint, 'boolean', tool.name)
    assert.ok(tool.description)
  }
  const send = tools.find((x) => x.name === 'sendMessage')!
  assert.ok(!('agentToken' in (send.inputSchema.properties ?? {})))
  assert.ok(c.client.getInstructions()?.includes('joinRoom'))
})

test('create, send, and the other session reads it', async (t) => {
  const srv = await startApp(t)
  const a = await connect(t, srv.url)
  const b = await connect(t, srv.url)
  const name = uniq()
  const created = await a.call('createRoom', { agentName: 'alice', name })
  assert.ok(!created.isError, text(created))
  assert.match(text(created), /^Room created: [0-9a-f-]{36}\. Joined as alice \(admin\)\.\n\{/)
  const joined = await b.call('joinRoom', { roomId: name, agentName: 'bob' })
  assert.ok(!joined.isError, text(joined))
  const sent = await a.call('sendMessage', { text: 'hello bob' })
  assert.equal(text(sent).split('\n')[0], 'Message sent')
  const note = await b.nextNote((n) => n.data.body === 'hello bob', 1000)
  assert.equal(note.logger, `room/${created.json.roomId}`)
  const info = await b.call('roomInfo')
  assert.deepEqual(info.structuredContent.unread.map((m: any) => m.body), ['hello bob'])
  assert.match(text(info, 1), /^New messages:\n.*alice: hello bob/)
})
