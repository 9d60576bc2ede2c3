// Validates and indexes a received pack: trailer, object count, size and delta-depth limits, connectivity.
// Memory stays bounded however much the pack inflates to: objects inflate into reused buffers, delta trees resolve
// depth-first one child at a time (delta-trees.ts), leaf blobs are hashed without being built, and ancestors that
// still have children wait in a spill file once they exceed a few MB. Work yields to the event loop every few MB.
import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { deltaSizes } from './delta.ts'
import { InflateError } from './bit-input.ts'
import { ENTRY_COST, isDelta, resolveDeltas } from './delta-trees.ts'
import { Inflater } from './inflate.ts'
import { referencedIds } from './objects.ts'
import type { ObjectStore } from './odb.ts'
import { BufferPool } from './pack-scratch.ts'
import type { IndexEntry } from './pack-index.ts'
import type { PackSource } from './pack-source.ts'
import { OBJ_BLOB, OBJ_REF_DELTA, OBJ_TREE, TYPE_NAMES, readEntryHeader } from './pack-format.ts'
import type { ObjectType } from './pack-format.ts'
import { DEFAULT_LIMITS, PackError, packBudget, type PackLimits } from './pack-limits.ts'

const MiB = 2 ** 20
/** Free buffers kept for reuse. */
const POOL_BYTES = 24 * MiB
/** Work (bytes inflated, copied or hashed) between two yields to the event loop. */
const SLICE = MiB
/** Output inflated between two yields (the inflater is slow until the JIT has warmed it up). */
const INFLATE_SLICE = 256 * 1024
const READ = 4 * MiB

export interface IndexedPack {
  entries: IndexEntry[]
  checksum: Buffer
  /** Object ids in the pack with their types. */
  objects: Map<string, ObjectType>
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

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

  const resolved = await resolveDeltas(
    { n, kind, size, result, ofsBase, refBase, refs, oids, types },
    { pool, dir: src.dir ?? odb.packDir, maxDeltaDepth: limits.maxDeltaDepth, maxObject: budget.object, inflateInto, hasher, found, pace },
  )

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
