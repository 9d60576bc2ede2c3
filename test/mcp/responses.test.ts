// How /mcp answers go out: a quick call's SSE answer in one piece, a waiting call's stream at once.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startApp, uniq } from '../helpers.ts'
import { MCP_HEADERS, rawSession, rawTool, request, sseReader } from './helpers.ts'

test('a quick tool call answers in one piece (Content-Length, priming event then result); waitForMessages streams at once', async (t) => {
  const srv = await startApp(t)
  const alice = await rawSession(srv.url)
  const room = await rawTool(srv.url, alice, 'createRoom', { agentName: 'alice', name: uniq() })
  assert.equal(room.result.isError, undefined)
  // A send: held until done, then sent whole, still as SSE with its priming event first.
  const sent = await rawTool(srv.url, alice, 'sendMessage', { text: 'one piece' })
  assert.equal(sent.res.status, 200)
  assert.match(sent.res.headers.get('content-type') ?? '', /text\/event-stream/)
  assert.equal(sent.res.headers.get('content-length'), String(Buffer.byteLength(sent.body)))
  assert.equal(sent.res.headers.get('transfer-encoding'), null)
  assert.equal(sent.res.headers.get('mcp-session-id'), alice)
  assert.ok(sent.events[0].id && sent.events[0].data.trim() === '', 'priming event first')
  assert.equal(sent.result.structuredContent.seq > 0, true)

  // (bob joins after that send: it is not unread for him, so his wait waits)
  const bob = await rawSession(srv.url)
  assert.equal((await rawTool(srv.url, bob, 'joinRoom', { roomId: room.result.structuredContent.roomId, agentName: 'bob' })).result.isError, undefined)
  // A wait is not held: its priming event arrives while it still waits, the result when a message comes.
  const waiting = await fetch(`${srv.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': bob },
    body: JSON.stringify(request('tools/call', { name: 'waitForMessages', arguments: { timeout: 30 } })),
  })
  assert.equal(waiting.status, 200)
  assert.equal(waiting.headers.get('content-length'), null)
  const events = sseReader(waiting)
  t.after(() => events.cancel())
  const priming = await events.next()
  assert.ok(priming.id && priming.data.trim() === '')
  assert.equal((await rawTool(srv.url, alice, 'sendMessage', { text: 'wake up' })).result.isError, undefined)
  let msg: any = {}
  while (!('result' in msg)) {
    const e = await events.next()
    if (e.data.trim()) msg = JSON.parse(e.data)
  }
  assert.ok(JSON.stringify(msg.result.structuredContent).includes('wake up'))
})

test('errors before the transport (unknown session) and 202s are unchanged', async (t) => {
  const srv = await startApp(t)
  const sid = await rawSession(srv.url)
  const note = await fetch(`${srv.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': sid },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  })
  assert.equal(note.status, 202)
  assert.equal(await note.text(), '')
  const bad = await fetch(`${srv.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': sid, 'mcp-protocol-version': '1999-01-01' },
    body: JSON.stringify(request('tools/list')),
  })
  assert.equal(bad.status, 400)
  assert.match((await bad.json()).error.message, /Unsupported protocol version/)
})
