// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
// Mutated real git requests against both services: never a 5xx or crash, never a corrupted repository.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import fc from 'fast-check'
import { tempDir } from '../helpers.ts'
import { commitFiles, fsck, gitHome, gitOk, gitRoom, gitServer } from '../git/helpers.ts'

const SEED = 8_8_2024
const pkt = (s: string | Buffer) => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s)
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b])
}
const FLUSH = Buffer.from('0000')
const ZERO = '0'.repeat(40)

/** Byte-level mutations of a real request: flips, truncation, insertion, length-prefix damage, splicing. */
const mutation = (len: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(len - 1), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(len) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(len), bytes: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ kind: fc.constant('length' as const), at: fc.nat(len - 1), hex: fc.constantFrom('ffff', '0001', '0002', '0003', '0004', 'fff0', 'zzzz', '0005', '1000') }),
    fc.record({ kind: fc.constant('dup' as const), from: fc.nat(len - 1), n: fc.integer({ min: 1, max: 64 }), at: fc.nat(len) }),
  )

function apply(buf: Buffer, muts: { kind: string; at?: number; byte?: number; bytes?: Uint8Array; hex?: string; from?: number; n?: number }[]) {
  let b = Buffer.from(buf)
  for (const m of muts) {
    const at = Math.min(m.at ?? 0, b.length)
    if (m.kind === 'flip' && b.length) b[Math.min(at, b.length - 1)] = m.byte!
    else if (m.kind === 'truncate') b = b.subarray(0, at)
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes!), b.subarray(at)])
    else if (m.kind === 'length') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.hex!), b.subarray(Math.min(at + 4, b.length))])
    else if (m.kind === 'dup') b = Buffer.concat([b.subarray(0, at), b.subarray(m.from!, m.from! + m.n!), b.subarray(at)])
  }
  return b
}

test('pkt-line/pack fuzzing over git-upload-pack and git-receive-pack: 4xx or an error report, repository intact', { timeout: 180_000 }, async (t) => {
  const srv = await gitServer(t)
  const room = await gitRoom(srv)
  const home = gitHome(t)
  const work = tempDir(t, 'convene-fuzz-work-')
  await gitOk(home, work, ['init', '-q', '-b', 'main'])
  const base = await commitFiles(home, work, { 'a.txt': 'hello\n', 'dir/b.bin': Buffer.alloc(3000, 7) }, 'base')
  await gitOk(home, work, ['push', '-q', room.url, 'main'])
  const next = await commitFiles(home, work, { 'a.txt': 'hello again\n', 'c.txt': 'x'.repeat(5000) }, 'next')
  const pack = execFileSync('git', ['pack-objects', '--stdout', '--revs', '-q'], { cwd: work, input: `${next}\n^${base}\n`, env: { ...process.env, HOME: home } })

  const refs = () => execFileSync('git', ['--git-dir', room.dir, 'for-each-ref', '--format=%(refname) %(objectname)'], { encoding: 'utf8', env: { ...process.env, HOME: home } })
  const before = refs()

  // Real requests to mutate. receive-pack creates refs/heads/fuzz-* so that an intact request is recognisable.
  const receive = Buffer.concat([pkt(`${ZERO} ${next} refs/heads/fuzz\0 report-status side-band-64k quiet object-format=sha1 agent=git/2.40\n`), FLUSH, pack])
  const receiveUpdate = Buffer.concat([pkt(`${base} ${next} refs/heads/main\0 report-status atomic\n`), pkt(`${ZERO} ${base} refs/tags/t1\n`), FLUSH, pack])
  const uploadV0 = Buffer.concat([pkt(`want ${base} multi_ack_detailed side-band-64k thin-pack ofs-delta shallow agent=git/2.40\n`), pkt(`deepen 1\n`), FLUSH, pkt(`have ${ZERO}\n`), pkt('done\n')])
  const uploadV2 = Buffer.concat([pkt('command=fetch\n'), pkt('agent=git/2.40\n'), Buffer.from('0001'), pkt('thin-pack\n'), pkt('ofs-delta\n'), pkt(`want ${base}\n`), pkt('deepen 2\n'), pkt('done\n'), FLUSH])
  const lsRefs = Buffer.concat([pkt('command=ls-refs\n'), Buffer.from('0001'), pkt('peel\n'), pkt('symrefs\n'), pkt('ref-prefix refs/\n'), FLUSH])

  const post = async (service: string, body: Buffer, v2 = false, gzip = false) => {
    const res = await fetch(`${srv.url}/rooms/${room.name}/${service}`, {
      method: 'POST',
      headers: { 'content-type': `application/x-${service}-request`, ...(v2 ? { 'git-protocol': 'version=2' } : {}), ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
      body: new Uint8Array(body),
    })
    const out = Buffer.from(await res.arrayBuffer())
    assert.ok(res.status < 500, `${service}: ${res.status} ${out.toString('latin1').slice(0, 200)}`)
    return { status: res.status, out }
  }

  const cases: [string, Buffer, boolean][] = [
    ['git-receive-pack', receive, false],
    ['git-receive-pack', receiveUpdate, false],
    ['git-upload-pack', uploadV0, false],
    ['git-upload-pack', uploadV2, true],
    ['git-upload-pack', lsRefs, true],
  ]
  const rssStart = process.memoryUsage().rss
  for (const [service, body, v2] of cases) {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation(body.length), { minLength: 1, maxLength: 4 }), async (muts) => {
        await post(service, apply(body, muts), v2)
      }),
      { seed: SEED, numRuns: 150, endOnFailure: true },
    )
  }
  // Hand-made hostile bodies.
  const hostile = [
    Buffer.alloc(0), Buffer.from('0000'), Buffer.from('ffff'), Buffer.from('0004'), Buffer.from('zzzz'), Buffer.from('00'),
    pkt(`${ZERO} ${next} refs/heads/../../../../etc/passwd\0report-status\n`), pkt(`${ZERO} ${next} HEAD\n`), pkt(`${ZERO} ${next} refs/heads/a b\n`),
    Buffer.concat([pkt(`${ZERO} ${next} refs/heads/fuzz2\n`), FLUSH, Buffer.from('PACK\0\0\0\x02\xff\xff\xff\xff', 'latin1')]), // claims 4 billion objects
    Buffer.concat([pkt(`${ZERO} ${next} refs/heads/fuzz3\n`), FLUSH, Buffer.from('PACK\0\0\0\x09\0\0\0\x01', 'latin1')]), // unknown version
    Buffer.concat([pkt(`${ZERO} ${next} refs/heads/fuzz4\n`), FLUSH, pack.subarray(0, pack.length - 20), Buffer.alloc(20)]), // bad trailer
    Buffer.concat([pkt(`want ${'f'.repeat(40)}\n`), FLUSH, pkt('done\n')]),
    Buffer.concat(Array.from({ length: 2000 }, () => pkt(`have ${ZERO}\n`))),
  ]
  for (const body of hostile) {
    await post('git-receive-pack', body)
    await post('git-upload-pack', body)
    await post('git-upload-pack', body, true)
  }
  // gzip bombs / bad gzip: refused cleanly.
  await post('git-upload-pack', Buffer.from('not gzip at all'), false, true)

  // Only an intact receive request may have changed anything, and then exactly as asked.
  const after = refs()
  const allowed = new Set([...before.split('\n'), `refs/heads/fuzz ${next}`, `refs/heads/main ${next}`, `refs/tags/t1 ${base}`].filter(Boolean))
  for (const line of after.split('\n').filter(Boolean)) assert.ok(allowed.has(line), `unexpected ref change: ${line}`)
  await fsck(home, room.dir)
  const grown = (process.memoryUsage().rss - rssStart) / 2 ** 20
  assert.ok(grown < 300, `memory stays bounded (grew ${grown.toFixed(0)} MB)`)
  // The repository still serves a clone and takes a proper push.
  const clone = tempDir(t, 'convene-fuzz-clone-')
  await gitOk(home, clone, ['clone', '-q', room.url, '.'])
  await commitFiles(home, clone, { 'after.txt': 'fine\n' }, 'after fuzz')
  await gitOk(home, clone, ['push', '-q', 'origin', 'HEAD:refs/heads/after'])
  await fsck(home, room.dir)
})
