// Validates and indexes a received pack: trailer, object count, size and delta-depth limits, connectivity.
// Memory stays bounded however much the pack inflates to: objects inflate into reused buffers, delta trees resolve
// depth-first one child at a time, leaf blobs are hashed without being built, and ancestors that still have
// children wait in a spill file once they exceed a few MB. Work yields to the event loop every few MB.
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { applyDelta, DeltaError, deltaSizes, streamDelta } from './delta.ts'
import { Inflater, InflateError } from './inflate.ts'
import { referencedIds } from './objects.ts'
import type { ObjectStore } from './odb.ts'
import { BufferPool, SpillFile } from './pack-scratch.ts'
import type { IndexEntry } from './pack-index.ts'
import type { PackSource } from './pack-source.ts'
import { OBJ_BLOB, OBJ_OFS_DELTA, OBJ_REF_DELTA, OBJ_TREE, TYPE_NAMES, readEntryHeader } from './pack-format.ts'
import type { ObjectType } from './pack-format.ts'

export class PackError extends Error {}

export interface PackLimits {
  /** Largest single object, inflated (a small pack gets less, see packBudget). */
  maxObjectSize: number
  /** Sum of all inflated objects and deltas in one pack (a small pack gets less, see packBudget). */
  maxInflated: number
  maxDeltaDepth: number
  /** The room's repository quota in bytes, when it has one: the inflated budget is at most QUOTA_RATIO times it. */
  quotaBytes?: number
}

export const DEFAULT_LIMITS: PackLimits = { maxObjectSize: 256 * 2 ** 20, maxInflated: 2 * 2 ** 30, maxDeltaDepth: 1000 }

const MiB = 2 ** 20
// Per object: at most 16 times the pack, at least 8 MiB. A file that large compresses less than 16:1 in practice
// (text 3-10:1), while a few KB can no longer claim hundreds of MB.
const OBJECT_RATIO = 16
const MIN_OBJECT_LIMIT = 8 * MiB
// In all: at most 1024 times the pack (zlib's own ceiling is about 1032:1; only deltas go beyond), at least 512 MiB
// so that many versions of one compressible file still fit, at most 64 times the room's quota.
const INFLATE_RATIO = 1024
const MIN_INFLATED = 512 * MiB
const QUOTA_RATIO = 64
/** Ancestors kept in memory while their other children resolve; beyond this they go to the spill file. */
const KEEP_BYTES = 8 * MiB
/** Free buffers kept for reuse. */
const POOL_BYTES = 24 * MiB
/** Work (bytes inflated, copied or hashed) between two yields to the event loop. */
const SLICE = MiB
/** Output inflated between two yields (the inflater is slow until the JIT has warmed it up). */
const INFLATE_SLICE = 256 * 1024
const READ = 4 * MiB
/** What handling one entry costs beside its bytes, in the same unit: a yield every thousand small objects. */
const ENTRY_COST = 4096

/** The per-object and total inflated limits for a pack of `packBytes`. */
export function packBudget(packBytes: number, limits: PackLimits): { object: number; inflated: number } {
  const object = Math.min(limits.maxObjectSize, Math.max(MIN_OBJECT_LIMIT, packBytes * OBJECT_RATIO))
  let inflated = Math.min(limits.maxInflated, Math.max(MIN_INFLATED, packBytes * INFLATE_RATIO))
  if (limits.quotaBytes !== undefined && limits.quotaBytes > 0) inflated = Math.min(inflated, limits.quotaBytes * QUOTA_RATIO)
  return { object, inflated }
}

export interface IndexedPack {
  entries: IndexEntry[]
  checksum: Buffer
  /** Object ids in the pack with their types. */
  objects: Map<string, ObjectType>
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))
const isDelta = (type: number) => type === OBJ_OFS_DELTA || type === OBJ_REF_DELTA

/** An object whose children are being resolved: its data in memory, or at `at` in the spill file. */
interface Frame {
  i: number
  data: Buffer | null
  at: number
  len: number
  depth: number
  kids: number[]
  /** Counted in the bytes of ancestors kept in memory. */
  kept: boolean
}

export async function indexPack(src: PackSource, odb: ObjectStore, limits: PackLimits = DEFAULT_LIMITS): Promise<IndexedPack> {
  const head = src.read(0, 12)
  if (src.length < 32 || head.toString('latin1', 0, 4) !== 'PACK') throw new PackError('not a pack')
  const version = head.readUInt32BE(4)
  if (version !== 2 && version !== 3) throw new PackError('unsupported pack version')
  const n = head.readUInt32BE(8)
  const bodyEnd = src.length - 20
  const checksum = Buffer.from(src.read(bodyEnd, 20))
  if (n > (bodyEnd - 12) / 2) throw new PackError('object count larger than the pack')

  let work = 0
  const pace = async (bytes: number) => {
    work += bytes
    if (work < SLICE) return
    work = 0
    await tick()
  }
  const whole = createHash('sha1')
  for (let p = 0; p < bodyEnd; p += READ) {
    whole.update(src.read(p, Math.min(READ, bodyEnd - p)))
    await pace(READ)
  }
  if (!whole.digest().equals(checksum)) throw new PackError('pack checksum mismatch')

  const budget = packBudget(src.length, limits)
  let inflated = 0
  const charge = (bytes: number) => {
    if (bytes > budget.object) throw new PackError(`object of ${bytes} bytes exceeds the limit of ${budget.object} bytes for a pack of ${src.length} bytes`)
    inflated += bytes
    if (inflated > budget.inflated) throw new PackError(`pack inflates beyond the limit of ${budget.inflated} bytes for a pack of ${src.length} bytes`)
  }

  // Per entry, in typed arrays (untouched entries of an inflated count cost nothing).
  const pos = new Float64Array(n + 1)
  const dataAt = new Float64Array(n)
  const kind = new Uint8Array(n)
  /** Inflated size of the entry: the object, or the delta. */
  const size = new Float64Array(n)
  /** Size of the object (for a delta, of its result). */
  const result = new Float64Array(n)
  const crcs = new Uint32Array(n)
  const ofsBase = new Int32Array(n).fill(-1)
  const refBase = Buffer.alloc(20 * n)
  const oids = Buffer.alloc(20 * n)
  const types = new Uint8Array(n)
  const refs: number[] = []

  const objects = new Map<string, ObjectType>()
  const referenced = new Set<string>()
  const found = (i: number, type: number, oid: Buffer, data: Buffer | null) => {
    const hex = oid.toString('hex')
    if (objects.has(hex)) throw new PackError(`duplicate object ${hex}`)
    oid.copy(oids, 20 * i)
    types[i] = type
    objects.set(hex, TYPE_NAMES[type])
    if (!data) return
    try {
      if (type === OBJ_TREE) eachTreeId(data, refer)
      else for (const r of referencedIds(TYPE_NAMES[type], data)) refer(r)
    } catch (err) {
      throw err instanceof PackError ? err : new PackError(`malformed ${TYPE_NAMES[type]} ${hex}`)
    }
  }
  const refer = (id: string) => {
    if (objects.has(id)) return
    referenced.add(id)
    if (referenced.size > 2 * n + 1024) settle()
  }
  // Keeps the ids still to find in proportion to the pack: those found are dropped, and more than the objects yet
  // to come cannot all be in the pack.
  const settle = () => {
    for (const id of referenced) if (objects.has(id) || odb.has(id)) referenced.delete(id)
    if (referenced.size > n - objects.size) throw new PackError(`pack refers to ${referenced.size} objects that neither it nor the repository has`)
  }
  const hasher = (type: number, len: number) => createHash('sha1').update(`${TYPE_NAMES[type]} ${len}\0`)

  const inflater = new Inflater()
  const pool = new BufferPool(POOL_BYTES)
  const inflate = async (run: () => Promise<number>): Promise<number> => {
    try {
      return await run()
    } catch (err) {
      if (err instanceof InflateError && /size/.test(err.message)) throw new PackError('object size does not match its header')
      if (err instanceof InflateError) throw new PackError('corrupt or truncated pack entry')
      throw err
    }
  }
  const inflateInto = (i: number, into: Buffer) => inflate(() => inflater.intoAsync(src, dataAt[i], pos[i + 1], into, INFLATE_SLICE))

  // Pass 1: entry boundaries and CRCs, whole objects hashed, deltas' sizes.
  const sizes = Buffer.alloc(20)
  let p = 12
  for (let i = 0; i < n; i++) {
    const h = readEntryHeader(src.read(p, Math.min(32, bodyEnd - p)), 0)
    if (!h) throw new PackError('truncated pack')
    pos[i] = p
    dataAt[i] = p + h.headerLen
    kind[i] = h.type
    size[i] = h.size
    charge(h.size)
    let used: number
    if (isDelta(h.type)) {
      // Only the sizes at its start are needed now; the rest is inflated again when it is applied.
      let got = 0
      used = await inflate(() => inflater.streamAsync(src, dataAt[i], bodyEnd, h.size, (piece) => (got += piece.copy(sizes, got, 0, Math.min(piece.length, 20 - got))), INFLATE_SLICE))
      let out: number
      try {
        out = deltaSizes(sizes.subarray(0, got)).result
      } catch {
        throw new PackError('corrupt delta')
      }
      charge(out)
      result[i] = out
      if (h.type === OBJ_REF_DELTA) {
        refBase.write(h.baseOid!, 20 * i, 'hex')
        refs.push(i)
      } else {
        const b = findEntry(pos, i, p + h.baseOffset!)
        if (b < 0) throw new PackError('ofs-delta base is not an entry')
        ofsBase[i] = b
      }
    } else {
      if (!TYPE_NAMES[h.type]) throw new PackError('bad object type')
      result[i] = h.size
      const hash = hasher(h.type, h.size)
      if (h.type === OBJ_BLOB) {
        used = await inflate(() => inflater.streamAsync(src, dataAt[i], bodyEnd, h.size, (piece) => hash.update(piece), INFLATE_SLICE))
        found(i, h.type, hash.digest(), null)
      } else {
        const data = pool.take(h.size)
        used = await inflate(() => inflater.intoAsync(src, dataAt[i], bodyEnd, data, INFLATE_SLICE))
        found(i, h.type, hash.update(data).digest(), data)
        pool.give(data)
      }
    }
    const end = dataAt[i] + used
    let crc = 0
    for (let q = p; q < end; q += READ) crc = crc32(src.read(q, Math.min(READ, end - q)), crc)
    crcs[i] = crc
    await pace(ENTRY_COST + h.size + end - p)
    p = end
  }
  pos[n] = p
  if (p !== bodyEnd) throw new PackError('pack has more data than its object count')

  // Children: ofs-deltas by base entry, ref-deltas sorted by base id.
  const kidStart = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) if (ofsBase[i] >= 0) kidStart[ofsBase[i] + 1]++
  for (let i = 0; i < n; i++) kidStart[i + 1] += kidStart[i]
  const kidList = new Int32Array(kidStart[n])
  const fill = kidStart.slice(0, n)
  for (let i = 0; i < n; i++) if (ofsBase[i] >= 0) kidList[fill[ofsBase[i]]++] = i
  const byBase = (a: number, b: number) => refBase.compare(refBase, 20 * b, 20 * b + 20, 20 * a, 20 * a + 20)
  refs.sort(byBase)
  /** The ref-deltas whose base is `oid`. */
  const refKids = (oid: Buffer): number[] => {
    const out: number[] = []
    let lo = 0
    let hi = refs.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (refBase.compare(oid, 0, 20, 20 * refs[mid], 20 * refs[mid] + 20) < 0) lo = mid + 1
      else hi = mid
    }
    for (let k = lo; k < refs.length && refBase.compare(oid, 0, 20, 20 * refs[k], 20 * refs[k] + 20) === 0; k++) out.push(refs[k])
    return out
  }
  const kidsOf = (i: number): number[] => [...refKids(oids.subarray(20 * i, 20 * i + 20)), ...kidList.subarray(kidStart[i], kidStart[i + 1])]

  // Pass 2: resolve each delta tree depth-first, one child at a time.
  const spill = new SpillFile(join(src.dir ?? odb.packDir, `tmp_spill_${randomBytes(8).toString('hex')}`))
  const scratch = Buffer.allocUnsafeSlow(64 * 1024)
  const resolved = new Uint8Array(n)
  let kept = 0
  const resolveTree = async (root: number, data: Buffer, kids: number[]) => {
    const type = types[root]
    const stack: Frame[] = [{ i: root, data, at: -1, len: data.length, depth: 0, kids, kept: false }]
    const drop = (f: Frame) => {
      if (f.data) pool.give(f.data)
      f.data = null
      if (f.at >= 0) spill.truncate(f.at)
    }
    while (stack.length) {
      const top = stack[stack.length - 1]
      const c = top.kids.pop()
      if (c === undefined) {
        drop(top)
        stack.pop()
        const under = stack[stack.length - 1]
        if (under?.kept) {
          kept -= under.len
          under.kept = false
        }
        continue
      }
      if (top.depth + 1 > limits.maxDeltaDepth) throw new PackError('delta chain too deep')
      if (!top.data) {
        top.data = pool.take(top.len)
        spill.read(top.at, top.data)
      }
      const base = top.data
      const delta = pool.take(size[c])
      let out: Buffer | null = null
      try {
        await inflateInto(c, delta)
        let oid: Buffer | null = null
        if (type === OBJ_BLOB && kidStart[c + 1] === kidStart[c]) {
          // A blob nothing is known to build on: hashed from the base and the delta, never built.
          const hash = hasher(type, result[c])
          streamDelta(base, delta, budget.object, scratch, (piece) => hash.update(piece))
          oid = hash.digest()
        }
        if (!oid || refKids(oid).length) {
          out = pool.take(result[c])
          applyDelta(base, delta, budget.object, out)
          oid ??= hasher(type, out.length).update(out).digest()
        }
        found(c, type, oid, type === OBJ_BLOB ? null : out)
      } catch (err) {
        if (out) pool.give(out)
        throw err instanceof DeltaError ? new PackError(err.message) : err
      } finally {
        pool.give(delta)
      }
      resolved[c] = 1
      await pace(ENTRY_COST + size[c] + result[c])
      const next = out ? kidsOf(c) : []
      if (!next.length) {
        if (out) pool.give(out)
        continue
      }
      if (!top.kids.length) {
        // The last child: its parent is no longer needed.
        drop(top)
        stack.pop()
      } else if (top.at < 0 && kept + top.len <= KEEP_BYTES) {
        kept += top.len
        top.kept = true
      } else {
        if (top.at < 0) top.at = spill.push(top.data!)
        pool.give(top.data!)
        top.data = null
      }
      stack.push({ i: c, data: out, at: -1, len: out!.length, depth: top.depth + 1, kids: next, kept: false })
    }
  }
  try {
    for (let r = 0; r < n; r++) {
      if (isDelta(kind[r])) continue
      const kids = kidsOf(r)
      if (!kids.length) continue
      const data = pool.take(size[r])
      await inflateInto(r, data)
      await resolveTree(r, data, kids)
    }
  } finally {
    spill.close()
  }

  for (let i = 0; i < n; i++) {
    if (!isDelta(kind[i]) || resolved[i]) continue
    const thin = refs.some((k) => !resolved[k] && odb.has(refBase.toString('hex', 20 * k, 20 * k + 20)))
    throw new PackError(thin ? 'thin packs are not accepted' : 'unresolved deltas')
  }
  for (const id of referenced) if (!objects.has(id) && !odb.has(id)) throw new PackError(`missing object ${id}`)
  const entries: IndexEntry[] = []
  for (let i = 0; i < n; i++) entries.push({ oid: oids.subarray(20 * i, 20 * i + 20), offset: pos[i], crc: crcs[i] })
  return { entries, checksum, objects }
}

/** Index of the entry that starts at `at` among the first `count` entries, or -1. */
function findEntry(pos: Float64Array, count: number, at: number): number {
  let lo = 0
  let hi = count
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (pos[mid] < at) lo = mid + 1
    else hi = mid
  }
  return lo < count && pos[lo] === at ? lo : -1
}

const GITLINK = Buffer.from('160000')

/** Calls `fn` with each id a tree names (gitlinks excluded) without building its entry list, which for a tree of a few MB is tens of MB. */
function eachTreeId(data: Buffer, fn: (id: string) => void): void {
  for (let p = 0; p < data.length; ) {
    const sp = data.indexOf(0x20, p)
    const nul = sp < 0 ? -1 : data.indexOf(0, sp + 1)
    if (nul < 0 || nul + 21 > data.length) throw new Error('malformed tree')
    if (data.compare(GITLINK, 0, 6, p, sp) !== 0) fn(data.toString('hex', nul + 1, nul + 21))
    p = nul + 21
  }
}
