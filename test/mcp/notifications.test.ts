import assert from 'node:assert/strict'
import { test } from 'node:test'
import { a2a, startApp, uniq } from '../helpers.ts'
import { aliceAndBob, connect, rawSession, rawTool, sseReader, MCP_HEADERS, text } from './helpers.ts'

test('A sends, B is notified on its GET stream within 1 s, and B’s next result carries the message', async (t) => {
  const srv = await startApp(t)
  const { a, b, room } = await aliceAndBob(t, srv.url)
  const started = Date.now()
  await a.call('sendMessage', { text: 'ping' })
  const note = await b.nextNote((n) => n.data.body === 'ping', 1000)
  assert.ok(Date.now() - started < 1000)
  assert.equal(note.logger, `room/${room.roomId}`)
  assert.deepEqual(Object.keys(note.data).sort(), ['body', 'from', 'id', 'mentions', 'replyTo', 'seq', 'threadId', 'timestamp'])
  assert.equal(note.data.from, 'alice')
  const next = await b.call('listRooms')
  assert.deepEqual(next.structuredContent.unread.map((m: any) => m.body), ['ping'])
  assert.match(text(next, 1), /New messages:\n- \[#\d+\] alice: ping/)
  // consumed: nothing is delivered twice
  assert.deepEqual((await b.call('listRooms')).structuredContent.unread, [])
  // the sender is not notified of its own message
  assert.ok(!a.notes.some((n) => n.data.body === 'ping'))
})

test('a DM reaches only its recipient, never a third session', async (t) => {
  const srv = await startApp(t)
  const [a, b, c] = [await connect(t, srv.url), await connect(t, srv.url), await connect(t, srv.url)]
  const name = uniq()
  await a.call('createRoom', { agentName: 'alice', name })
  await b.call('joinRoom', { roomId: name, agentName: 'bob' })
  await c.call('joinRoom', { roomId: name, agentName: 'carol' })
  await a.call('sendMessage', { text: 'secret', to: 'bob' })
  await a.call('sendMessage', { text: 'public' })
  const dm = await b.nextNote((n) => n.data.body === 'secret', 1000)
  assert.equal(dm.data.to, 'bob')
  await c.nextNote((n) => n.data.body === 'public', 1000)
  assert.ok(!c.notes.some((n) => n.data.body === 'secret'))
  const cr = await c.call('unreadMessages')
  assert.deepEqual(cr.json.messages.map((m: any) => m.body), ['public'])
  const br = await b.call('unreadMessages')
  assert.deepEqual(br.json.messages.filter((m: any) => m.from === 'alice').map((m: any) => m.body), ['secret', 'public'])
})

test('room events from other surfaces (A2A) reach MCP sessions', async (t) => {
  const srv = await startApp(t)
  const b = await connect(t, srv.url)
  const name = uniq()
  const created = await a2a(srv, 'room.create', { agentName: 'alice', name })
  await b.call('joinRoom', { roomId: name, agentName: 'bob' })
  await a2a(srv, 'message.send', { agentToken: created.data.agentToken }, { text: 'via a2a', contextId: created.data.roomId })
  const n = await b.nextNote((x) => x.data.body === 'via a2a', 1000)
  assert.equal(n.data.from, 'alice')
})

test('without a GET stream, buffered notifications ride the next tool response', async (t) => {
  const srv = await startApp(t)
  const a = await connect(t, srv.url)
  const sid = await rawSession(srv.url) // never opens the GET stream
  const name = uniq()
  await a.call('createRoom', { agentName: 'alice', name })
  await rawTool(srv.url, sid, 'joinRoom', { roomId: name, agentName: 'bob' })
  await a.call('sendMessage', { text: 'buffered' })
  await a.call('listRooms') // let the fan-out run
  const r = await rawTool(srv.url, sid, 'listRooms')
  const note = r.messages.find((m) => m.method === 'notifications/message')
  assert.equal(note?.params.data.body, 'buffered')
  assert.ok(r.messages.indexOf(note) < r.messages.findIndex((m) => 'result' in m), 'notification precedes the result')
  assert.deepEqual(r.result.structuredContent.unread.map((m: any) => m.body), ['buffered'])
})

test('logging/setLevel above info silences room notifications, and is kept', async (t) => {
  const srv = await startApp(t)
  const { a, b } = await aliceAndBob(t, srv.url)
  await b.client.setLoggingLevel('warning')
  await a.call('sendMessage', { text: 'quiet' })
  await b.client.setLoggingLevel('info')
  await a.call('sendMessage', { text: 'loud' })
  await b.nextNote((n) => n.data.body === 'loud', 1000)
  assert.ok(!b.notes.some((n) => n.data.body === 'quiet'))
})

test('GET stream resumes with Last-Event-ID: exactly the missed events, then live ones', async (t) => {
  const srv = await startApp(t)
  const a = await connect(t, srv.url)
  const sid = await rawSession(srv.url)
  const name = uniq()
  await a.call('createRoom', { agentName: 'alice', name })
  await rawTool(srv.url, sid, 'joinRoom', { roomId: name, agentName: 'bob' })
  const open = (lastEventId?: string) =>
    fetch(`${srv.url}/mcp`, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    })
  const first = await open()
  assert.equal(first.status, 200)
  assert.match(first.headers.get('content-type') ?? '', /^text\/event-stream/)
  const s1 = sseReader(first)
  await a.call('sendMessage', { text: 'one' })
  const e1 = await s1.next()
  assert.equal(e1.event, 'message')
  assert.match(e1.id!, /^\d+$/)
  assert.equal(JSON.parse(e1.data).params.data.body, 'one')
  await s1.cancel()

  await a.call('sendMessage', { text: 'two' })
  await a.call('sendMessage', { text: 'three' })
  await a.call('listRooms')
  const s2 = sseReader(await open(e1.id))
  const bodies = async (n: number) => {
    const out: { id: string; body: string }[] = []
    while (out.length < n) {
      const e = await s2.next()
      out.push({ id: e.id!, body: JSON.parse(e.data).params.data.body })
    }
    return out
  }
  const replayed = await bodies(2)
  assert.deepEqual(replayed.map((x) => x.body), ['two', 'three'])
  assert.ok(BigInt(replayed[0].id) > BigInt(e1.id!) && BigInt(replayed[1].id) > BigInt(replayed[0].id))
  await a.call('sendMessage', { text: 'four' })
  assert.deepEqual((await bodies(1)).map((x) => x.body), ['four'])
  await s2.cancel()
})

test('a second GET stream on one session is refused with 409', async (t) => {
  const srv = await startApp(t)
  const sid = await rawSession(srv.url)
  const headers = { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' }
  const first = await fetch(`${srv.url}/mcp`, { headers })
  assert.equal(first.status, 200)
  const second = await fetch(`${srv.url}/mcp`, { headers })
  assert.equal(second.status, 409)
  await second.body?.cancel()
  await first.body?.cancel()
  void MCP_HEADERS
})
