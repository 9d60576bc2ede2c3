// SSRF: agent endpoints that point (directly, by name, by odd notation or by redirect) at loopback, private,
// link-local or metadata addresses never receive a request.
import assert from 'node:assert/strict'
import http from 'node:http'
import { test } from 'node:test'
import { isForbiddenAddress } from '../../lib/net/address.ts'
import { RefusedAddressError, safePost } from '../../lib/push/http.ts'
import { a2a, createRoom, startApp } from '../helpers.ts'
import { Receiver } from '../realtime/receiver.ts'

const FORBIDDEN_IPS = [
  '127.0.0.1', '127.255.255.254', '0.0.0.0', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '169.254.0.1',
  '100.64.0.1', '100.127.255.255', '224.0.0.1', '255.255.255.255', '::', '::1', '0:0:0:0:0:0:0:1', 'fe80::1', 'fe80::1%eth0', 'fc00::1', 'fd00:ec2::254',
  '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:0001', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '::ffff:10.0.0.1', '::127.0.0.1',
  '64:ff9b::7f00:1', '[::1]', 'ff02::1',
]
const PUBLIC_IPS = ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']

test('address classification: every loopback/private/link-local/metadata form is forbidden, public ones are not', () => {
  for (const ip of FORBIDDEN_IPS) assert.equal(isForbiddenAddress(ip), true, ip)
  for (const ip of PUBLIC_IPS) assert.equal(isForbiddenAddress(ip), false, ip)
  for (const junk of ['', 'localhost', 'not-an-ip', '1.2.3', '127.1']) assert.equal(isForbiddenAddress(junk), true, `${junk}: not an IP → refused`)
})

test('join refuses private endpoints in every notation (decimal, octal, hex, short, IPv6, IPv4-mapped, localhost)', async (t) => {
  const rx = await Receiver.start(t)
  const port = new URL(rx.url).port
  const srv = await startApp(t, { allowPrivateEndpoints: false, pushRetryBaseMs: 10, pushRetryMaxMs: 20 })
  const { roomId, token } = await createRoom(srv)
  const hosts = [
    '127.0.0.1', '2130706433', '0x7f000001', '0177.0.0.1', '0x7f.0.0.1', '127.1', '127.0.1', '017700000001', '0', '0.0.0.0',
    '[::1]', '[0:0:0:0:0:0:0:1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::]', '[fe80::1]', '[fd00::1]',
    '169.254.169.254', '2852039166', '[::ffff:169.254.169.254]', '10.0.0.1', '192.168.0.1', '172.16.0.1', '100.64.0.1',
    'localhost', 'LOCALHOST', 'foo.localhost', 'api.localhost',
  ]
  let n = 0
  for (const host of hosts) {
    const endpoint = `http://${host}:${port}/a2a`
    const r = await a2a(srv, 'room.join', { agentName: `a${n++}`, agentEndpoint: endpoint }, { contextId: roomId })
    assert.match(r.text, /^Error: agentEndpoint must/, endpoint)
  }
  for (const bad of ['file:///etc/passwd', 'gopher://127.0.0.1:70/', `http://user:pw@example.com/`, 'javascript:alert(1)', 'http://', '//example.com']) {
    const r = await a2a(srv, 'room.join', { agentName: `a${n++}`, agentEndpoint: bad }, { contextId: roomId })
    assert.match(r.text, /^Error: agentEndpoint/, bad)
  }
  // Names pass the join check (they are resolved at connect time); a name that resolves to loopback gets nothing.
  for (const name of ['localhost.', 'localtest.me', 'ip6-localhost']) {
    await a2a(srv, 'room.join', { agentName: `n${n++}`, agentEndpoint: `http://${name}:${port}/a2a` }, { contextId: roomId })
  }
  await a2a(srv, 'message.send', { agentToken: token }, { text: 'push me' })
  // Let the worker try every endpoint at least once (bounded), then check the receiver heard nothing.
  for (let i = 0; i < 50; i++) {
    const [row] = await srv.app.db.query<{ n: string }>('SELECT count(*) AS n FROM agents WHERE room_id = $1 AND endpoint IS NOT NULL AND push_failures = 0', [roomId])
    if (Number(row.n) === 0) break
    await new Promise((r) => setTimeout(r, 50))
  }
  assert.equal(rx.requests.length, 0, 'no request reached the loopback receiver')
})

test('the push client refuses names that resolve privately (rebinding, mixed answers) and never follows redirects', async (t) => {
  const rx = await Receiver.start(t)
  const port = Number(new URL(rx.url).port)
  const opts = { allowPrivate: false, connectTimeoutMs: 1000, timeoutMs: 2000, maxResponseBytes: 1024 }
  for (const address of FORBIDDEN_IPS.filter((a) => !a.includes('%') && !a.startsWith('['))) {
    const resolve = async () => [{ address, family: address.includes(':') ? 6 : 4 }]
    await assert.rejects(safePost(`http://rebind.example:${port}/a2a`, '{}', { ...opts, resolve }), RefusedAddressError, address)
  }
  // All answers private: refused, whatever the order.
  const several = async () => [{ address: '10.0.0.1', family: 4 }, { address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }]
  await assert.rejects(safePost(`http://multi.example:${port}/`, '{}', { ...opts, resolve: several }), RefusedAddressError)
  // A resolver that answers public first and loopback after (rebinding): each connection checks what it connects to.
  let calls = 0
  const rebinding = async () => (calls++ === 0 ? [{ address: '192.0.2.1', family: 4 }] : [{ address: '127.0.0.1', family: 4 }])
  await assert.rejects(safePost(`http://rebind.example:${port}/`, '{}', { ...opts, resolve: rebinding }))
  await assert.rejects(safePost(`http://rebind.example:${port}/`, '{}', { ...opts, resolve: rebinding }), RefusedAddressError)
  assert.equal(rx.requests.length, 0)

  // Redirects to loopback/metadata are not followed (even where the first hop is allowed).
  const redirector = http.createServer((req, res) => {
    res.writeHead(Number(req.url?.slice(1)) || 302, { location: `${rx.url}/stolen` })
    res.end()
  })
  await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r))
  t.after(() => redirector.close())
  const rport = (redirector.address() as { port: number }).port
  for (const code of [301, 302, 303, 307, 308]) {
    const status = await safePost(`http://127.0.0.1:${rport}/${code}`, '{}', { ...opts, allowPrivate: true })
    assert.equal(status, code, 'the redirect is reported as a non-2xx status, not followed')
  }
  assert.equal(rx.requests.length, 0, 'the redirect target never heard from us')
})

// Issue 13 point 10: IPv6 forms that tunnel or translate to IPv4 (6to4, Teredo, NAT64, mapped, compatible, SIIT), in every notation.
const TUNNELLED_IPS = [
  '2002:7f00:1::', '2002:c0a8:101::1', '2002:a9fe:a9fe::', '2002:808:808::1', '2002::', // 6to4: all of 2002::/16
  '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001::1', '2001:0000:53aa:064c:0000:0000:0000:0001', // Teredo 2001::/32
  '64:ff9b::127.0.0.1', '64:ff9b::7f00:1', '64:FF9B::A9FE:A9FE', '0064:ff9b:0000:0000:0000:0000:0a00:0001', '64:ff9b::192.168.1.1',
  '64:ff9b:1::a00:1', '64:ff9b:1:2:3::808:808', // local-use NAT64 64:ff9b:1::/48: the embedding is not fixed, so all of it
  '::FFFF:127.0.0.1', '0:0:0:0:0:FFFF:7F00:1', '0000:0000:0000:0000:0000:ffff:7f00:0001', '::ffff:0a00:0001', '0::ffff:10.1.2.3',
  '::ffff:0:7f00:1', '::ffff:0:127.0.0.1', '::ffff:0:808:808', // SIIT IPv4-translated ::ffff:0:0:0/96
  '::a00:1', '::7f00:1', '::0:127.0.0.1', '::8.8.8.8', '0:0:0:0:0:0:a9fe:a9fe', // IPv4-compatible ::/96 (deprecated)
  '::ffff:192.88.99.1', '192.88.99.1', // the 6to4 relay anycast
]
const PUBLIC_TRANSLATED = ['64:ff9b::8.8.8.8', '64:ff9b::808:808', '::ffff:808:808', '2001:4860:4860::8888', '2a00:1450::1']

test('IPv6 forms that tunnel to or embed an IPv4 address are refused unless the embedded address is public (6to4, Teredo, NAT64, mapped)', () => {
  for (const ip of TUNNELLED_IPS) assert.equal(isForbiddenAddress(ip), true, ip)
  for (const ip of PUBLIC_TRANSLATED) assert.equal(isForbiddenAddress(ip), false, ip)
})

test('join refuses tunnelled and embedded-IPv4 endpoints in URL notation (the URL parser rewrites them, the check still sees them)', async (t) => {
  const srv = await startApp(t, { allowPrivateEndpoints: false })
  const { roomId } = await createRoom(srv)
  let n = 0
  for (const ip of TUNNELLED_IPS.filter((a) => a.includes(':'))) {
    const endpoint = `http://[${ip}]:8080/a2a`
    const r = await a2a(srv, 'room.join', { agentName: `t${n++}`, agentEndpoint: endpoint }, { contextId: roomId })
    assert.match(r.text, /^Error: agentEndpoint must not point to a private/, endpoint)
  }
  const ok = await a2a(srv, 'room.join', { agentName: 'nat64', agentEndpoint: 'http://[64:ff9b::8.8.8.8]/a2a' }, { contextId: roomId })
  assert.doesNotMatch(ok.text, /^Error/, 'NAT64 of a public address (as DNS64 answers on IPv6-only hosts) is allowed')
})

test('the push client refuses names that resolve to tunnelled or embedded private addresses', async (t) => {
  const rx = await Receiver.start(t)
  const port = Number(new URL(rx.url).port)
  const opts = { allowPrivate: false, connectTimeoutMs: 1000, timeoutMs: 2000, maxResponseBytes: 1024 }
  for (const address of TUNNELLED_IPS) {
    const resolve = async () => [{ address, family: address.includes(':') ? 6 : 4 }]
    await assert.rejects(safePost(`http://tunnel.example:${port}/a2a`, '{}', { ...opts, resolve }), RefusedAddressError, address)
  }
  assert.equal(rx.requests.length, 0)
})
