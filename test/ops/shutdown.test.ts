import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'node:test'
import { SseClient } from '../realtime/sse-client.ts'
import { DATABASE_URL, freshDataDir } from '../helpers.ts'

const STREAMS = 500

async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], {
    env: { ...process.env, PORT: '0', DATA_DIR: dataDir, DATABASE_URL: DATABASE_URL ?? '', LOG_LEVEL: 'info', RATE_LIMIT_MAX: '0', MAX_ROOMS_PER_IP_PER_HOUR: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (b) => {
      out += b
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) resolve(m[1])
    })
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)))
  })
  child.stdout!.resume()
  return { child, url }
}

async function call(url: string, action: string, metadata: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const res = await fetch(`${url}/a2a`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { role: 'user', parts: [{ text: (extra.text as string) ?? '' }], metadata: { action, ...metadata }, ...extra } } }),
  })
  return (await res.json()).result.parts[1].data
}

test(`SIGTERM with ${STREAMS} open SSE streams and an MCP session exits 0 within 5 s; clients resume with nothing lost`, async (t) => {
  const dataDir = await freshDataDir(t)
  const first = await startServer(dataDir)
  t.after(() => first.child.kill('SIGKILL'))
  const room = await call(first.url, 'room.create', { agentName: 'alice' }, { text: `shutdown-${Date.now()}` })
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
  for (let i = 0; i < 10; i++) sent.push((await call(first.url, 'message.send', { agentToken: room.agentToken }, { text: `before ${i}`, contextId: room.roomId })).seq)
  const started = Date.now()
  first.child.kill('SIGTERM')
  const [code] = await once(first.child, 'exit')
  const took = Date.now() - started
  assert.equal(code, 0)
  assert.ok(took < 5000, `exited in ${took} ms`)
  await Promise.all(streams.map((s) => s.untilClosed(5000)))
  await getStream.untilClosed(5000)

  // Restart on the same store: a sample of clients resumes from the last id it saw and gets exactly the rest.
  const second = await startServer(dataDir)
  t.after(() => second.child.kill('SIGKILL'))
  for (let i = 0; i < 5; i++) sent.push((await call(second.url, 'message.send', { agentToken: room.agentToken }, { text: `after ${i}`, contextId: room.roomId })).seq)
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
