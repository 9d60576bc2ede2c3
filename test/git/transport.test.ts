import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { tempDir } from '../helpers.ts'
import { commitFiles, fsck, gitHome, gitOk, gitRoom, gitServer, gitWorkspace, git } from './helpers.ts'

const pktLine = (s: string) => (s.length + 4).toString(16).padStart(4, '0') + s

test('a 20 MB binary: chunked push after the 0000 probe, clone back intact', async (t) => {
  const { s, room, home, work, a } = await gitWorkspace(t, 'main')
  const blob = randomBytes(20 * 1024 * 1024)
  await commitFiles(home, a, { 'big.bin': blob }, 'big file')
  const push = await git(home, a, ['push', room.url, 'main'], { GIT_TRACE_CURL: '1', GIT_TRACE_CURL_NO_DATA: '1' })
  assert.equal(push.code, 0, push.stderr.slice(-2000))
  assert.match(push.stderr, /Transfer-Encoding: chunked/i)
  await fsck(home, room.dir)
  await gitOk(home, work, ['clone', '-q', room.url, 'b'])
  const got = readFileSync(path.join(work, 'b', 'big.bin'))
  assert.equal(createHash('sha1').update(got).digest('hex'), createHash('sha1').update(blob).digest('hex'))
})

test('gzip request bodies: a fetch with many haves, and a raw gzipped v2 ls-refs', async (t) => {
  const { s, room, home, work, a } = await gitWorkspace(t, 'main')
  await commitFiles(home, a, { 'x.txt': 'x\n' }, 'base')
  await gitOk(home, a, ['push', '-q', room.url, 'main'])
  await gitOk(home, work, ['clone', '-q', room.url, 'b'])
  const b = path.join(work, 'b')
  for (let i = 0; i < 60; i++) await gitOk(home, b, ['commit', '-q', '--allow-empty', '-m', `local ${i}`])
  await commitFiles(home, a, { 'y.txt': 'y\n' }, 'upstream')
  await gitOk(home, a, ['push', '-q', room.url, 'main'])
  const r = await git(home, b, ['-c', 'protocol.version=0', 'fetch', 'origin'], { GIT_TRACE_CURL: '1', GIT_TRACE_CURL_NO_DATA: '1' })
  assert.equal(r.code, 0, r.stderr.slice(-2000))
  assert.match(r.stderr, /Content-Encoding: gzip/i)
  await gitOk(home, b, ['merge', '-q', '--no-edit', 'origin/main'])
  await gitOk(home, b, ['fsck', '--strict', '--no-progress'])

  const body = gzipSync(Buffer.from(`${pktLine('command=ls-refs\n')}0001${pktLine('symrefs\n')}${pktLine('ref-prefix HEAD\n')}0000`))
  const res = await fetch(`${s.url}/rooms/${room.name}/git-upload-pack`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip', 'git-protocol': 'version=2' },
    body,
  })
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-type'), 'application/x-git-upload-pack-result')
  assert.match(await res.text(), /HEAD symref-target:refs\/heads\/main/)
  await fsck(home, room.dir)
})

test('advertisement and probe: exact content types, no-cache, v2 capabilities, empty 0000 probe, UUID and .git URLs', async (t) => {
  const s = await gitServer(t)
  const room = await gitRoom(s)
  for (const ref of [room.name, `${room.name}.git`, room.roomId]) {
    const res = await fetch(`${s.url}/rooms/${ref}/info/refs?service=git-receive-pack`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/x-git-receive-pack-advertisement')
    assert.match(res.headers.get('cache-control') ?? '', /no-cache/)
    const text = await res.text()
    assert.ok(text.startsWith('001f# service=git-receive-pack\n0000'), text)
    assert.match(text, /0{40} capabilities\^\{\}\0.*report-status.*delete-refs.*no-thin/)
  }
  const v2 = await fetch(`${s.url}/rooms/${room.name}/info/refs?service=git-upload-pack`, { headers: { 'git-protocol': 'version=2' } })
  const v2text = await v2.text()
  assert.match(v2text, /version 2\n/)
  assert.match(v2text, /ls-refs=unborn/)
  const v0 = await (await fetch(`${s.url}/rooms/${room.name}/info/refs?service=git-upload-pack`)).text()
  assert.match(v0, /multi_ack_detailed/)
  assert.doesNotMatch(v0, /multi_ack |no-done/)
  const probe = await fetch(`${s.url}/rooms/${room.name}/git-receive-pack`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-git-receive-pack-request' },
    body: '0000',
  })
  assert.equal(probe.status, 200)
  assert.equal(probe.headers.get('content-type'), 'application/x-git-receive-pack-result')
  assert.equal((await probe.arrayBuffer()).byteLength, 0)
  const dumb = await fetch(`${s.url}/rooms/${room.name}/info/refs`)
  assert.equal(dumb.status, 403)
  const missing = await fetch(`${s.url}/rooms/no-such-room-xyz/info/refs?service=git-upload-pack`)
  assert.equal(missing.status, 404)
})

test('password rooms: 401 with WWW-Authenticate, 403 on a wrong password, clone and push with the right one', async (t) => {
  const s = await gitServer(t)
  const room = await gitRoom(s, { password: 's3cret' })
  const home = gitHome(t)
  const work = tempDir(t)
  const bare = `${s.url}/rooms/${room.name}.git`
  const none = await fetch(`${bare}/info/refs?service=git-upload-pack`)
  assert.equal(none.status, 401)
  assert.equal(none.headers.get('www-authenticate'), 'Basic realm="Convene"')
  const wrong = await fetch(`${bare}/info/refs?service=git-upload-pack`, { headers: { authorization: `Basic ${Buffer.from('x:nope').toString('base64')}` } })
  assert.equal(wrong.status, 403)
  const noAuth = await git(home, work, ['clone', '-q', bare, 'fail'])
  assert.notEqual(noAuth.code, 0)
  await gitOk(home, work, ['clone', '-q', room.url, 'a'])
  const a = path.join(work, 'a')
  await commitFiles(home, a, { 'secret.txt': 'hidden\n' }, 'private')
  await gitOk(home, a, ['push', '-q', 'origin', 'main'])
  // The room UUID is a bearer secret: it works without the password.
  await gitOk(home, work, ['clone', '-q', `${s.url}/rooms/${room.roomId}`, 'byid'])
  await fsck(home, room.dir)
})

test('a corrupt gzip body is a 400, not a server error', async (t) => {
  const s = await gitServer(t)
  const room = await gitRoom(s)
  const res = await fetch(`${s.url}/rooms/${room.name}/git-upload-pack`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip' },
    body: Buffer.from('definitely not gzip'),
  })
  assert.equal(res.status, 400)
})
