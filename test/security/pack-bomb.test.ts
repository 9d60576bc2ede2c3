// Delta bombs: crafted packs under 1 MB pushed to a spawned server must not raise its memory by more than 64 MB,
// must be refused with a clear `unpack` reason or accepted correctly, and must leave a repository git fsck accepts.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { applyDelta } from '../../lib/git/delta.ts'
import { DATABASE_URL, freshDataDir } from '../helpers.ts'
import { fsck, git, gitHome } from '../git/helpers.ts'
import { call, spawnServer, type Proc } from '../spawn.ts'
import { copyOp as copy, delta, insertOp as insert, oidOf, pack, pkt, ZERO, type CraftEntry as Entry } from '../git/craft.ts'

const MiB = 2 ** 20
const applyOps = (base: Buffer, d: Buffer) => applyDelta(base, d, Number.MAX_SAFE_INTEGER)

/** A tree naming every blob, and a commit of it: what makes a pack of blobs a legitimate push. */
function commitOf(blobs: string[], msg: string): { tree: Buffer; commit: Buffer; id: string } {
  const names = blobs.map((id, i) => ({ name: `f${String(i).padStart(5, '0')}`, id })).sort((a, b) => (a.name < b.name ? -1 : 1))
  const tree = Buffer.concat(names.map((n) => Buffer.concat([Buffer.from(`100644 ${n.name}\0`), Buffer.from(n.id, 'hex')])))
  const commit = Buffer.from(`tree ${oidOf('tree', tree)}\nauthor A <a@b> 1600000000 +0000\ncommitter A <a@b> 1600000000 +0000\n\n${msg}\n`)
  return { tree, commit, id: oidOf('commit', commit) }
}

const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8')
const kb = (s: string, key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(s)?.[1] ?? 0)

/**
 * Pushes `bytes` as the pack of one ref update; returns the report, the server's peak RSS during the push above its
 * RSS just before (pushMb) and above `idleKb`, its RSS before the first push (grewMb), and /healthz latencies.
 */
async function push(srv: Proc, idleKb: number, room: string, update: string, bytes: Buffer) {
  const pid = srv.child.pid!
  // Resets the peak (VmHWM) to the current RSS, so the peak after the push is this push's.
  writeFileSync(`/proc/${pid}/clear_refs`, '5')
  const before = kb(status(pid), 'VmRSS')
  const body = Buffer.concat([Buffer.from(pkt(`${update}\0report-status\n`) + '0000'), bytes])
  // /healthz asked every 100 ms while the push runs: the slowest answer.
  let pushing = true
  let slowestMs = 0
  const probe = (async () => {
    while (pushing) {
      const t0 = Date.now()
      await fetch(`${srv.url}/healthz`, { signal: AbortSignal.timeout(5000) }).then((r) => r.arrayBuffer())
      slowestMs = Math.max(slowestMs, Date.now() - t0)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })()
  const res = await fetch(`${srv.url}/rooms/${room}/git-receive-pack`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-git-receive-pack-request' },
    body,
  })
  const text = Buffer.from(await res.arrayBuffer()).toString('latin1')
  pushing = false
  await probe
  const peak = kb(status(pid), 'VmHWM')
  const grewMb = (peak - idleKb) / 1024
  const pushMb = (peak - before) / 1024
  const t0 = Date.now()
  const health = await fetch(`${srv.url}/healthz`, { signal: AbortSignal.timeout(1000) })
  return { status: res.status, text, grewMb, pushMb, slowestMs, healthMs: Date.now() - t0, healthy: health.status === 200 }
}

interface Case {
  name: string
  entries: Entry[]
  ref: string
  /** The ref's new id. */
  tip: string
  /** Expected report: an `unpack` refusal, or acceptance. */
  expect: RegExp
}

function cases(): Case[] {
  const out: Case[] = []

  // The reported bomb: an 8 MiB zero blob and seven ref-deltas that each copy it 30 times.
  const zero = Buffer.alloc(8 * MiB)
  const zeroId = oidOf('blob', zero)
  const bomb: Entry[] = [{ type: 3, data: zero }]
  for (let i = 0; i < 7; i++) {
    const ops: Buffer[] = [insert(Buffer.from([i]))]
    for (let k = 0; k < 30; k++) ops.push(copy(0, zero.length))
    bomb.push({ type: 7, data: delta(zero.length, 30 * zero.length + 1, ops), base: zeroId })
  }
  out.push({ name: 'ref-delta bomb (8 MiB blob, 7 deltas x30)', entries: bomb, ref: 'refs/heads/bomb', tip: zeroId, expect: /unpack object of 251658241 bytes exceeds the limit of \d+ bytes for a pack of \d+ bytes/ })

  /** Adds the tree and commit naming `blobs` (ids, with their data) and expects the push to be accepted. */
  const accepted = (name: string, entries: Entry[], blobs: Buffer[], ref: string) => {
    const c = commitOf(blobs.map((b) => oidOf('blob', b)), name)
    entries.push({ type: 2, data: c.tree }, { type: 1, data: c.commit })
    out.push({ name, entries, ref, tip: c.id, expect: /unpack ok\n.*ok refs\/heads\//s })
  }
  const tag = (k: number) => Buffer.from([k & 0xff, k >> 8])

  // Many ofs-deltas, each copying all of one 8 MiB compressible base: 160 MiB to hash from an 8 KB pack.
  const big = Buffer.alloc(8 * MiB, 'a')
  const many = (count: number) => {
    const entries: Entry[] = [{ type: 3, data: big }]
    const blobs: Buffer[] = [big]
    for (let k = 0; k < count; k++) {
      const d = delta(big.length, big.length, [insert(tag(k)), copy(2, big.length - 2)])
      entries.push({ type: 6, data: d, baseIndex: 0 })
      blobs.push(applyOps(big, d))
    }
    return { entries, blobs }
  }
  const fits = many(20)
  accepted('many ofs-deltas of one large base', fits.entries, fits.blobs, 'refs/heads/many')
  out.push({ name: 'too many ofs-deltas of one large base', entries: many(80).entries, ref: 'refs/heads/toomany', tip: oidOf('blob', big), expect: /unpack pack inflates beyond the limit of 536870912 bytes for a pack of \d+ bytes/ })

  // A deep chain: every object is the base of the next, each 8 MiB.
  {
    const entries: Entry[] = [{ type: 3, data: big }]
    const blobs: Buffer[] = [big]
    for (let k = 0; k < 20; k++) {
      const d = delta(big.length, big.length, [copy(0, 4 * MiB), insert(tag(k)), copy(4 * MiB + 2, 4 * MiB - 2)])
      entries.push({ type: 6, data: d, baseIndex: k })
      blobs.push(applyOps(blobs[k], d))
    }
    accepted('deep delta chain of large objects', entries, blobs, 'refs/heads/deep')
  }

  // Wide and deep: every object has three children, three levels down (40 objects of 4 MiB, ref- and ofs-deltas).
  {
    const root = Buffer.alloc(4 * MiB, 'b')
    const entries: Entry[] = [{ type: 3, data: root }]
    const blobs: Buffer[] = [root]
    let level = [0]
    for (let depth = 0; depth < 3; depth++) {
      const nextLevel: number[] = []
      for (const parent of level) {
        for (let j = 0; j < 3; j++) {
          const k = blobs.length
          const d = delta(root.length, root.length, [insert(tag(k)), copy(2, root.length - 2)])
          entries.push(k % 2 ? { type: 6, data: d, baseIndex: parent } : { type: 7, data: d, base: oidOf('blob', blobs[parent]) })
          blobs.push(applyOps(blobs[parent], d))
          nextLevel.push(k)
        }
      }
      level = nextLevel
    }
    accepted('wide and deep delta tree', entries, blobs, 'refs/heads/wide')
  }

  // The largest objects a pack under 1 MB may hold (incompressible padding buys a higher per-object limit), chained.
  {
    const pad = randomBytes(1000 * 1000 - 4000)
    const base = Buffer.alloc(15 * MiB, 'c')
    const entries: Entry[] = [{ type: 3, data: pad }, { type: 3, data: base }]
    const blobs: Buffer[] = [pad, base]
    for (let k = 0; k < 8; k++) {
      const d = delta(base.length, base.length, [insert(tag(k)), copy(2, base.length - 2)])
      entries.push({ type: 6, data: d, baseIndex: k + 1 })
      blobs.push(applyOps(blobs[k + 1], d))
    }
    accepted('deep chain of the largest objects a 1 MB pack allows', entries, blobs, 'refs/heads/largest')
  }

  // Many tiny objects: what the server keeps per object stays small.
  {
    const entries: Entry[] = []
    for (let k = 0; k < 20_000; k++) entries.push({ type: 3, data: Buffer.from(`${k}`) })
    out.push({ name: '20,000 tiny objects', entries, ref: 'refs/tags/tiny', tip: oidOf('blob', Buffer.from('0')), expect: /unpack ok/ })
  }

  // A tree delta naming 100,000 distinct objects nobody has (20-byte windows of its base): refused early.
  {
    const base = Buffer.concat(Array.from({ length: 1000 }, (_, k) => Buffer.concat([Buffer.from(`100644 f${k}\0`), randomBytes(20)])))
    const ops: Buffer[] = []
    let size = 0
    for (let k = 0; k < 100_000; k++) {
      const name = Buffer.from(`100644 e${k}\0`)
      ops.push(insert(name), copy(k % (base.length - 20), 20))
      size += name.length + 20
    }
    const entries: Entry[] = [{ type: 2, data: base }, { type: 6, data: delta(base.length, size, ops), baseIndex: 0 }]
    out.push({ name: 'tree delta naming 100,000 missing objects', entries, ref: 'refs/tags/missing', tip: oidOf('tree', base), expect: /unpack pack refers to \d+ objects that neither it nor the repository has/ })
  }

  return out
}

test('delta bombs under 1 MB: bounded server memory, refused or accepted correctly, repository intact', { timeout: 120_000 }, async (t) => {
  const dataDir = await freshDataDir(t)
  // malloc returns freed large blocks to the system at once, so that each case starts from the same baseline
  // instead of one that earlier cases' reusable free memory raised. /healthz is timed by the test itself.
  const env = { DATA_DIR: dataDir, DATABASE_URL: DATABASE_URL ?? '', MAX_EVENT_LOOP_DELAY_MS: '0', MALLOC_MMAP_THRESHOLD_: '131072' }
  const srv = await spawnServer(env)
  t.after(() => srv.kill9())
  const home = gitHome(t)
  const refs = async (repoDir: string) => (await git(home, repoDir, ['--git-dir', repoDir, 'for-each-ref', '--format=%(refname) %(objectname)'])).stdout

  let n = 0
  let idleKb = 0
  for (const c of cases()) {
    // A room per case, so that fsck checks only this case's objects.
    const name = `bomb-${n++}-${Date.now().toString(36)}`
    const room = await call(srv.url, 'room.create', { agentName: 'alice', name })
    const repoDir = path.join(dataDir, 'repos', `${room.data.roomId}.git`)
    idleKb ||= kb(status(srv.child.pid!), 'VmRSS')
    const t0 = Date.now()
    const bytes = pack(c.entries)
    const t1 = Date.now()
    assert.ok(bytes.length < MiB, `${c.name}: the pack is under 1 MB (${bytes.length})`)
    const before = await refs(repoDir)
    const r = await push(srv, idleKb, name, `${ZERO} ${c.tip} ${c.ref}`, bytes)
    const t2 = Date.now()
    assert.equal(r.status, 200, c.name)
    assert.match(r.text, c.expect, c.name)
    assert.ok(r.healthy && r.healthMs < 1000, `${c.name}: /healthz answered in ${r.healthMs} ms`)
    assert.ok(r.slowestMs < 1000, `${c.name}: /healthz took ${r.slowestMs} ms during the push`)
    assert.ok(r.pushMb <= 64, `${c.name}: RSS grew by ${r.pushMb.toFixed(1)} MB during the push`)
    // Over the idle server the figure also holds what earlier cases left and the process's own growth: a coarser bound.
    assert.ok(r.grewMb <= 128, `${c.name}: RSS ${r.grewMb.toFixed(1)} MB above the idle server`)
    if (/ok refs/.test(c.expect.source)) assert.match(await refs(repoDir), new RegExp(`${c.ref} ${c.tip}`), c.name)
    else if (!/unpack ok/.test(c.expect.source)) assert.equal(await refs(repoDir), before, `${c.name}: refs unchanged`)
    await fsck(home, repoDir)
    t.diagnostic(`${c.name}: pack ${bytes.length} B, RSS +${r.grewMb.toFixed(1)} MB over idle (+${r.pushMb.toFixed(1)} MB over its start), /healthz ${r.healthMs} ms after, ${r.slowestMs} ms at most during, ${r.text.split('\n')[0].slice(4)} (build ${t1 - t0} ms, push ${t2 - t1} ms, fsck ${Date.now() - t2} ms)`)
  }
})
