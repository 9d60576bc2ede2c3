// store-independent: runs on the embedded store only (test/select.mjs); no code path here differs by store.
// Names a client sends (deepen-not, want-ref, ref-prefix) never become filesystem paths, and files planted in a
// repository's ref namespace (symlinks, FIFOs, oversized files) are never followed or read whole. The server runs in
// its own process: a request that blocks its event loop fails the /healthz check instead of hanging the suite.
// FIFOs are the tripwires: opening one blocks until a writer comes, so any read of one hangs the server.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { freshDataDir, tempDir } from '../helpers.ts'
import { call, spawnServer, type Proc } from '../spawn.ts'
import { commitFiles, fsck, gitHome, gitOk } from '../git/helpers.ts'
import { pkt, uploadRequest } from '../git/craft.ts'

let server: Proc
let room: string
let repoDir: string
let home: string
let first: string
let main: string
/** Outside every repository: a FIFO and a file holding a commit id of the room. */
let outside: string
/** Directories made outside a test context, removed at the end. */
const scratch: string[] = []
const scratchDir = (prefix?: string) => {
  const d = tempDir(null, prefix)
  scratch.push(d)
  return d
}

before(async () => {
  const dataDir = await freshDataDir(null)
  scratch.push(dataDir)
  // No overload 503s: the machine running the suite may be busy, and a blocked loop is what /healthz detects.
  server = await spawnServer({ DATA_DIR: dataDir, MAX_EVENT_LOOP_DELAY_MS: '0' })
  const created = await call(server.url, 'room.create', { agentName: 'alice', name: `refs-${Date.now().toString(36)}` })
  room = created.data.name
  repoDir = path.join(dataDir, 'repos', `${created.data.roomId}.git`)
  home = gitHome(null as never)
  scratch.push(home)
  const work = path.join(scratchDir(), 'w')
  await gitOk(home, path.dirname(work), ['init', '-q', '-b', 'main', work])
  first = await commitFiles(home, work, { 'a.txt': 'one\n' }, 'one')
  main = await commitFiles(home, work, { 'b.txt': 'two\n' }, 'two')
  await gitOk(home, work, ['tag', '-a', '-m', 'v1', 'v1', first])
  await gitOk(home, work, ['push', '-q', `${server.url}/rooms/${room}.git`, 'main', 'v1'])
  outside = scratchDir('convene-outside-')
  execFileSync('mkfifo', [path.join(outside, 'fifo')])
  writeFileSync(path.join(outside, 'ref'), `${first}\n`)
})

after(async () => {
  await server?.kill9()
  for (const d of scratch) rmSync(d, { recursive: true, force: true })
})

/** The server answers /healthz within 1 s. */
async function alive(name: string) {
  const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(1000) }).catch((err: Error) => err)
  assert.ok(!(res instanceof Error), `${name}: /healthz did not answer within 1 s`)
  assert.equal(res.status, 200, `${name}: /healthz`)
}

type Reply = { status: number; text: string }

/** Sends one request with a bounded wait, checks the answer, then that the server still answers at once. */
async function expect(name: string, send: (signal: AbortSignal) => Promise<Reply>, status: number, pattern?: RegExp): Promise<Reply> {
  const r = await send(AbortSignal.timeout(5000)).catch((err: Error) => err)
  assert.ok(!(r instanceof Error), `${name}: no answer within 5 s (${r instanceof Error ? r.message : ''})`)
  assert.equal(r.status, status, `${name}: HTTP ${r.status} ${r.text.slice(0, 300)}`)
  if (pattern) assert.match(r.text, pattern, `${name}: ${r.text.slice(0, 300)}`)
  await alive(name)
  return r
}

const v2 = (command: string, args: string[]) => (signal: AbortSignal) =>
  uploadRequest(server.url, room, `${pkt(`command=${command}\n`)}0001${args.map((a) => pkt(`${a}\n`)).join('')}0000`, { v2: true, signal })
const v0 = (lines: string[]) => (signal: AbortSignal) =>
  uploadRequest(server.url, room, `${pkt(`want ${main} side-band-64k ofs-delta\n`)}${lines.map((l) => pkt(`${l}\n`)).join('')}0000${pkt('done\n')}`, { signal })
const deepenNot = (name: string) => v2('fetch', [`want ${main}`, `deepen-not ${name}`, 'done'])
const lsRefs = (...args: string[]) => v2('ls-refs', args)
const up = (n: number) => '../'.repeat(n)

test('deepen-not, want-ref and ref-prefix names are checked and resolved among the refs only', { timeout: 120_000 }, async () => {
  // Traversal to a FIFO first: today's code opens it and the whole server stops.
  await expect('deepen-not to a FIFO outside', deepenNot(`refs/${up(12)}${outside.slice(1)}/fifo`), 400, /invalid deepen-not/)
  await expect('v0 deepen-not to a FIFO outside', v0([`deepen-not refs/${up(12)}${outside.slice(1)}/fifo`]), 400, /invalid deepen-not/)
  // Probing: a file outside holding a valid id must not resolve.
  await expect('deepen-not probing a file outside', deepenNot(`refs/${up(12)}${outside.slice(1)}/ref`), 400, /invalid deepen-not/)
  for (const name of [
    'refs/../../../../dev/zero',
    `refs/${up(12)}dev/zero`,
    '/dev/zero',
    '../config',
    'refs/heads/../../HEAD',
    'refs/heads/../../../objects/info/packs',
    `refs/heads/${'a'.repeat(5000)}`,
    'refs/heads/main\0x',
    'refs/heads/tab\there',
    'main~1',
    'main^{commit}',
    'main@{0}',
    'refs/heads/x.lock',
    'refs/heads/.hidden',
    'refs//heads/main',
    '',
  ]) {
    await expect(`deepen-not ${JSON.stringify(name.slice(0, 50))}`, deepenNot(name), 400, /invalid deepen-not/)
  }
  await expect('deepen-not of a missing ref', deepenNot('refs/heads/missing'), 400, /unknown ref/)
  await expect('deepen-not of a missing short name', deepenNot('missing'), 400, /unknown ref/)

  // Valid names still work, in every form git accepts: full, short branch, short tag, HEAD.
  for (const name of ['refs/tags/v1', 'v1', 'tags/v1']) {
    const r = await expect(`deepen-not ${name}`, v2('fetch', [`want ${main}`, `deepen-not ${name}`, 'done']), 200, /shallow-info/)
    assert.match(r.text, new RegExp(`shallow ${main}`), `${name}: the boundary is main, whose parent is excluded`)
  }
  for (const name of ['main', 'heads/main', 'refs/heads/main', 'HEAD']) {
    await expect(`deepen-not ${name} excludes everything wanted`, deepenNot(name), 200, /packfile/)
  }
  await expect('v0 deepen-not v1', v0(['deepen-not v1']), 200, new RegExp(`shallow ${main}`))

  // want-ref is not advertised (no ref-in-want): a clean protocol error, whatever the name.
  const caps = await fetch(`${server.url}/rooms/${room}/info/refs?service=git-upload-pack`, { headers: { 'git-protocol': 'version=2' } }).then((r) => r.text())
  assert.doesNotMatch(caps, /ref-in-want/)
  for (const name of ['refs/heads/main', `refs/${up(12)}${outside.slice(1)}/fifo`, '/dev/zero']) {
    await expect(`want-ref ${name.slice(0, 40)}`, v2('fetch', [`want-ref ${name}`, 'done']), 400, /want-ref is not supported/)
  }

  // ref-prefix only filters names: traversal or odd text lists nothing, a real prefix lists its refs.
  await expect('ref-prefix traversal', lsRefs(`ref-prefix refs/${up(12)}${outside.slice(1)}/`, 'ref-prefix ../../', 'symrefs'), 200, /^0000$/)
  await expect('ref-prefix /dev/zero', lsRefs('ref-prefix /dev/zero'), 200, /^0000$/)
  const heads = await expect('ref-prefix refs/heads/', lsRefs('ref-prefix refs/heads/', 'peel'), 200)
  assert.match(heads.text, new RegExp(`${main} refs/heads/main\n`))
  assert.doesNotMatch(heads.text, /refs\/tags/)
  await expect('ls-refs with an unknown argument', lsRefs('rm -rf /'), 400, /unexpected ls-refs argument/)

  // Numbers are numbers.
  for (const line of ['deepen 0', 'deepen -1', 'deepen 1e3', 'deepen 99999999999999999999', 'deepen-since yesterday', 'deepen-since ', 'deepen-since -5']) {
    await expect(line, v2('fetch', [`want ${main}`, line, 'done']), 400, /invalid deepen/)
  }
  await fsck(home, repoDir)
})

test('symlinks, FIFOs and oversized files planted in the repository are never followed or read whole', { timeout: 120_000 }, async () => {
  const at = (rel: string) => path.join(repoDir, rel)
  const plant = (rel: string, make: (p: string) => void) => {
    make(at(rel))
    return () => rmSync(at(rel), { recursive: true, force: true })
  }
  const ls = lsRefs('symrefs', 'peel')
  const advertised = async (name: string) => (await expect(name, ls, 200)).text

  // A loose ref that is a symlink to a FIFO outside: today's code opens it when the short name is resolved.
  let undo = plant('refs/heads/pipe', (p) => symlinkSync(path.join(outside, 'fifo'), p))
  await expect('deepen-not through a ref symlinked to a FIFO', deepenNot('pipe'), 400, /unknown ref/)
  assert.doesNotMatch(await advertised('ls-refs with a symlinked FIFO ref'), /pipe/)
  undo()

  // A FIFO in the ref namespace itself.
  undo = plant('refs/heads/fifo', (p) => execFileSync('mkfifo', [p]))
  await expect('deepen-not of a FIFO ref', deepenNot('fifo'), 400, /unknown ref/)
  assert.doesNotMatch(await advertised('ls-refs with a FIFO ref'), /fifo/)
  undo()

  // HEAD and packed-refs as symlinks to the FIFO: read on every advertisement.
  const head = at('HEAD')
  rmSync(head)
  symlinkSync(path.join(outside, 'fifo'), head)
  try {
    await expect('v0 advertisement with HEAD symlinked to a FIFO', (signal) => fetch(`${server.url}/rooms/${room}/info/refs?service=git-upload-pack`, { signal }).then(async (r) => ({ status: r.status, text: await r.text() })), 200)
    assert.match(await advertised('ls-refs with HEAD symlinked to a FIFO'), new RegExp(`${main} HEAD symref-target:refs/heads/main`))
  } finally {
    rmSync(head)
    writeFileSync(head, 'ref: refs/heads/main\n')
  }
  undo = plant('packed-refs', (p) => symlinkSync(path.join(outside, 'fifo'), p))
  assert.match(await advertised('ls-refs with packed-refs symlinked to a FIFO'), /refs\/heads\/main/)
  undo()

  // A symlink to a file outside that holds a valid id: neither listed nor resolved.
  undo = plant('refs/heads/probe', (p) => symlinkSync(path.join(outside, 'ref'), p))
  await expect('deepen-not through a ref symlinked outside', deepenNot('probe'), 400, /unknown ref/)
  assert.doesNotMatch(await advertised('ls-refs with a symlinked ref'), /probe/)
  undo()
  // A symlinked directory in the namespace: refs/tags/out/ref would read <outside>/ref.
  undo = plant('refs/tags/out', (p) => symlinkSync(outside, p))
  await expect('deepen-not through a symlinked ref directory', deepenNot('out/ref'), 400, /unknown ref/)
  assert.doesNotMatch(await advertised('ls-refs with a symlinked ref directory'), /out\/ref/)
  undo()

  // HEAD pointing outside the namespace: its target must be a valid ref name, else HEAD means refs/heads/main.
  writeFileSync(head, `ref: refs/${up(12)}${outside.slice(1)}/ref\n`)
  try {
    const text = await advertised('ls-refs with HEAD pointing outside')
    assert.match(text, new RegExp(`${main} HEAD symref-target:refs/heads/main`))
    assert.doesNotMatch(text, new RegExp(`${first} HEAD`))
  } finally {
    writeFileSync(head, 'ref: refs/heads/main\n')
  }

  // A ref file with a valid id followed by 8 MB of padding is not a ref.
  undo = plant('refs/heads/padded', (p) => writeFileSync(p, `${first}\n${' '.repeat(8 * 2 ** 20)}`))
  assert.doesNotMatch(await advertised('ls-refs with an oversized loose ref'), /padded/)
  undo()

  // A packed-refs far larger than any sane one is an error, answered at once (sparse: no disk used).
  undo = plant('packed-refs', (p) => {
    writeFileSync(p, '# pack-refs with: peeled fully-peeled sorted \n')
    truncateSync(p, 256 * 2 ** 20)
  })
  const started = Date.now()
  await expect('ls-refs with a 256 MiB packed-refs', ls, 500)
  assert.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms`)
  await server.waitForOutput(/packed-refs is larger than/)
  undo()

  // A loose object file that is a symlink to the FIFO: a want of that id must not open it.
  const fake = 'f'.repeat(40)
  undo = plant(`objects/${fake.slice(0, 2)}`, (p) => {
    mkdirSync(p)
    symlinkSync(path.join(outside, 'fifo'), path.join(p, fake.slice(2)))
  })
  const wantFake = await v2('fetch', [`want ${fake}`, 'done'])(AbortSignal.timeout(5000)).catch((err: Error) => err)
  assert.ok(!(wantFake instanceof Error), 'want of a symlinked loose object: no answer within 5 s')
  assert.ok(wantFake.status < 500 && !wantFake.text.includes('PACK'), `want of a symlinked loose object: HTTP ${wantFake.status} ${wantFake.text.slice(0, 200)}`)
  await alive('want of a symlinked loose object')
  undo()

  // Planted files were all removed: the repository is as pushed.
  mkdirSync(at('refs/heads'), { recursive: true })
  assert.match(await advertised('ls-refs at the end'), new RegExp(`${main} refs/heads/main\n`))
  await fsck(home, repoDir)
})

test('a planted HEAD.lock symlink is never written through when the first push sets HEAD', { timeout: 60_000 }, async () => {
  const created = await call(server.url, 'room.create', { agentName: 'alice', name: `headlock-${Date.now().toString(36)}` })
  const dir = path.join(path.dirname(repoDir), `${created.data.roomId}.git`)
  // The repository exists once git has asked for its refs.
  await gitOk(home, outside, ['ls-remote', `${server.url}/rooms/${created.data.name}.git`])
  const victim = path.join(outside, 'victim')
  writeFileSync(victim, 'untouched\n')
  symlinkSync(victim, path.join(dir, 'HEAD.lock'))
  const work = path.join(scratchDir(), 'w')
  await gitOk(home, path.dirname(work), ['init', '-q', '-b', 'trunk', work])
  await commitFiles(home, work, { 'a.txt': 'a\n' }, 'first')
  await gitOk(home, work, ['push', '-q', `${server.url}/rooms/${created.data.name}.git`, 'trunk'])
  assert.equal(readFileSync(victim, 'utf8'), 'untouched\n')
  assert.equal(readFileSync(path.join(dir, 'HEAD'), 'utf8'), 'ref: refs/heads/trunk\n')
  await alive('first push with a planted HEAD.lock')
})
