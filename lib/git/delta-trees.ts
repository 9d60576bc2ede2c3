// Second pass of index-pack: each delta tree resolved depth-first, one child at a time. Ancestors that still have
// children stay in memory up to a few MB, then wait in a spill file; a leaf blob is hashed without being built.
import { randomBytes, type Hash } from 'node:crypto'
import { join } from 'node:path'
import { applyDelta, DeltaError, streamDelta } from './delta.ts'
import { BufferPool, SpillFile } from './pack-scratch.ts'
import { OBJ_BLOB, OBJ_OFS_DELTA, OBJ_REF_DELTA } from './pack-format.ts'
import { PackError } from './pack-limits.ts'

const MiB = 2 ** 20
/** Ancestors kept in memory while their other children resolve; beyond this they go to the spill file. */
const KEEP_BYTES = 8 * MiB
/** What handling one entry costs beside its bytes, in the same unit: a yield every thousand small objects. */
export const ENTRY_COST = 4096

export const isDelta = (type: number) => type === OBJ_OFS_DELTA || type === OBJ_REF_DELTA

/** What the first pass learnt of each entry, in typed arrays indexed by entry. */
export interface PackEntries {
  n: number
  kind: Uint8Array
  /** Inflated size of the entry: the object, or the delta. */
  size: Float64Array
  /** Size of the object (for a delta, of its result). */
  result: Float64Array
  /** The entry an ofs-delta builds on, else -1. */
  ofsBase: Int32Array
  /** The base id of each ref-delta (20 bytes per entry). */
  refBase: Buffer
  /** The ref-delta entries. */
  refs: number[]
  /** Ids and types of the objects found so far (20 bytes per entry). */
  oids: Buffer
  types: Uint8Array
}

/** What resolving needs from the indexer: its buffers, limits, inflater and bookkeeping. */
export interface Resolver {
  pool: BufferPool
  /** Where the spill file goes. */
  dir: string
  maxDeltaDepth: number
  maxObject: number
  inflateInto(i: number, into: Buffer): Promise<number>
  hasher(type: number, len: number): Hash
  found(i: number, type: number, oid: Buffer, data: Buffer | null): void
  pace(bytes: number): Promise<void>
}

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

/** Resolves every delta reachable from a whole object in the pack; returns which entries were resolved. */
export async function resolveDeltas(e: PackEntries, r: Resolver): Promise<Uint8Array> {
  const { n, kind, size, result, ofsBase, refBase, refs, oids, types } = e
  const { pool, inflateInto, hasher, found, pace } = r
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
  const spill = new SpillFile(join(r.dir, `tmp_spill_${randomBytes(8).toString('hex')}`))
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
      if (top.depth + 1 > r.maxDeltaDepth) throw new PackError('delta chain too deep')
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
          streamDelta(base, delta, r.maxObject, scratch, (piece) => hash.update(piece))
          oid = hash.digest()
        }
        if (!oid || refKids(oid).length) {
          out = pool.take(result[c])
          applyDelta(base, delta, r.maxObject, out)
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
  return resolved
}
