// The room page's file viewer learns a blob's size from its object header and reads at most what it shows:
// a 40 MiB file, stored whole in a pack, as a delta, or as a loose object, answers at once as "too large to show"
// and the server's peak memory barely moves. The server runs in its own process, restarted after the pushes so
// that its peak RSS (VmHWM) starts low.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { DATABASE_URL, freshDataDir, tempDir } from '../helpers.ts'
import { call, spawnServer, type Proc } from '../spawn.ts'
import { commitFiles, gitHome, gitOk } from '../git/helpers.ts'
import { pkt } from '../git/craft.ts'

const BIG = 40 * 2 ** 20

/** Peak resident memory of the server process, in MB. */
const peakMb = (p: Proc) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

/** Text lines of random hex: compresses about 2:1, so the pack stays far below the push limits. */
function hexText(bytes: number): Buffer {
  const out = Buffer.from(randomBytes(bytes / 2).toString('hex'))
  for (let i = 63; i < out.length; i += 64) out[i] = 0x0a
  return out
}

async function page(url: string, room: string, file?: string) {
  const started = Date.now()
  const res = await fetch(`${url}/${room}${file ? `?file=${encodeURIComponent(file)}` : ''}`, {
    headers: { accept: 'text/html', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) viewer-test' },
    signal: AbortSignal.timeout(20_000),
  })
  return { status: res.status, html: await res.text(), ms: Date.now() - started }
}

test('the viewer checks a big blob’s size from its header: packed, deltified and loose', { timeout: 300_000 }, async (t) => {
  const dataDir = await freshDataDir(t)
  const env = { DATA_DIR: dataDir, DATABASE_URL: DATABASE_URL ?? '', MAX_EVENT_LOOP_DELAY_MS: '0' }
  let srv = await spawnServer(env)
  t.after(() => srv.kill9())
  const home = gitHome(t)
  const work = tempDir(t, 'convene-viewer-')

  // Room A: pushed through the server (stored as a pack; big2.txt becomes a delta of big.txt or the reverse).
  const a = await call(srv.url, 'room.create', { agentName: 'alice', name: `viewer-a-${Date.now().toString(36)}` })
  const big = hexText(BIG)
  const big2 = Buffer.concat([big.subarray(0, BIG - 64), Buffer.from(`${'z'.repeat(63)}\n`)])
  const binary = randomBytes(8 * 2 ** 20)
  binary[0] = 0
  const wa = path.join(work, 'a')
  await gitOk(home, work, ['init', '-q', '-b', 'main', wa])
  const files = { 'small.txt': 'hello viewer\n', 'logo.bin': Buffer.from([0x89, 0x50, 0, 13]), 'mid.txt': 'y'.repeat(300 * 1024) }
  await commitFiles(home, wa, { ...files, 'big.txt': big, 'big2.txt': big2, 'blob.bin': binary }, 'big files')
  // A lightweight tag may point at a blob: advertising it must not read the blob.
  await gitOk(home, wa, ['tag', 'bigblob', (await gitOk(home, wa, ['rev-parse', 'HEAD:big.txt'])).trim()])
  await gitOk(home, wa, ['push', '-q', `${srv.url}/rooms/${a.data.name}.git`, 'main', 'bigblob'])

  // Room B: written by stock git straight into the room's repository, so its few objects are loose.
  const b = await call(srv.url, 'room.create', { agentName: 'alice', name: `viewer-b-${Date.now().toString(36)}` })
  const repoB = path.join(dataDir, 'repos', `${b.data.roomId}.git`)
  await gitOk(home, work, ['init', '-q', '--bare', '-b', 'main', repoB])
  const wb = path.join(work, 'b')
  await gitOk(home, work, ['init', '-q', '-b', 'main', wb])
  await commitFiles(home, wb, { 'big.txt': big, 'note.txt': 'loose\n' }, 'loose big file')
  await gitOk(home, wb, ['push', '-q', repoB, 'main'])
  assert.equal(readdirSync(path.join(repoB, 'objects/pack')).length, 0, 'room B keeps loose objects')

  await srv.stop()
  srv = await spawnServer(env)
  // Warm up: page rendering, both repositories opened, small files shown.
  const small = await page(srv.url, a.data.name, 'small.txt')
  assert.equal(small.status, 200)
  assert.match(small.html, /hello viewer/)
  // Files under the limit are read as before; one over it is too large, a small binary is binary.
  assert.match((await page(srv.url, a.data.name, 'logo.bin')).html, /Binary file \(4 bytes\)/)
  assert.match((await page(srv.url, a.data.name, 'mid.txt')).html, /File too large to show \(307200 bytes\)/)
  assert.match((await page(srv.url, a.data.name, 'nope/missing.txt')).html, /No file/)
  const note = await page(srv.url, b.data.name, 'note.txt')
  assert.match(note.html, />loose\n</)

  const before = peakMb(srv)
  for (const [room, file, expect] of [
    [a.data.name, 'big.txt', `File too large to show (${BIG} bytes)`],
    [a.data.name, 'big2.txt', `File too large to show (${BIG} bytes)`],
    [a.data.name, 'blob.bin', `Binary file (${binary.length} bytes)`],
    [b.data.name, 'big.txt', `File too large to show (${BIG} bytes)`],
  ] as const) {
    const r = await page(srv.url, room, file)
    assert.equal(r.status, 200, `${file}: HTTP ${r.status}`)
    assert.ok(r.html.includes(expect), `${room}/${file}: ${r.html.match(/<section id="file"[\s\S]*?<\/section>/)?.[0]}`)
    assert.ok(r.ms < 2000, `${room}/${file} answered in ${r.ms} ms`)
  }
  const v0 = await fetch(`${srv.url}/rooms/${a.data.name}/info/refs?service=git-upload-pack`).then((r) => r.text())
  const v2 = await fetch(`${srv.url}/rooms/${a.data.name}/git-upload-pack`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-git-upload-pack-request', 'git-protocol': 'version=2' },
    body: `${pkt('command=ls-refs\n')}0001${pkt('peel\n')}0000`,
  }).then((r) => r.text())
  assert.match(v0, /refs\/tags\/bigblob/)
  assert.match(v2, /refs\/tags\/bigblob/)
  const grown = peakMb(srv) - before
  t.diagnostic(`peak RSS grew ${grown.toFixed(1)} MB while showing four big files and advertising a tag of one`)
  assert.ok(grown < 16, `peak RSS grew ${grown.toFixed(1)} MB`)
})
