// An object's type from its header alone: a branch check must not inflate a large blob to learn it is one.
import { closeSync, constants as fsc, fstatSync, openSync, readSync } from 'node:fs'
import { constants, inflateSync } from 'node:zlib'
import type { ObjectStore } from './odb.ts'
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, TYPE_NAMES, readEntryHeader } from './pack-format.ts'
import type { ObjectType } from './pack-format.ts'

const MAX_CHAIN = 10_000

/** The first bytes of a loose object, inflated as far as they go. */
function looseType(path: string): ObjectType | null {
  const buf = Buffer.alloc(256)
  let n: number
  // Never through a symlink, and only a regular file (a FIFO would block).
  let fd: number
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK)
  } catch {
    return null
  }
  try {
    if (!fstatSync(fd).isFile()) return null
    n = readSync(fd, buf, 0, buf.length, 0)
  } finally {
    closeSync(fd)
  }
  let head: string
  try {
    head = inflateSync(buf.subarray(0, n), { finishFlush: constants.Z_SYNC_FLUSH }).toString('latin1', 0, 16)
  } catch {
    return null
  }
  const type = head.slice(0, head.indexOf(' '))
  return ['commit', 'tree', 'blob', 'tag'].includes(type) ? (type as ObjectType) : null
}

/** Type of a stored object (following delta bases by their headers), or null when it is not stored. */
export function objectType(odb: ObjectStore, oid: string): ObjectType | null {
  let loc = odb.locate(oid)
  for (let i = 0; loc && i < MAX_CHAIN; i++) {
    if ('loose' in loc) return looseType(loc.loose)
    const { pack, offset } = loc
    const h = readEntryHeader(pack.read(offset, Math.min(64, pack.size - offset)), 0)
    if (!h) return null
    if (h.type === OBJ_OFS_DELTA) loc = { pack, offset: offset + h.baseOffset! }
    else if (h.type === OBJ_REF_DELTA) loc = odb.locate(h.baseOid!)
    else return TYPE_NAMES[h.type] ?? null
  }
  return null
}
