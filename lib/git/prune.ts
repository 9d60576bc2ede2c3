// Removes objects no ref can reach, without the git binary: packs older than a grace period that hold such
// objects are rewritten into one pack of what stays, then deleted with unreachable loose objects and the
// leftovers of interrupted pushes. Anything younger than the grace, and all it reaches, is kept: a push may
// have stored it just before moving its refs.
import { randomBytes } from 'node:crypto'
import { existsSync, lstatSync, readdirSync } from 'node:fs'
import { mkdir, open, rename, rm, rmdir, unlink, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { hashObject, isOid } from './objects.ts'
import { ObjectStore } from './odb.ts'
import { objectInfo } from './object-info.ts'
import { PackFile } from './pack-file.ts'
import { writeIndex } from './pack-index.ts'
import type { IndexEntry } from './pack-index.ts'
import { writePack } from './pack-writer.ts'
import { markReachable, Walker } from './walk.ts'
import { MAX_PACKED_REFS_BYTES, MAX_REF_FILE_BYTES, readRegular } from './refs.ts'

export interface PruneOptions {
  /** Packs and loose objects modified within this many ms are kept, with everything they reach. */
  graceMs: number
  /** Runs `fn` holding the repository's ref lock (the one pushes take to move refs). */
  withLock: <T>(fn: () => Promise<T>) => Promise<T>
  /** Clock, ms since the epoch. */
  now?: () => number
}

export interface PruneResult {
  packsRemoved: number
  /** Objects carried from the removed packs into the new one. */
  objectsRepacked: number
  /** Unreachable objects gone from removed packs and loose files. */
  objectsPruned: number
  /** Leftover files and directories of interrupted pushes or prunes. */
  leftoversRemoved: number
  /** When unreachable objects kept for being recent become old enough to prune (ms since the epoch). */
  retryAt?: number
}

/** Files git may write next to a pack (a .keep is never ours to remove). */
const SIDE_FILES = ['rev', 'bitmap', 'mtimes', 'promisor']

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Newest modification time of a file, or of a directory and what it holds (two levels deep). */
function mtimeOf(path: string, depth = 2): number {
  const st = lstatSync(path)
  let t = st.mtimeMs
  if (st.isDirectory() && depth > 0) for (const f of readdirSync(path)) t = Math.max(t, mtimeOf(join(path, f), depth - 1))
  return t
}

/**
 * Every ref tip and a detached HEAD, read strictly: anything unexpected under refs/ aborts the prune, because
 * a ref missed here would have its objects deleted.
 */
function refTips(gitDir: string): string[] {
  const tips: string[] = []
  const walk = (rel: string) => {
    for (const e of readdirSync(join(gitDir, rel), { withFileTypes: true })) {
      const name = `${rel}/${e.name}`
      if (e.isDirectory()) walk(name)
      else if (e.name.endsWith('.lock')) continue // left by an interrupted update: never a ref
      else if (!e.isFile()) throw new Error(`prune: ${name} is not a regular file`)
      else {
        const v = strictRead(join(gitDir, name), MAX_REF_FILE_BYTES)?.trim() ?? ''
        if (isOid(v)) tips.push(v)
        else if (!v.startsWith('ref: ')) throw new Error(`prune: cannot read ref ${name}`)
      }
    }
  }
  walk('refs')
  const packed = strictRead(join(gitDir, 'packed-refs'), MAX_PACKED_REFS_BYTES) ?? ''
  for (const line of packed.split('\n')) {
    const m = /^\^?([0-9a-f]{40})(?: |$)/.exec(line)
    if (m) tips.push(m[1])
  }
  const head = strictRead(join(gitDir, 'HEAD'), MAX_REF_FILE_BYTES)?.trim()
  if (head && isOid(head)) tips.push(head)
  return tips
}

/** A regular file's text (never through a symlink, at most `max` bytes); null when absent; throws otherwise. */
function strictRead(path: string, max: number): string | null {
  const b = readRegular(path, max)
  if (Buffer.isBuffer(b)) return b.toString('utf8')
  if (b === null && !lstatSync(path, { throwIfNoEntry: false })) return null
  throw new Error(`prune: cannot read ${path.slice(path.lastIndexOf('/') + 1)} (not a regular file, unreadable or too large)`)
}

function packIds(p: PackFile): string[] {
  const out: string[] = []
  for (let i = 0; i < p.index.count; i++) out.push(p.index.oid(i))
  return out
}

/** Writes `oids` into a new pack with its index in `dir`; returns the pack's path and its name's checksum. */
async function writeNewPack(odb: ObjectStore, oids: Set<string>, dir: string): Promise<{ path: string; sum: string }> {
  const path = join(dir, 'new.pack')
  const entries: IndexEntry[] = []
  const onEntry = (oid: string, offset: number, crc: number) => entries.push({ oid: Buffer.from(oid, 'hex'), offset, crc })
  const fh = await open(path, 'w')
  let tail = Buffer.alloc(0)
  try {
    for (const chunk of writePack(odb, oids, { ofsDelta: true, onEntry })) {
      await fh.write(chunk)
      tail = Buffer.concat([tail, chunk]).subarray(-20)
    }
    await fh.sync()
  } finally {
    await fh.close()
  }
  if (entries.length !== oids.size) throw new Error('prune: new pack lacks objects')
  const idx = await open(join(dir, 'new.idx'), 'w')
  try {
    await idx.write(writeIndex(entries, tail))
    await idx.sync()
  } finally {
    await idx.close()
  }
  return { path, sum: tail.toString('hex') }
}

/** Reads back every object of the new pack on its own, checking its id: nothing is deleted on a bad pack. */
async function verifyPack(dir: string, path: string, oids: Set<string>): Promise<void> {
  const check = new ObjectStore(dir)
  const pack = new PackFile(path)
  check.packs.push(pack)
  try {
    if (pack.index.count !== oids.size) throw new Error('prune: new pack index has the wrong count')
    for (let i = 0; i < pack.index.count; i++) {
      if (i % 1024 === 1023) await tick()
      const oid = pack.index.oid(i)
      const o = check.readAt(pack, pack.index.offset(i))
      if (!oids.has(oid) || hashObject(o.type, o.data) !== oid) throw new Error(`prune: new pack holds a bad object ${oid}`)
    }
  } finally {
    check.close()
  }
}

/** Prunes one repository directory (a bare repository) under its ref lock. */
export async function pruneRepository(gitDir: string, opts: PruneOptions): Promise<PruneResult> {
  return opts.withLock(async () => {
    const odb = new ObjectStore(join(gitDir, 'objects'))
    try {
      return await prune(gitDir, odb, opts)
    } finally {
      odb.close()
    }
  })
}

async function prune(gitDir: string, odb: ObjectStore, opts: PruneOptions): Promise<PruneResult> {
  const result: PruneResult = { packsRemoved: 0, objectsRepacked: 0, objectsPruned: 0, leftoversRemoved: 0 }
  odb.refresh()
  const now = opts.now?.() ?? Date.now()
  const cutoff = now - opts.graceMs
  const w = new Walker(odb)

  const reachable = new Set<string>()
  await markReachable(w, refTips(gitDir), reachable, 'throw')

  const packs = odb.packs.map((pack) => ({ pack, mtime: mtimeOf(pack.path) }))
  const loose = odb.looseIds().map((oid) => ({ oid, mtime: mtimeOf(odb.loosePath(oid)) }))
  const young = packs.filter((p) => p.mtime > cutoff)
  const youngLoose = loose.filter((l) => l.mtime > cutoff)

  // Recent objects are kept with all they reach, and say when to look again if they are unreachable.
  const kept = new Set(reachable)
  const roots: string[] = []
  const later = (mtime: number) => (result.retryAt = Math.min(result.retryAt ?? Infinity, mtime + opts.graceMs))
  let n = 0
  for (const { pack, mtime } of young) {
    for (const oid of packIds(pack)) {
      if (++n % 4096 === 0) await tick()
      if (!reachable.has(oid)) later(mtime)
      if (objectInfo(odb, oid)?.type === 'blob') kept.add(oid)
      else roots.push(oid)
    }
  }
  for (const { oid, mtime } of youngLoose) {
    if (!reachable.has(oid)) later(mtime)
    roots.push(oid)
  }
  await markReachable(w, roots, kept, 'skip')

  // A pack with a .keep file is left alone, as git does.
  const keepFile = (p: PackFile) => existsSync(p.path.replace(/\.pack$/, '.keep'))
  const victims = packs.filter((p) => p.mtime <= cutoff && !keepFile(p.pack) && packIds(p.pack).some((oid) => !kept.has(oid)))
  const survivors = packs.filter((p) => !victims.includes(p)).map((p) => p.pack)
  const carried = new Set<string>()
  const dropped = new Set<string>()
  for (const { pack } of victims) {
    for (const oid of packIds(pack)) {
      if (!kept.has(oid)) dropped.add(oid)
      else if (!survivors.some((s) => s.index.find(Buffer.from(oid, 'hex')) >= 0)) carried.add(oid)
    }
  }

  if (carried.size) {
    const work = join(odb.dir, `prune-${randomBytes(8).toString('hex')}`)
    await mkdir(work)
    try {
      const { path, sum } = await writeNewPack(odb, carried, work)
      await verifyPack(work, path, carried)
      // Its objects are as old as the packs they come from: the next prune may rewrite it without waiting.
      const age = new Date(Math.max(...victims.map((v) => v.mtime)))
      await utimes(path, age, age)
      const name = join(odb.packDir, `pack-${sum}`)
      await rename(path, `${name}.pack`)
      await rename(join(work, 'new.idx'), `${name}.idx`)
    } finally {
      await rm(work, { recursive: true, force: true })
    }
  }
  for (const { pack } of victims) {
    // The index first: without it no reader opens the pack. Then what git may keep beside a pack.
    const base = pack.path.replace(/\.pack$/, '')
    await unlink(`${base}.idx`)
    await unlink(pack.path)
    for (const ext of SIDE_FILES) await rm(`${base}.${ext}`, { force: true })
  }
  result.packsRemoved = victims.length
  result.objectsRepacked = carried.size

  for (const { oid, mtime } of loose) {
    if (kept.has(oid) || mtime > cutoff) continue
    await unlink(odb.loosePath(oid))
    await rmdir(join(odb.dir, oid.slice(0, 2))).catch(() => {})
    dropped.add(oid)
  }
  result.objectsPruned = dropped.size

  // Quarantines of interrupted pushes, interrupted prunes, temporary and orphaned pack files.
  const old = (path: string) => mtimeOf(path) <= cutoff
  for (const f of readdirSync(odb.dir)) {
    if (/^(incoming|prune)-/.test(f) && old(join(odb.dir, f))) {
      await rm(join(odb.dir, f), { recursive: true, force: true })
      result.leftoversRemoved++
    }
  }
  const packFiles = new Set(readdirSync(odb.packDir))
  for (const f of packFiles) {
    const side = /^(pack-[0-9a-f]{40})\.(pack|rev|bitmap|mtimes)$/.exec(f)
    const orphan = side !== null && !packFiles.has(`${side[1]}.idx`)
    if ((orphan || /^tmp_|\.tmp$/.test(f)) && old(join(odb.packDir, f))) {
      await rm(join(odb.packDir, f), { recursive: true, force: true })
      result.leftoversRemoved++
    }
  }
  return result
}
