// Hostile MCP tool arguments: every call answers (a result, isError, or a JSON-RPC error), never a 5xx or crash.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ACTIONS } from '../../lib/actions/index.ts'
import { createRoom, joinRoom } from '../helpers.ts'
import { MCP_HEADERS, post, rawSession, request } from '../mcp/helpers.ts'
import { fullApp } from './server.ts'

const SEED = 20240809
const KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'agentToken', 'roomId', 'text', 'to', 'limit', 'offset', 'timeout', 'peek', 'password', 'agentName', 'targetAgent', 'description', 'type', 'name', 'search']
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('', '\u0000', '\uD800', 'a'.repeat(33_000), '__proto__', 'alice', 'bob', null, true, false, 0, -1, 1e308, 2 ** 53 + 1, 0.5),
    fc.integer(),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('v'), { maxKeys: 3 }),
  ),
})).v

test('MCP: random tool names and hostile arguments never produce a 5xx; the session keeps working', { timeout: 120_000 }, async (t) => {
  const srv = await fullApp(t, {}, true)
  const room = await createRoom(srv, { password: 'pw' })
  const bob = await joinRoom(srv, room.roomId, 'bob', { password: 'pw' })
  const session = await rawSession(srv.url)
  const headers = { 'mcp-session-id': session }
  // Bind the session to bob so session tools reach the service.
  await post(srv.url, request('tools/call', { name: 'joinRoom', arguments: { roomId: room.roomId, agentName: 'bob', agentToken: bob } }), headers)
  const tools = ACTIONS.map((a) => a.tool).filter((x): x is string => Boolean(x))

  const check = (r: Awaited<ReturnType<typeof post>>, label: string) => {
    assert.ok(r.res.status < 500, `${label}: ${r.res.status} ${r.body.slice(0, 200)}`)
    for (const m of r.messages) {
      assert.equal(m.jsonrpc, '2.0')
      if (m.error) assert.equal(typeof m.error.code, 'number')
      else if (m.result?.content) assert.doesNotMatch(m.result.content[0]?.text ?? '', /Internal error/, `${label}: internal error`)
    }
  }
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.constantFrom(...tools), fc.string({ maxLength: 12 })), fc.oneof(fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 6 }), value), async (name, args) => {
      if (name === 'waitForMessages' && args && typeof args === 'object' && !Array.isArray(args)) (args as Record<string, unknown>).timeout = 0
      const label = `${name}(${JSON.stringify(args)?.slice(0, 150)})`
      const r = await post(srv.url, request('tools/call', { name, arguments: args }), headers)
      check(r, label)
    }),
    { seed: SEED, numRuns: 200, endOnFailure: true },
  )
  // Raw hostile JSON-RPC to /mcp.
  for (const body of ['{', '[]', 'null', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"__proto__":{"name":"kickAgent"}}}', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sendMessage","arguments":{"__proto__":{"text":"x"},"constructor":{"prototype":{"polluted":1}}}}}`, '{"jsonrpc":"2.0","id":1,"method":"__proto__"}', `[${'{"jsonrpc":"2.0","method":"ping","id":1},'.repeat(100)}{}]`]) {
    const res = await fetch(`${srv.url}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body })
    assert.ok(res.status < 500, `${body.slice(0, 80)}: ${res.status}`)
    await res.arrayBuffer()
  }
  assert.equal(({} as any).polluted, undefined)
  // (the fuzz may have called leaveRoom: join afresh)
  await post(srv.url, request('tools/call', { name: 'joinRoom', arguments: { roomId: `${room.name}:pw`, agentName: 'zoe' } }), headers)
  const ok = await post(srv.url, request('tools/call', { name: 'sendMessage', arguments: { text: 'still here' } }), headers)
  assert.match(ok.messages[0].result.content[0].text, /^Message sent/)
})
