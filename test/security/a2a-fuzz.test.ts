// Hostile input over POST /a2a: every answer is a well-formed JSON-RPC reply (or 204/4xx), never a 5xx.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ACTIONS } from '../../lib/actions/index.ts'
import { a2a, createRoom, joinRoom, startApp, uniq } from '../helpers.ts'

const SEED = 20240808
const NASTY_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']
const NASTY_STRINGS = ['', ' ', '\u0000', '\uD800', '\uDFFF', '\uFEFF', '𝕏'.repeat(50), 'a'.repeat(40_000), '../../etc/passwd', '%00', '\r\n\r\n', "'; DROP TABLE rooms; --", '<script>alert(1)</script>', 'NaN', '-1', '1e309']

const nastyString = fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.string({ unit: 'binary', maxLength: 64 }), fc.string({ maxLength: 8 }))
const nastyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyString,
    fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -0, Number.MAX_SAFE_INTEGER, 2 ** 53 + 1),
    fc.integer(),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...NASTY_KEYS), fc.string({ maxLength: 6 })), tie('value'), { maxKeys: 4 }),
  ),
})).value

const actionNames = ACTIONS.flatMap((a) => [a.name, a.alias])

/** Deeply nested arrays/objects as text (JSON.parse handles depth; the server must too). */
const deep = (n: number, open: string, close: string, inner = '1') => open.repeat(n) + inner + close.repeat(n)

function checkReply(status: number, text: string, label: string) {
  assert.ok(status < 500, `${label}: status ${status}: ${text.slice(0, 300)}`)
  if (status === 204) return
  if (status >= 400) return
  const body = JSON.parse(text)
  const one = (r: any) => {
    assert.equal(r.jsonrpc, '2.0', `${label}: jsonrpc`)
    assert.ok('id' in r, `${label}: id`)
    assert.ok(('result' in r) !== ('error' in r), `${label}: exactly one of result/error`)
    if (r.error) {
      assert.equal(typeof r.error.code, 'number')
      assert.equal(typeof r.error.message, 'string')
    } else {
      const msg = r.result.message ?? r.result
      if (msg.parts) {
        assert.ok(Array.isArray(msg.parts))
        // An exception the service did not expect is answered as UNAVAILABLE: that is a defect too.
        const err = msg.parts.find((p: any) => p.data?.error)?.data.error
        assert.notEqual(err?.code, 'UNAVAILABLE', `${label}: unexpected internal error`)
      }
    }
  }
  if (Array.isArray(body)) body.forEach(one)
  else one(body)
}

test('A2A: random and hostile JSON-RPC bodies never produce a 5xx, and nothing is polluted', async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  const room = await createRoom(srv, { password: 'pw' })
  const bob = await joinRoom(srv, room.roomId, 'bob', { password: 'pw' })
  const post = async (payload: string, headers: Record<string, string> = {}) => {
    const res = await srv.app.inject({ method: 'POST', url: '/a2a', headers: { 'content-type': 'application/json', ...headers }, payload })
    return { status: res.statusCode, text: res.body }
  }

  // Envelopes that reach the actions with hostile metadata.
  const envelope = fc.record({
    jsonrpc: fc.oneof(fc.constant('2.0'), nastyValue),
    id: fc.oneof(fc.integer(), nastyString, fc.constant(null), nastyValue),
    method: fc.oneof(fc.constantFrom('SendMessage', 'message/send', 'rpc.discover', 'help', 'GetTask', 'tasks/get'), nastyValue),
    params: fc.oneof(
      nastyValue,
      fc.record({
        message: fc.record({
          role: fc.oneof(fc.constant('user'), nastyValue),
          parts: fc.oneof(fc.array(fc.oneof(fc.record({ text: nastyValue }), fc.record({ data: nastyValue }), nastyValue), { maxLength: 3 }), nastyValue),
          contextId: fc.oneof(fc.constant(room.roomId), fc.constant(`${room.name}:pw`), fc.constant(room.name), nastyValue),
          metadata: fc.oneof(
            nastyValue,
            fc.record(
              {
                action: fc.oneof(fc.constantFrom(...actionNames), nastyValue),
                agentToken: fc.oneof(fc.constantFrom(room.token, bob), nastyValue),
                agentName: fc.oneof(fc.constantFrom('carol', 'bob', 'alice'), nastyValue),
                roomId: fc.oneof(fc.constant(room.roomId), nastyValue),
                to: fc.oneof(fc.constantFrom('bob', 'alice'), nastyValue),
                targetAgent: fc.oneof(fc.constantFrom('bob', 'alice'), nastyValue),
                limit: nastyValue,
                offset: nastyValue,
                timeout: fc.oneof(fc.constantFrom(0, 0.01), nastyValue),
                peek: nastyValue,
                password: nastyValue,
                description: nastyValue,
                type: nastyValue,
                name: nastyValue,
                search: nastyValue,
                agentEndpoint: nastyValue,
              },
              { requiredKeys: ['action'] },
            ),
          ),
        }),
      }),
    ),
  })

  await fc.assert(
    fc.asyncProperty(fc.oneof(envelope, fc.array(envelope, { minLength: 1, maxLength: 3 })), async (body) => {
      // message.wait would block up to its timeout; keep the run bounded.
      const text = JSON.stringify(body, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) && (v.action === 'message.wait' || v.action === 'wait') ? { ...v, timeout: 0 } : v))
      const { status, text: out } = await post(text)
      checkReply(status, out, text.slice(0, 200))
    }),
    { seed: SEED, numRuns: 250, endOnFailure: true },
  )

  // Raw text: random JSON values, garbage, deep nesting, prototype-pollution keys in the raw JSON.
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.json({ maxDepth: 4 }), fc.string({ unit: 'binary', maxLength: 200 })), async (payload) => {
      const { status, text } = await post(payload)
      checkReply(status, text, payload.slice(0, 200))
    }),
    { seed: SEED, numRuns: 150, endOnFailure: true },
  )

  const pollution = [
    `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"contextId":"${room.roomId}","parts":[{"text":"x"},{"data":{"__proto__":{"polluted":1,"agentToken":"${room.token}"}}}],"metadata":{"__proto__":{"action":"room.kick","polluted":1},"constructor":{"prototype":{"polluted":1}}}}}}`,
    `{"jsonrpc":"2.0","id":2,"method":"SendMessage","params":{"__proto__":{"message":{"metadata":{"action":"room.list"}}}}}`,
    `{"jsonrpc":"2.0","id":3,"method":"SendMessage","params":{"message":{"metadata":{"action":"room.create","agentName":"__proto__","name":"${uniq('proto')}"}}}}`,
    `{"jsonrpc":"2.0","id":4,"method":"SendMessage","params":{"message":{"contextId":"${room.roomId}","metadata":{"action":"room.join","agentName":"constructor","password":"pw"}}}}`,
    `{"jsonrpc":"2.0","id":5,"method":"SendMessage","params":{"message":{"metadata":{"action":"__proto__"}}}}`,
    `{"jsonrpc":"2.0","id":6,"method":"SendMessage","params":{"message":{"metadata":{"action":"constructor","agentToken":"${room.token}"}}}}`,
    `{"jsonrpc":"2.0","id":7,"method":"SendMessage","params":{"message":{"metadata":{"action":"toString"}}}}`,
    `{"jsonrpc":"2.0","id":8,"method":"SendMessage","params":{"message":{"contextId":"__proto__","metadata":{"action":"room.info"}}}}`,
    `{"jsonrpc":"2.0","id":9,"method":"SendMessage","params":{"message":{"metadata":{"action":"message.send","agentToken":"${room.token}","to":"__proto__","text":"x"}}}}`,
    `{"jsonrpc":"2.0","id":10,"method":"SendMessage","params":{"message":{"metadata":{"action":"room.kick","agentToken":"${room.token}","targetAgent":"__proto__"}}}}`,
    deep(5000, '[', ']'),
    deep(5000, '{"a":', '}'),
    `{"jsonrpc":"2.0","id":11,"method":"SendMessage","params":${deep(3000, '{"message":', '}', '{}')}}`,
    `[${Array.from({ length: 200 }, (_, i) => `{"jsonrpc":"2.0","id":${i},"method":"rpc.discover"}`).join(',')}]`,
    '[]',
    '[1,2,3]',
    'null',
    '"\\ud800"',
    '{"jsonrpc":"2.0","id":{"a":1},"method":"SendMessage"}',
    `{"jsonrpc":"2.0","id":12,"method":"SendMessage","params":{"message":{"metadata":{"action":"message.send","agentToken":"${room.token}"},"parts":[{"text":"${'x'.repeat(32_001)}"}]}}}`,
  ]
  for (const payload of pollution) {
    const { status, text } = await post(payload)
    checkReply(status, text, payload.slice(0, 120))
  }
  // A body over the limit and odd content types: a 4xx, never a 5xx.
  const big = await post(`{"x":"${'y'.repeat(srv.config.bodyLimitBytes + 10)}"}`)
  assert.equal(big.status, 413)
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16']) {
    const r = await post('{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}', { 'content-type': ct })
    checkReply(r.status, r.text, ct)
  }
  for (const v of ['9.9', '', 'x'.repeat(2000), '1.0, 0.3']) {
    const r = await post('{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}', { 'a2a-version': v })
    checkReply(r.status, r.text, `A2A-Version ${v}`)
  }

  assert.equal(({} as any).polluted, undefined, 'Object.prototype untouched')
  assert.equal((Object.prototype as any).action, undefined)
  // The room is intact: both agents still there, still admin/member, the service answers.
  const info = await a2a(srv, 'room.info', {}, { contextId: room.roomId })
  const roles = Object.fromEntries(info.data.agents.map((a: any) => [a.name, a.role]))
  assert.equal(roles.alice, 'admin')
  assert.equal(roles.bob, 'member')
  const sent = await a2a(srv, 'message.send', { agentToken: bob }, { contextId: room.roomId, text: 'still works' })
  assert.equal(sent.text, 'Message sent')
})

test('regression: NUL characters in any string parameter are refused, not an internal error', async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  const room = await createRoom(srv)
  for (const def of ACTIONS) {
    for (const [key, schema] of Object.entries(def.params.properties)) {
      if ((schema as { type?: string }).type !== 'string') continue
      const params: Record<string, unknown> = { agentToken: room.token, agentName: 'zed', roomId: room.roomId, [key]: 'a\u0000b' }
      const r = await a2a(srv, def.name, params, { contextId: room.roomId })
      assert.match(r.text, /^Error: /, `${def.name}.${key}`)
      assert.notEqual(r.data.error.code, 'UNAVAILABLE', `${def.name}.${key}: ${r.text}`)
    }
  }
  const r = await a2a(srv, 'room.info', {}, { contextId: 'x\u0000y' })
  assert.match(r.text, /NUL/)
})
