// Validates and indexes a received pack: trailer, object count, size and delta-depth limits, connectivity.
import { crc32, inflateSync } from 'node:zlib'
import { applyDelta, DeltaError, deltaResultSize } from './delta.ts'
import { hashObject, referencedIds } from './objects.ts'
import type { ObjectStore } from './odb.ts'
import type { IndexEntry } from './pack-index.ts'
import { sha1Of } from './pack-source.ts'
import type { PackSource } from './pack-source.ts'
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, TYPE_NAMES, readEntryHeader } from './pack-format.ts'
import type { ObjectType } from './pack-format.ts'

export class PackError extends Error {}

export interface PackLimits {
  /** Largest single object, inflated. */
  maxObjectSize: number
  /** Sum of all inflated objects and deltas in one pack. */
  maxInflated: number
  maxDeltaDepth: number
}

export const DEFAULT_LIMITS: PackLimits = { maxObjectSize: 256 * 2 ** 20, maxInflated: 2 * 2 ** 30, maxDeltaDepth: 1000 }

export interface IndexedPack {
  entries: IndexEntry[]
  checksum: Buffer
  /** Object ids in the pack with their types. */
  objects: Map<string, ObjectType>
}

interface Entry {
  pos: number
  end: number
  dataAt: number
  type: number
  size: number
  crc: number
  base?: number | string
  oid?: string
  /** Inflated delta kept from the first pass (within a memory budget). */
  delta?: Buffer
}

/** Bytes of inflated data kept between passes to avoid inflating twice. */
const KEEP_BYTES = 16 * 2 ** 20

/** Inflates one entry; the compressed length is unknown in pass 1, so the input grows until it suffices. */
function inflateEntry(src: PackSource, e: { dataAt: number; size: number }, limit: number): { data: Buffer; used: number } {
  const max = limit - e.dataAt
  let want = Math.min(max, e.size + 1024 + (e.size >> 4))
  for (;;) {
    try {
      const r = inflateSync(src.read(e.dataAt, want), { info: true, maxOutputLength: Math.max(1, e.size), chunkSize: Math.max(64, e.size + 1) }) as unknown as {
        buffer: Buffer
        engine: { bytesWritten: number }
      }
      if (r.buffer.length !== e.size) throw new PackError('object size does not match its header')
      return { data: r.buffer, used: r.engine.bytesWritten }
    } catch (err) {
      if (err instanceof PackError) throw err
      if ((err as { code?: string }).code === 'Z_BUF_ERROR' && want < max) {
        want = Math.min(max, want * 2)
        continue
      }
      throw new PackError('corrupt or truncated pack entry')
    }
  }
}

export function indexPack(src: PackSource, odb: ObjectStore, limits: PackLimits = DEFAULT_LIMITS): IndexedPack {
  const head = src.read(0, 12)
  if (src.length < 32 || head.toString('latin1', 0, 4) !== 'PACK') throw new PackError('not a pack')
  const version = head.readUInt32BE(4)
  if (version !== 2 && version !== 3) throw new PackError('unsupported pack version')
  const count = head.readUInt32BE(8)
  const bodyEnd = src.length - 20
  const checksum = Buffer.from(src.read(bodyEnd, 20))
  if (!sha1Of(src, bodyEnd).equals(checksum)) throw new PackError('pack checksum mismatch')
  if (count > (bodyEnd - 12) / 2) throw new PackError('object count larger than the pack')

  const entries: Entry[] = []
  const byPos = new Map<number, Entry>()
  const objects = new Map<string, ObjectType>()
  const referenced = new Set<string>()
  let inflated = 0
  const charge = (n: number) => {
    if (n > limits.maxObjectSize) throw new PackError('object exceeds the size limit')
    inflated += n
    if (inflated > limits.maxInflated) throw new PackError('pack inflates beyond the size limit')
  }
  const found = (e: Entry, type: ObjectType, data: Buffer) => {
    const oid = hashObject(type, data)
    if (objects.has(oid)) throw new PackError(`duplicate object ${oid}`)
    e.oid = oid
    objects.set(oid, type)
    try {
      for (const r of referencedIds(type, data)) referenced.add(r)
    } catch {
      throw new PackError(`malformed ${type} ${oid}`)
    }
  }

  // Pass 1: entry boundaries, whole objects hashed.
  let kept = 0
  const recent = new Map<number, Buffer>()
  let recentBytes = 0
  let pos = 12
  for (let i = 0; i < count; i++) {
    const h = readEntryHeader(src.read(pos, Math.min(32, bodyEnd - pos)), 0)
    if (!h) throw new PackError('truncated pack')
    if (h.baseOffset !== undefined) h.baseOffset += pos
    const e: Entry = { pos, end: 0, dataAt: pos + h.headerLen, type: h.type, size: h.size, crc: 0 }
    charge(h.size)
    const { data, used } = inflateEntry(src, e, bodyEnd)
    e.end = e.dataAt + used
    e.crc = crc32(src.read(pos, e.end - pos))
    if (h.type === OBJ_OFS_DELTA || h.type === OBJ_REF_DELTA) {
      e.base = h.type === OBJ_OFS_DELTA ? h.baseOffset! : h.baseOid!
      try {
        charge(deltaResultSize(data))
      } catch (err) {
        throw err instanceof PackError ? err : new PackError('corrupt delta')
      }
      if (kept + data.length <= KEEP_BYTES) {
        e.delta = data
        kept += data.length
      }
    } else {
      const type = TYPE_NAMES[h.type]
      if (!type) throw new PackError('bad object type')
      found(e, type, data)
      // Recent whole objects are likely delta bases (ofs-delta bases precede their deltas).
      if (data.length <= KEEP_BYTES / 8) {
        recent.set(pos, data)
        recentBytes += data.length
        for (const [k, v] of recent) {
          if (recentBytes <= KEEP_BYTES) break
          recent.delete(k)
          recentBytes -= v.length
        }
      }
    }
    entries.push(e)
    byPos.set(pos, e)
    pos = e.end
  }
  if (pos !== bodyEnd) throw new PackError('pack has more data than its object count')

  // Pass 2: resolve deltas depth-first from each base.
  const children = new Map<number | string, Entry[]>()
  for (const e of entries) {
    if (e.base === undefined) continue
    if (typeof e.base === 'number' && !byPos.has(e.base)) throw new PackError('ofs-delta base is not an entry')
    const list = children.get(e.base)
    if (list) list.push(e)
    else children.set(e.base, [e])
  }
  const resolveFrom = (root: Entry, type: ObjectType, data: Buffer) => {
    const stack: { e: Entry; data: Buffer; depth: number }[] = [{ e: root, data, depth: 0 }]
    while (stack.length) {
      const { e, data: base, depth } = stack.pop()!
      for (const key of [e.pos, e.oid!]) {
        const kids = children.get(key)
        if (!kids) continue
        children.delete(key)
        if (depth + 1 > limits.maxDeltaDepth) throw new PackError('delta chain too deep')
        for (const kid of kids) {
          const delta = kid.delta ?? inflateEntry(src, kid, kid.end).data
          kid.delta = undefined
          let out: Buffer
          try {
            out = applyDelta(base, delta, limits.maxObjectSize)
          } catch (err) {
            throw new PackError(err instanceof DeltaError ? err.message : 'bad delta')
          }
          found(kid, type, out)
          stack.push({ e: kid, data: out, depth: depth + 1 })
        }
      }
    }
  }
  for (const e of entries) {
    if (e.base !== undefined || !(children.has(e.pos) || children.has(e.oid!))) continue
    resolveFrom(e, TYPE_NAMES[e.type], recent.get(e.pos) ?? inflateEntry(src, e, e.end).data)
  }
  const unresolved = entries.filter((e) => e.oid === undefined)
  if (unresolved.length) {
    const external = unresolved.find((e) => typeof e.base === 'string' && odb.has(e.base))
    throw new PackError(external ? 'thin packs are not accepted' : 'unresolved deltas')
  }

  for (const id of referenced) if (!objects.has(id) && !odb.has(id)) throw new PackError(`missing object ${id}`)
  return {
    entries: entries.map((e) => ({ oid: Buffer.from(e.oid!, 'hex'), offset: e.pos, crc: e.crc })),
    checksum,
    objects,
  }
}
