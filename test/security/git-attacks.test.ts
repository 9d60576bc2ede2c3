// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
// Attack suite for the git endpoints: hostile pkt-lines, ref names, deepen arguments, truncated and oversized packs
// and delta bombs, sent to a server in its own process. After every case the server must answer /healthz within
// 1 s, and the room's repository must pass `git fsck --strict` with its refs unchanged.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { rmSync, symlinkSync } from 'node:fs'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { freshDataDir, tempDir } from '../helpers.ts'
import { call, spawnServer, type Proc } from '../spawn.ts'
import { commitFiles, fsck, gitHome, gitOk } from '../git/helpers.ts'
import { amplifyingDelta, gitPost, oidOf, pack, pkt, receiveRequest, uploadRequest, ZERO } from '../git/craft.ts'

const MAX_PUSH = 4 * 1024 * 1024
let server: Proc
let room: string
let repoDir: string
let home: string
let main: string
let refsBefore: string

const refs = () => gitOk(home, repoDir, ['--git-dir', repoDir, 'for-each-ref', '--format=%(objectname) %(refname)'])

before(async () => {
  const dataDir = await freshDataDir(null)
  server = await spawnServer({ DATA_DIR: dataDir, GIT_MAX_PUSH_BYTES: String(MAX_PUSH) })
  const created = await call(server.url, 'room.create', { agentName: 'alice' }, { text: `attacks-${randomBytes(4).toString('hex')}` })
  room = created.data.name
  repoDir = path.join(dataDir, 'repos', `${created.data.roomId}.git`)
  home = gitHome(null as never)
  const work = path.join(tempDir(null), 'w')
  await gitOk(home, path.dirname(work), ['init', '-q', '-b', 'main', work])
  await commitFiles(home, work, { 'a.txt': 'one\n' }, 'one')
  main = await commitFiles(home, work, { 'b.txt': 'two\n', 'dir/c.txt': 'three\n' }, 'two')
  await gitOk(home, work, ['tag', '-a', '-m', 'v1', 'v1'])
  await gitOk(home, work, ['push', '-q', `${server.url}/rooms/${room}.git`, 'main', 'v1'])
  refsBefore = await refs()
})

after(async () => {
  await server?.stop()
})

/** The server still answers at once, and the repository is intact and unchanged. */
async function intact(name: string) {
  const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(1000) }).catch((err: Error) => err)
  assert.ok(!(res instanceof Error), `${name}: /healthz did not answer within 1 s (${res instanceof Error ? res.message : ''})`)
  assert.equal(res.status, 200, `${name}: /healthz`)
  await fsck(home, repoDir)
  assert.equal(await refs(), refsBefore, `${name}: refs changed`)
}

/** Sends one hostile request; it must be answered (no hang, no 5xx) within the case's time. */
async function attack(name: string, send: (signal: AbortSignal) => Promise<{ status: number; text: string }>, expect?: RegExp) {
  const r = await send(AbortSignal.timeout(15_000)).catch((err: Error) => err)
  assert.ok(!(r instanceof Error), `${name}: no answer (${r instanceof Error ? r.message : ''})`)
  assert.ok(r.status < 500, `${name}: HTTP ${r.status} ${r.text.slice(0, 200)}`)
  if (expect) assert.match(r.text, expect, `${name}: ${r.text.slice(0, 300)}`)
  await intact(name)
}

const upload = (body: string | Buffer, v2 = false) => (signal: AbortSignal) => uploadRequest(server.url, room, body, { v2, signal })
const receive = (commands: string[], packBytes?: Buffer, headers?: Record<string, string>) => (signal: AbortSignal) =>
  receiveRequest(server.url, room, commands, packBytes, { signal, headers })
const v2 = (command: string, args: string[]) => upload(`${pkt(`command=${command}\n`)}0001${args.map((a) => pkt(`${a}\n`)).join('')}0000`, true)
const want = () => pkt(`want ${main} side-band-64k ofs-delta\n`)

test('hostile pkt-lines to upload-pack', async () => {
  for (const [name, body] of [
    ['length not hex', 'zzzz'],
    ['length below 4', '0002'],
    ['length past the body', `ffff${'x'.repeat(10)}`],
    ['want not hex', `${pkt('want xyz\n')}0000${pkt('done\n')}`],
    ['want of an unknown object', `${pkt(`want ${'1'.repeat(40)}\n`)}0000${pkt('done\n')}`],
    ['NUL in a line', `${pkt(`want ${main}\0\n`)}0000${pkt('done\n')}`],
    ['unexpected command', `${want()}${pkt('rm -rf /\n')}0000${pkt('done\n')}`],
    ['thousands of haves', `${want()}0000${Array.from({ length: 5000 }, () => pkt(`have ${randomBytes(20).toString('hex')}\n`)).join('')}${pkt('done\n')}`],
  ] as const) {
    await attack(`upload-pack: ${name}`, upload(body))
  }
})

test('hostile deepen arguments', async () => {
  const fetchWith = (line: string) => `${want()}${pkt(`${line}\n`)}0000${pkt('done\n')}`
  for (const line of [
    'deepen -1',
    'deepen 0',
    'deepen 99999999999999999999',
    'deepen-since yesterday',
    'deepen-since -99999999999999',
    `deepen-not refs/${'../'.repeat(30)}dev/zero`,
    `deepen-not ${'../'.repeat(30)}dev/zero`,
    'deepen-not /dev/zero',
    'deepen-not ../config',
    'deepen-not refs/heads/../../HEAD',
    `deepen-not refs/heads/${'a'.repeat(5000)}`,
    'deepen-not refs/heads/missing',
  ]) {
    await attack(`v0 ${line.slice(0, 60)}`, upload(fetchWith(line)))
    await attack(`v2 ${line.slice(0, 60)}`, v2('fetch', [`want ${main}`, line, 'done']))
  }
})

test('hostile protocol v2 commands', async () => {
  await attack('ls-refs with a traversing prefix', v2('ls-refs', ['ref-prefix ../../../../etc/', 'ref-prefix refs/../../', 'symrefs', 'peel']))
  await attack('want-ref outside the namespace', v2('fetch', [`want-ref refs/${'../'.repeat(30)}etc/passwd`, 'done']))
  await attack('want-ref of /dev/zero', v2('fetch', ['want-ref /dev/zero', 'done']))
  await attack('unknown command', v2('rm', ['-rf']))
  await attack('no delimiter', upload(`${pkt('command=fetch\n')}${pkt(`want ${main}\n`)}0000`, true))
  await attack('arguments without a command', upload(`0001${pkt(`want ${main}\n`)}0000`, true))
})

test('hostile ref names in push commands', async () => {
  for (const ref of [
    'refs/heads/../../config',
    'refs/../../../../tmp/convene-escape',
    'refs/heads/a..b',
    'refs/heads/x.lock',
    'refs/heads/',
    'HEAD',
    'config',
    'objects/info/alternates',
    `refs/heads/${'a'.repeat(5000)}`,
    'refs/heads/tab\there',
    'refs/heads/del\x7f',
    'refs/heads/ctl\x01',
    'refs/heads/star*',
    'refs/heads/at@{1}',
  ]) {
    await attack(`push to ${JSON.stringify(ref.slice(0, 60))}`, receive([`${ZERO} ${main} ${ref}`], pack([])), /ng |unpack (?!ok)/)
  }
  await attack('command with a short id', receive([`${ZERO} abc refs/heads/x`], pack([])))
  await attack('command without a ref', receive([`${ZERO} ${main}`], pack([])))
})

test('truncated, oversized and lying packs', async () => {
  const blob = Buffer.from('payload\n')
  const good = pack([{ type: 3, data: blob }])
  const update = [`${ZERO} ${main} refs/heads/p`]
  const cases: [string, Buffer, Record<string, string>?][] = [
    ['truncated pack', good.subarray(0, good.length - 10)],
    ['bad checksum', Buffer.concat([good.subarray(0, -1), Buffer.from([good[good.length - 1] ^ 1])])],
    ['count of 4 billion', pack([{ type: 3, data: blob }], 0xffffffff)],
    ['pack header only', Buffer.from('PACK')],
    ['no pack at all', Buffer.alloc(0)],
    ['over the push limit', pack([{ type: 3, data: randomBytes(MAX_PUSH + 1024) }])],
    ['gzip bomb body', gzipSync(Buffer.alloc(64 * 1024 * 1024)), { 'content-encoding': 'gzip' }],
    ['duplicate objects', pack([{ type: 3, data: blob }, { type: 3, data: blob }])],
    ['a tree that is not a tree', pack([{ type: 2, data: Buffer.from('100644 x\0short') }])],
    ['a commit without a tree', pack([{ type: 1, data: Buffer.from('author x\n\nmsg\n') }])],
  ]
  for (const [name, bytes, headers] of cases) {
    const send = name === 'gzip bomb body' ? (signal: AbortSignal) => gitPost(server.url, room, 'git-receive-pack', bytes, { headers, signal }) : receive(update, bytes, headers)
    await attack(name, send)
  }
})

test('delta bombs', async () => {
  // The reported one: an 8 MiB zero blob and seven ref-deltas that each copy it 30 times, pushed to a branch.
  const zeros = Buffer.alloc(8 * 2 ** 20)
  const zerosId = oidOf('blob', zeros)
  const refDeltas = Array.from({ length: 7 }, (_, i) => ({ type: 7, data: amplifyingDelta(zeros.length, 30, `r${i}`), base: zerosId }))
  const bomb = pack([{ type: 3, data: zeros }, ...refDeltas])
  assert.ok(bomb.length < 64 * 1024, `bomb is ${bomb.length} bytes`)
  await attack('8 MiB blob copied 7 × 30 times', receive([`${ZERO} ${zerosId} refs/heads/bomb`], bomb))

  // The rest carry a stale old id, so a pack that is (rightly) accepted still moves no ref.
  const stale = (ref: string) => [`${'1'.repeat(40)} ${main} ${ref}`]

  // Many ofs-deltas off one base, each a large result.
  const base = Buffer.alloc(2 ** 20, 1)
  const wide = pack([{ type: 3, data: base }, ...Array.from({ length: 64 }, (_, i) => ({ type: 6, data: amplifyingDelta(base.length, 16, `w${i}`), baseIndex: 0 }))])
  await attack('64 ofs-deltas × 16 MiB off one base', receive(stale('refs/heads/wide'), wide))

  // A deep chain: each delta copies its predecessor whole.
  const chain: { type: number; data: Buffer; baseIndex?: number }[] = [{ type: 3, data: base }]
  let size = base.length
  for (let i = 1; i <= 200; i++) {
    const d = amplifyingDelta(size, 1, `d${i}`)
    chain.push({ type: 6, data: d, baseIndex: i - 1 })
    size += `d${i}`.length
  }
  await attack('a 200-deep chain of 1 MiB objects', receive(stale('refs/heads/deep'), pack(chain)))

  // A delta claiming a result far larger than it produces.
  const liar = Buffer.concat([amplifyingDelta(base.length, 1, 'x').subarray(0, 3), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])])
  await attack('a delta with a lying result size', receive(stale('refs/heads/liar'), pack([{ type: 3, data: base }, { type: 6, data: liar, baseIndex: 0 }])))
})

test('links planted in the pack directory are never followed', async () => {
  const planted = ['idx', 'pack'].map((ext) => path.join(repoDir, 'objects', 'pack', `pack-${'7'.repeat(40)}.${ext}`))
  for (const p of planted) symlinkSync('/dev/zero', p)
  try {
    const r = await uploadRequest(server.url, room, `${want()}0000${pkt('done\n')}`, { signal: AbortSignal.timeout(15_000) })
    assert.equal(r.status, 200)
    const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(1000) })
    assert.equal(res.status, 200)
  } finally {
    for (const p of planted) rmSync(p, { force: true })
  }
  await intact('planted links')
})
