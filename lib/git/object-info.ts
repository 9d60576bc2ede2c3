// An object's type and size from headers alone, a bounded read of its first bytes, and a read that refuses
// objects (or delta chains) bigger than a limit: for callers that show objects rather than send them.
import { readSync } from 'node:fs'
import { constants, inflateSync } from 'node:zlib'
import type { GitObject, Location, ObjectStore } from './odb.ts'
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, TYPE_NAMES, readEntryHeader } from './pack-format.ts'
import type { ObjectType } from './pack-format.ts'
import { withRegularFile } from './regular-file.ts'

export interface ObjectInfo {
  type: ObjectType
  size: number
  /** Largest buffer a full read needs: the object, any delta or any intermediate result of its chain. */
  largest: number
}

/** Compressed bytes added per attempt: one attempt inflates at most about 1032 times this much more. */
const STEP = 2048
const MAX_DEPTH = 10000
/** Longest pack entry header: type and size varint, then a 20-byte base id or an offset varint. */
const ENTRY_HEADER_MAX = 40

/**
 * The first `want` bytes (fewer if the stream is shorter) of the zlib stream whose first `len` compressed bytes
 * `src(len)` returns, `total` bytes in all. Memory stays near `want`, whatever the compression ratio.
 */
function inflatePrefix(src: (len: number) => Buffer, total: number, want: number): Buffer {
  for (let len = Math.min(STEP, total); ; len = Math.min(len + STEP, total)) {
    const out = inflateSync(src(len), { finishFlush: constants.Z_SYNC_FLUSH })
    if (out.length >= want || len >= total) return out.subarray(0, want)
  }
}

/** Reads the first bytes of a loose object file (never through a symlink, regular files only). */
function loosePrefix(path: string, want: number): Buffer {
  return withRegularFile(path, (fd, st) => {
    const src = (len: number) => {
      const buf = Buffer.allocUnsafe(len)
      let got = 0
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, got)
        if (!n) break
        got += n
      }
      return buf.subarray(0, got)
    }
    return inflatePrefix(src, st.size, want)
  })
}

/** The result size in a delta's header: it follows the base size, both little-endian base-128 varints. */
function deltaResult(head: Buffer): number {
  let p = 0
  const varint = () => {
    let v = 0
    let mul = 1
    let c: number
    do {
      if (p >= head.length || mul > 2 ** 49) throw new Error('corrupt delta header')
      c = head[p++]
      v += (c & 0x7f) * mul
      mul *= 128
    } while (c & 0x80)
    return v
  }
  varint()
  return varint()
}

/** `<type> <size>\0` at the start of a loose object: the type, size and where the content starts. */
function looseHeader(head: Buffer): { type: ObjectType; size: number; start: number } {
  const nul = head.indexOf(0)
  const m = nul > 0 ? /^(commit|tree|blob|tag) ([0-9]{1,15})$/.exec(head.toString('latin1', 0, nul)) : null
  if (!m) throw new Error('corrupt loose object header')
  return { type: m[1] as ObjectType, size: Number(m[2]), start: nul + 1 }
}

/** Where a pack entry's zlib data starts and how many bytes it has. */
function packEntry(loc: Extract<Location, { pack: unknown }>) {
  const end = loc.pack.entryEnd(loc.offset)
  const h = readEntryHeader(loc.pack.read(loc.offset, Math.min(ENTRY_HEADER_MAX, end - loc.offset)), 0)
  if (!h) throw new Error('corrupt pack entry')
  const start = loc.offset + h.headerLen
  const src = (len: number) => loc.pack.read(start, len)
  return { h, src, total: end - start }
}

/** Type and size of an object from headers only: a delta's result size is in the delta's own header. */
export function objectInfo(odb: ObjectStore, oid: string): ObjectInfo | null {
  let loc = odb.locate(oid)
  if (!loc) return null
  let size = -1
  let largest = 0
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if ('loose' in loc) {
      const h = looseHeader(loosePrefix(loc.loose, 64))
      if (size < 0) size = h.size
      return { type: h.type, size, largest: Math.max(largest, h.size) }
    }
    const { h, src, total } = packEntry(loc)
    largest = Math.max(largest, h.size)
    if (h.type !== OBJ_OFS_DELTA && h.type !== OBJ_REF_DELTA) {
      const type = TYPE_NAMES[h.type]
      if (!type) throw new Error('bad object type in pack')
      if (size < 0) size = h.size
      return { type, size, largest }
    }
    const result = deltaResult(inflatePrefix(src, total, 20))
    if (size < 0) size = result
    largest = Math.max(largest, result)
    // baseOffset is relative to the buffer the header was read from
    if (h.type === OBJ_OFS_DELTA) loc = { pack: loc.pack, offset: loc.offset + h.baseOffset! }
    else {
      const base = odb.locate(h.baseOid!)
      if (!base) throw new Error(`missing delta base ${h.baseOid}`)
      loc = base
    }
  }
  throw new Error('delta chain too deep')
}

/** The first `n` bytes of an object stored whole (loose, or a pack entry that is not a delta); null otherwise. */
export function readPrefix(odb: ObjectStore, oid: string, n: number): Buffer | null {
  const loc = odb.locate(oid)
  if (!loc) return null
  if ('loose' in loc) {
    const head = loosePrefix(loc.loose, n + 64)
    return head.subarray(looseHeader(head).start).subarray(0, n)
  }
  const { h, src, total } = packEntry(loc)
  if (h.type === OBJ_OFS_DELTA || h.type === OBJ_REF_DELTA) return null
  return inflatePrefix(src, total, n)
}

/** The whole object when neither it nor anything its delta chain builds is larger than `limit` bytes. */
export function readWithin(odb: ObjectStore, oid: string, limit: number): GitObject | 'too-large' | null {
  const info = objectInfo(odb, oid)
  if (!info) return null
  if (info.largest > limit) return 'too-large'
  return odb.read(oid)
}
