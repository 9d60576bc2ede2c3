// Pack entry headers, ofs-delta offsets and object type codes (gitformat-pack).

export const OBJ_COMMIT = 1
export const OBJ_TREE = 2
export const OBJ_BLOB = 3
export const OBJ_TAG = 4
export const OBJ_OFS_DELTA = 6
export const OBJ_REF_DELTA = 7

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag'
export const TYPE_NAMES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' }
export const TYPE_CODES: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 }

export interface EntryHeader {
  type: number
  size: number
  /** Bytes from the entry start to its zlib data. */
  headerLen: number
  /** Absolute pack offset of the base for ofs-delta. */
  baseOffset?: number
  /** Base object id (hex) for ref-delta. */
  baseOid?: string
}

/** Parses an entry header at `pos`; returns null when `buf` ends too early. */
export function readEntryHeader(buf: Buffer, pos: number): EntryHeader | null {
  let p = pos
  if (p >= buf.length) return null
  let c = buf[p++]
  const type = (c >> 4) & 7
  let size = c & 15
  let mul = 16
  while (c & 0x80) {
    if (p >= buf.length || mul > 2 ** 45) return null
    c = buf[p++]
    size += (c & 0x7f) * mul
    mul *= 128
  }
  const h: EntryHeader = { type, size, headerLen: 0 }
  if (type === OBJ_OFS_DELTA) {
    if (p >= buf.length) return null
    c = buf[p++]
    let ofs = c & 0x7f
    while (c & 0x80) {
      if (p >= buf.length || ofs > 2 ** 45) return null
      c = buf[p++]
      ofs = (ofs + 1) * 128 + (c & 0x7f)
    }
    h.baseOffset = pos - ofs
  } else if (type === OBJ_REF_DELTA) {
    if (p + 20 > buf.length) return null
    h.baseOid = buf.toString('hex', p, p + 20)
    p += 20
  }
  h.headerLen = p - pos
  return h
}

export function encodeEntryHeader(type: number, size: number): Buffer {
  const out: number[] = []
  let c = (type << 4) | (size & 15)
  let rest = Math.floor(size / 16)
  while (rest > 0) {
    out.push(c | 0x80)
    c = rest & 0x7f
    rest = Math.floor(rest / 128)
  }
  out.push(c)
  return Buffer.from(out)
}

/** Encodes a backwards distance for an ofs-delta entry. */
export function encodeOfs(distance: number): Buffer {
  const out = [distance & 0x7f]
  let n = Math.floor(distance / 128)
  while (n > 0) {
    n -= 1
    out.unshift(0x80 | (n & 0x7f))
    n = Math.floor(n / 128)
  }
  return Buffer.from(out)
}

export function packHeader(count: number): Buffer {
  const b = Buffer.alloc(12)
  b.write('PACK', 0, 'latin1')
  b.writeUInt32BE(2, 4)
  b.writeUInt32BE(count, 8)
  return b
}
