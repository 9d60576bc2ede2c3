import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { SseClient } from '../realtime/sse-client.ts'
import { DATABASE_URL, freshDataDir } from '../helpers.ts'
import { call, spawnServer } from '../spawn.ts'

const STREAMS = 500

// One agent holds all the streams here: lift the per-agent cap.
const env = (dataDir: string) => ({ DATA_DIR: dataDir, DATABASE_URL: DATABASE_URL ?? '', MAX_SSE_STREAMS_PER_AGENT: '0' })
const send = async (url: string, action: string, metadata: Record<string, unknown>, opts: { text?: string; contextId?: string } = {}) =>
  (await call(url, action, metadata, opts)).data

test(`SIGTERM with ${STREAMS} open SSE streams and an MCP session exits 0 within 5 s; clients resume with nothing lost`, async (t) => {
  const dataDir = await freshDataDir(t)
  const first = await spawnServer(env(dataDir))
  t.after(() => first.child.kill('SIGKILL'))
  const room = await send(first.url, 'room.create', { agentName: 'alice' }, { text: `shutdown-${Date.now()}` })
  const streams = await Promise.all(
    Array.from({ length: STREAMS }, () => SseClient.open(`${first.url}/api/messages/${room.roomId}/sse?agentToken=${room.agentToken}`)),
  )
  t.after(() => streams.forEach((s) => s.close()))
  assert.ok(streams.every((s) => s.status === 200))

  const mcp = await fetch(`${first.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  })
  const sessionId = mcp.headers.get('mcp-session-id')!
  await mcp.arrayBuffer()
  const getStream = await SseClient.open(`${first.url}/mcp`, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' })
  assert.equal(getStream.status, 200)

  const sent: number[] = []
  for (let i = 0; i < 10; i++) sent.push((await send(first.url, 'message.send', { agentToken: room.agentToken }, { text: `before ${i}`, contextId: room.roomId })).seq)
  const started = Date.now()
  first.child.kill('SIGTERM')
  const [code] = await once(first.child, 'exit')
  const took = Date.now() - started
  assert.equal(code, 0)
  assert.ok(took < 5000, `exited in ${took} ms`)
  await Promise.all(streams.map((s) => s.untilClosed(5000)))
  await getStream.untilClosed(5000)

  // Restart on the same store: a sample of clients resumes from the last id it saw and gets exactly the rest.
  const second = await spawnServer(env(dataDir))
  t.after(() => second.child.kill('SIGKILL'))
  for (let i = 0; i < 5; i++) sent.push((await send(second.url, 'message.send', { agentToken: room.agentToken }, { text: `after ${i}`, contextId: room.roomId })).seq)
  for (const s of streams.slice(0, 10)) {
    const seen = s.messages.map((m) => m.seq)
    const last = seen.at(-1) ?? 0
    const resumed = await SseClient.open(`${second.url}/api/messages/${room.roomId}/sse?agentToken=${room.agentToken}`, { 'last-event-id': String(last) })
    const expected = sent.filter((q) => q > last)
    await resumed.untilMessages(expected.length)
    assert.deepEqual([...seen, ...resumed.messages.map((m) => m.seq)].filter((q) => sent.includes(q)), sent)
    resumed.close()
  }
  second.child.kill('SIGTERM')
  assert.equal((await once(second.child, 'exit'))[0], 0)
})
