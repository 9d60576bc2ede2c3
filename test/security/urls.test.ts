// Hostile room references in URLs (git, SSE, web): a 4xx, never a 5xx.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createRoom } from '../helpers.ts'
import { fullApp } from './server.ts'

test('regression: NUL and other odd bytes in URL room references answer 4xx, not 500', async (t) => {
  const srv = await fullApp(t)
  const room = await createRoom(srv, { password: 'pw' })
  const refs = ['a%00b', '%00', 'a%00b:pw', `${room.name}%00`, `${room.name}:pw%00`, '%C0%80', '%EF%BF%BF', '..%2F..%2Fetc', 'a%0d%0aSet-Cookie:x', '%F0%9F%92%A9', '__proto__', 'constructor']
  const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120 Safari/537.36', accept: 'text/html' }
  for (const ref of refs) {
    const urls = [
      [`/rooms/${ref}/info/refs?service=git-upload-pack`, {}],
      [`/rooms/${ref}.git/info/refs?service=git-receive-pack`, { authorization: `Basic ${Buffer.from('x:pw\u0000').toString('base64')}` }],
      // (a reference to the room itself would open a stream that never ends: leave those out)
      ...(ref.startsWith(room.name) ? [] : ([[`/api/messages/${ref}/sse?agentToken=${room.token}`, {}], [`/api/rooms/${ref}/stream`, {}]] as const)),
      [`/api/messages/${room.roomId}/sse?agentToken=${ref}`, {}],
      [`/${ref}`, browser],
      [`/${ref}`, { accept: 'text/plain' }],
    ] as const
    for (const [url, headers] of urls) {
      const r = await srv.app.inject({ method: 'GET', url, headers })
      assert.ok(r.statusCode < 500, `${url}: ${r.statusCode} ${r.body.slice(0, 200)}`)
      assert.ok(!r.body.includes(room.roomId) || url.includes(room.roomId), `${url} leaks the protected room's UUID`)
    }
  }
  const post = await srv.app.inject({ method: 'POST', url: '/rooms/a%00b/git-upload-pack', headers: { 'content-type': 'application/x-git-upload-pack-request' }, payload: '0000' })
  assert.ok(post.statusCode < 500)
})

test('a query parameter given twice is a 400 naming it, never a 500 and never a stream', async (t) => {
  const srv = await fullApp(t)
  const room = await createRoom(srv)
  for (const url of [
    `/api/messages/${room.roomId}/sse?agentToken=${room.token}&agentToken=${room.token}`,
    `/api/messages/${room.roomId}/sse?agentToken=${room.token}&lastEventId=1&lastEventId=2`,
    `/api/rooms/${room.name}/stream?password=a&password=b`,
  ]) {
    const r = await srv.app.inject({ method: 'GET', url })
    assert.equal(r.statusCode, 400, `${url}: ${r.statusCode} ${r.body.slice(0, 200)}`)
    assert.match(r.body, /agentToken|lastEventId|password/, `${url}: the error names the parameter`)
    assert.doesNotMatch(r.body, /\bat .*\.ts:\d+/, 'no stack trace')
  }
})
