// Issue 13 point 3: room passwords, agent tokens and room UUIDs (bearer secrets of protected rooms) never reach the
// log, whatever URL form carried them, on every kind of line; the room name stays visible for operators.
import assert from 'node:assert/strict'
import net from 'node:net'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { buildApp } from '../../app.ts'
import { loggerOptions, redactUrl } from '../../plugins/log.ts'
import { git, gitHome } from '../git/helpers.ts'
import { createRoom, tempDir, testConfig, uniq } from '../helpers.ts'

/** The server's real logger (JSON, default level), writing into a string. */
function capture() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk))
      cb()
    },
  })
  return { lines, stream, text: () => lines.join('') }
}

/** One raw HTTP/1.1 request (for request targets fetch would normalise), answered with the status line. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`${head}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`))
    let out = ''
    socket.on('data', (d) => (out += String(d)))
    socket.on('end', () => resolve(out.split('\r\n')[0]))
    socket.on('error', reject)
  })
}

test('no URL form puts a password, token or protected room id into the log; the room name stays', async (t) => {
  const log = capture()
  const config = await testConfig(t, { maxEventLoopDelayMs: 0 })
  const app = await buildApp(config, { logger: { ...loggerOptions('info', false), stream: log.stream } })
  // A handler failing with the URL in its message: the error line must be redacted too.
  app.get('/boom/:ref', async (req) => {
    throw new Error(`could not serve ${req.url}`)
  })
  t.after(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as net.AddressInfo).port
  const base = `http://127.0.0.1:${port}`
  const srv = { app, url: base, config }

  const password = `Pw-${uniq('s3cret')}`
  const other = `Xy-${uniq('tail')}`
  const name = uniq('logroom')
  const { roomId, token } = await createRoom(srv, { name, password })
  const secrets = [password, encodeURIComponent(password), token, roomId, other]

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers, redirect: 'manual' })
  const statuses: Record<string, number> = {}
  const hit = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${base}${path}`, { redirect: 'manual', ...init })
    await res.arrayBuffer().catch(() => undefined)
    statuses[path] = res.status
    return res
  }

  // Web room page: name:password, percent-encoded colons, the password form and its redirect, by UUID.
  await hit(`/${name}:${password}`)
  await hit(`/${name}%3A${password}`)
  await hit(`/${name}%3a${password}?file=README.md`)
  await hit(`/${name}%253A${password}`)
  await hit(`/${name}:${password}/${other}`)
  await hit(`/${name}:wrong-${other}`)
  const form = await get(`/${name}?password=${password}`)
  assert.equal(form.status, 303)
  const location = form.headers.get('location') ?? ''
  assert.ok(location.includes(password), 'the redirect lands on /name:password (the browser keeps it, the log must not)')
  await hit(location)
  await hit(`/${roomId}`)
  await hit(`/${name}?PASSWORD=${password}&file=x`)
  await hit(`/${name}?pass%77ord=${password}`)

  // Git: URL forms with the password, .git suffixes, the UUID, and Basic credentials from the stock client.
  await hit(`/rooms/${name}:${password}/info/refs?service=git-upload-pack`)
  await hit(`/rooms/${name}:${password}.git/info/refs?service=git-upload-pack`)
  await hit(`/rooms/${name}%3A${password}.git/git-upload-pack`, { method: 'POST', headers: { 'content-type': 'application/x-git-upload-pack-request' }, body: '0000' })
  await hit(`/rooms/${roomId}.git/info/refs?service=git-upload-pack`)
  await hit(`/rooms/${roomId.toUpperCase()}/info/refs?service=git-receive-pack`)
  await hit(`/rooms/${name}.git/info/refs?service=git-upload-pack`, { headers: { authorization: `Basic ${Buffer.from(`x:${password}`).toString('base64')}` } })
  const home = gitHome(t)
  const ls = await git(home, tempDir(t), ['ls-remote', `http://x:${encodeURIComponent(password)}@127.0.0.1:${port}/rooms/${name}.git`])
  assert.equal(ls.code, 0, ls.stderr)
  await git(home, tempDir(t), ['ls-remote', `http://alice:${token}@127.0.0.1:${port}/rooms/${name}.git`])

  // SSE: name:password and UUID in the path, the token in the query (any spelling) or as a bearer.
  const sse = async (path: string, headers: Record<string, string> = {}) => {
    const ac = new AbortController()
    const res = await fetch(`${base}${path}`, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal })
    statuses[path] = res.status
    ac.abort()
  }
  await sse(`/api/messages/${name}:${password}/sse?agentToken=${token}`)
  await sse(`/api/messages/${roomId}/sse?lastEventId=0&agentToken=${token}`)
  await sse(`/api/messages/${name}%3A${password}/sse?agenttoken=${token}`)
  await sse(`/api/messages/${roomId}/sse?agent%54oken=${token}`)
  await sse(`/api/messages/${roomId}/sse`, { authorization: `Bearer ${token}` })

  // MCP and A2A with credentials in the query string; token= anywhere.
  await hit(`/mcp?agentToken=${token}`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' })
  await hit(`/a2a?token=${token}&x=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"help"}' })
  await hit(`/docs?token=${token}#frag`)

  // Absolute-form request targets with userinfo, a malformed escape after the password, and a failing handler.
  assert.match(await rawRequest(port, `GET http://x:${password}@127.0.0.1:${port}/${name} HTTP/1.1`), /^HTTP\/1.1 \d{3}/)
  assert.match(await rawRequest(port, `GET /${name}:${password}%zz HTTP/1.1`), /^HTTP\/1.1 400/)
  const boom = await hit(`/boom/${name}:${password}?agentToken=${token}`)
  assert.equal(boom.status, 500)

  await app.close()
  const out = log.text()
  const entries = log.lines.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l))
  assert.ok(entries.filter((e) => e.msg === 'request completed').length >= 25, 'the requests left their lines')
  assert.ok(entries.some((e) => e.level >= 50 && e.err), 'the failing handler left an error line with its error')
  for (const s of secrets) assert.equal(out.includes(s), false, `the log must not contain ${s}`)
  assert.equal(out.toLowerCase().includes(roomId.toLowerCase()), false, 'nor the room id in any case')
  assert.ok(out.includes(name), 'the room name is still logged')
  assert.ok(out.includes('[redacted]'))
  assert.ok(out.includes('/info/refs'), 'the git route after a redacted room stays readable')
})

test('redactUrl: each accepted URL form keeps its shape and loses its secret', () => {
  const cases: Array<[string, string]> = [
    ['/room:pw', '/room:[redacted]'],
    ['/room%3Apw?file=a.md', '/room:[redacted]?file=a.md'],
    ['/room%253apw.git', '/room:[redacted]'],
    ['/rooms/r%3Ap%2Fw/info/refs', '/rooms/r:[redacted]/info/refs'],
    ['/rooms/room:pw.git/info/refs?service=git-upload-pack', '/rooms/room:[redacted]/info/refs?service=git-upload-pack'],
    ['/rooms/room:pw/git-receive-pack', '/rooms/room:[redacted]/git-receive-pack'],
    ['/api/messages/room:pw/sse?agentToken=t&lastEventId=3', '/api/messages/room:[redacted]/sse?agentToken=[redacted]&lastEventId=3'],
    ['/room:pa/ss/more', '/room:[redacted]'],
    ['/room?password=pw&file=x', '/room?password=[redacted]&file=x'],
    ['/room?pass%77ord=pw', '/room?pass%77ord=[redacted]'],
    ['/rooms/1b4e28ba-2fa1-41d2-883f-0016d3cca427.git/info/refs', '/rooms/1b4e28ba-[redacted].git/info/refs'],
    ['http://u:pw@host:3000/room?token=t', 'http://[redacted]@host:3000/room?token=[redacted]'],
    ['/docs', '/docs'],
    ['/', '/'],
    ['', ''],
  ]
  for (const [input, want] of cases) assert.equal(redactUrl(input), want, input)
})

test('other log lines: URLs in messages and fields, credential fields, and errors carrying requests are redacted', async (t) => {
  const log = capture()
  const config = await testConfig(t, { maxEventLoopDelayMs: 0 })
  const app = await buildApp(config, { logger: { ...loggerOptions('info', false), stream: log.stream } })
  t.after(() => app.close())
  await app.ready()
  const secret = uniq('Sekr1t')
  app.log.warn({ endpoint: `http://agent.example/hook?token=${secret}`, agentToken: secret }, `push to /rooms/r:${secret}/info/refs failed`)
  app.log.info(`Route GET:/r%3A${secret} not found`)
  // Credential fields nested in logged objects (what pino's path redaction covered before).
  app.log.warn({ params: { agentToken: secret, inner: { password: secret } }, headers: { authorization: `Bearer ${secret}`, 'mcp-session-id': secret }, list: [{ token: secret }] }, 'nested')
  const err = Object.assign(new Error(`bad url /r:${secret}`), { headers: { authorization: `Basic ${secret}` }, rawPacket: Buffer.from(secret) })
  app.log.error({ err }, 'request failed')
  app.log.error(new Error(`nested`, { cause: new Error(`at http://u:${secret}@h/x`) }))
  await app.close()
  const out = log.text()
  assert.equal(out.includes(secret), false, out)
  assert.ok(out.includes('agent.example/hook?token=[redacted]'))
  assert.ok(out.includes('push to /rooms/r:[redacted]/info/refs failed'))
  assert.ok(out.includes('"inner":{"password":"[redacted]"}'), 'nested fields stay, their secrets go')
})
