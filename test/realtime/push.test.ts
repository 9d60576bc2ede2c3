import assert from 'node:assert/strict'
import http from 'node:http'
import { test } from 'node:test'
import { RefusedAddressError, safePost } from '../../lib/push/http.ts'
import { a2a, createRoom, joinRoom, startApp, type TestServer } from '../helpers.ts'
import { Receiver } from './receiver.ts'

const fastRetry = { pushRetryBaseMs: 20, pushRetryMaxMs: 200 }

async function send(srv: TestServer, agentToken: string, text: string, to?: string) {
  const r = await srv.app.rooms.send({ agentToken, text, to })
  await new Promise((resolve) => setImmediate(resolve))
  return r
}

const bodies = (rs: any[]) => rs.map((b) => b.params.message.parts[0].text)

test('push POSTs every event the agent may see, in order, as A2A SendMessage', async (t) => {
  const rx = await Receiver.start(t)
  const srv = await startApp(t, fastRetry)
  const { roomId, token: alice } = await createRoom(srv)
  const bob = await joinRoom(srv, roomId, 'bob', { agentEndpoint: rx.url })
  await joinRoom(srv, roomId, 'carol')
  const sent = [await send(srv, alice, 'one'), await send(srv, alice, 'not for bob', 'carol'), await send(srv, alice, 'for bob', 'bob')]
  await send(srv, bob, 'own message')
  await send(srv, alice, 'last')
  await rx.untilDelivered(4)
  assert.deepEqual(bodies(rx.delivered), ['carol joined the room', 'one', 'for bob', 'last'])
  const first = rx.delivered[1]
  assert.equal(first.method, 'SendMessage')
  assert.equal(rx.requests[0].headers['a2a-version'], '1.0')
  const meta = first.params.message.metadata
  assert.deepEqual(
    { from: meta.from, to: meta.to, messageId: meta.messageId, seq: meta.seq, roomId: meta.roomId },
    { from: 'alice', to: null, messageId: sent[0].data.id, seq: sent[0].data.seq, roomId },
  )
  assert.equal(first.params.message.contextId, roomId)
  assert.equal(rx.delivered[2].params.message.metadata.to, 'bob')
  const seqs = rx.delivered.map((b) => b.params.message.metadata.seq)
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b))
  // what was pushed with a 2xx counts as read
  const unread = await a2a(srv, 'message.unread', { agentToken: bob })
  assert.deepEqual(unread.data.messages, [])
})

test('push retries with backoff: an endpoint failing three times then recovering gets everything once, in order', async (t) => {
  const rx = await Receiver.start(t)
  rx.answer = (n) => (n < 3 ? 500 : 200)
  const srv = await startApp(t, fastRetry)
  const { roomId, token: alice } = await createRoom(srv)
  await joinRoom(srv, roomId, 'bob', { agentEndpoint: rx.url })
  for (const x of ['a', 'b', 'c', 'd']) await send(srv, alice, x)
  await rx.untilDelivered(4)
  assert.deepEqual(bodies(rx.delivered), ['a', 'b', 'c', 'd'])
  assert.equal(rx.requests.length, 7)
  assert.deepEqual(bodies(rx.requests.slice(0, 4).map((r) => r.body)), ['a', 'a', 'a', 'a'])
})

test('push does not follow redirects', async (t) => {
  const target = await Receiver.start(t)
  const rx = await Receiver.start(t)
  rx.answer = (n) => (n < 2 ? { status: 302, headers: { location: target.url } } : 200)
  const srv = await startApp(t, fastRetry)
  const { roomId, token: alice } = await createRoom(srv)
  await joinRoom(srv, roomId, 'bob', { agentEndpoint: rx.url })
  await send(srv, alice, 'hello')
  await rx.untilDelivered(1)
  assert.deepEqual(bodies(rx.delivered), ['hello'])
  assert.equal(rx.requests.length, 3, 'the 302s counted as failures and were retried at the same endpoint')
  assert.equal(target.requests.length, 0)
})

test('push refuses private addresses without ALLOW_PRIVATE_ENDPOINTS, at join and at connect time', async (t) => {
  const rx = await Receiver.start(t)
  const srv = await startApp(t, { ...fastRetry, allowPrivateEndpoints: false })
  const { roomId, token: alice } = await createRoom(srv)
  const refused = await a2a(srv, 'room.join', { agentName: 'bob', agentEndpoint: rx.url }, { contextId: roomId })
  assert.match(refused.text, /^Error: agentEndpoint must not point to a private/)
  // An endpoint that got past the join check (a name that later resolves privately) is refused on connect.
  const bob = await joinRoom(srv, roomId, 'bob')
  const agent = (await srv.app.store.agentByToken((await import('../../lib/ids.ts')).hashToken(bob).toString('hex')))!.agent
  await srv.app.db.query('UPDATE agents SET endpoint = $2 WHERE id = $1', [agent.id, rx.url])
  await send(srv, alice, 'secret')
  await srv.app.push.claim('key', agent.id)
  const deadline = Date.now() + 5000
  let failures = 0
  while (failures === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20))
    const [row] = await srv.app.db.query<{ push_failures: number }>('SELECT push_failures FROM agents WHERE id = $1', [agent.id])
    failures = row.push_failures
  }
  assert.ok(failures > 0, 'the delivery failed')
  assert.equal(rx.requests.length, 0)
})

test('the push client checks the resolved address (DNS rebinding), IPv4-mapped forms included', async (t) => {
  const rx = await Receiver.start(t)
  const port = new URL(rx.url).port
  const opts = { allowPrivate: false, connectTimeoutMs: 1000, timeoutMs: 2000, maxResponseBytes: 1024 }
  for (const address of ['127.0.0.1', '::ffff:127.0.0.1', '169.254.169.254', '10.1.2.3', '::1', 'fe80::1', '100.64.0.1']) {
    const resolve = async () => [{ address, family: address.includes(':') ? 6 : 4 }]
    await assert.rejects(safePost(`http://rebind.example:${port}/a2a`, '{}', { ...opts, resolve }), RefusedAddressError, address)
  }
  await assert.rejects(safePost(`http://127.0.0.1:${port}/a2a`, '{}', opts), RefusedAddressError)
  await assert.rejects(safePost(`http://[::ffff:7f00:1]:${port}/a2a`, '{}', opts), RefusedAddressError)
  await assert.rejects(safePost(`ftp://example.com/`, '{}', opts), /http or https/)
  assert.equal(rx.requests.length, 0)
  // the same name is fine when private addresses are allowed, and then it really connects to what was resolved
  const resolve = async () => [{ address: '127.0.0.1', family: 4 }]
  assert.equal(await safePost(`http://rebind.example:${port}/a2a`, '{}', { ...opts, allowPrivate: true, resolve }), 200)
  assert.equal(rx.requests.length, 1)
})

test('the push client times out and caps the response it reads', async (t) => {
  const server = http.createServer((req, res) => {
    if (req.url === '/slow') return // never answers
    res.writeHead(200)
    const chunk = Buffer.alloc(64 * 1024, 120)
    const pump = () => {
      while (res.write(chunk));
    }
    res.on('drain', pump)
    pump()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const port = (server.address() as { port: number }).port
  const opts = { allowPrivate: true, connectTimeoutMs: 1000, timeoutMs: 300, maxResponseBytes: 100_000 }
  const t0 = Date.now()
  await assert.rejects(safePost(`http://127.0.0.1:${port}/slow`, '{}', opts), /within 300 ms/)
  assert.ok(Date.now() - t0 < 2000)
  assert.equal(await safePost(`http://127.0.0.1:${port}/endless`, '{}', { ...opts, timeoutMs: 5000 }), 200)
})
