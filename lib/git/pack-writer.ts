// Streams a pack of the given objects, copying stored compressed entries (deltas included)
// and rewriting ofs-delta distances; objects whose delta base is not sent go out whole.
import { createHash } from 'node:crypto'
import { crc32, deflateSync } from 'node:zlib'
import type { ObjectStore } from './odb.ts'
import { readLoose } from './odb.ts'
import type { PackFile } from './pack-file.ts'
import {
  OBJ_OFS_DELTA,
  OBJ_REF_DELTA,
  TYPE_CODES,
  encodeEntryHeader,
  encodeOfs,
  packHeader,
  readEntryHeader,
} from './pack-format.ts'

const CHUNK = 256 * 1024
const WINDOW = 4 * 1024 * 1024

/** Sequential reads through a pack with one large window. */
class Window {
  private start = 0
  private buf: Buffer = Buffer.alloc(0)
  constructor(private pack: PackFile) {}
  get(pos: number, len: number): Buffer {
    if (pos < this.start || pos + len > this.start + this.buf.length) {
      this.start = pos
      this.buf = this.pack.read(pos, Math.min(Math.max(len, WINDOW), this.pack.size - pos))
    }
    return this.buf.subarray(pos - this.start, pos - this.start + len)
  }
}

export interface WriteOptions {
  ofsDelta: boolean
  /** Told of each entry written (for an index of the pack): its object, offset and CRC-32. */
  onEntry?: (oid: string, offset: number, crc: number) => void
}

export function* writePack(odb: ObjectStore, oids: Set<string>, opts: WriteOptions): Generator<Buffer> {
  const byPack = new Map<PackFile, number[]>()
  const loose: [string, string][] = []
  for (const oid of oids) {
    const loc = odb.locate(oid)
    if (!loc) throw new Error(`missing object ${oid}`)
    if ('loose' in loc) loose.push([oid, loc.loose])
    else {
      const list = byPack.get(loc.pack)
      if (list) list.push(loc.offset)
      else byPack.set(loc.pack, [loc.offset])
    }
  }

  const hash = createHash('sha1')
  let pending: Buffer[] = []
  let pendingBytes = 0
  let written = 0
  let crc = 0
  const onEntry = opts.onEntry
  const emit = (b: Buffer) => {
    if (onEntry) crc = crc32(b, crc)
    hash.update(b)
    pending.push(b)
    pendingBytes += b.length
    written += b.length
  }
  const flush = (): Buffer => {
    const out = Buffer.concat(pending, pendingBytes)
    pending = []
    pendingBytes = 0
    return out
  }
  const whole = (type: number, data: Buffer) => {
    emit(encodeEntryHeader(type, data.length))
    emit(deflateSync(data, { level: 1 }))
  }

  emit(packHeader(oids.size))
  for (const [pack, offsets] of byPack) {
    offsets.sort((a, b) => a - b)
    const outAt = new Map<number, number>()
    const win = new Window(pack)
    for (const off of offsets) {
      const end = pack.entryEnd(off)
      const raw = win.get(off, end - off)
      const h = readEntryHeader(raw, 0)!
      const baseOffset = off + (h.baseOffset ?? 0)
      const here = written
      outAt.set(off, here)
      crc = 0
      if (h.type === OBJ_OFS_DELTA) {
        const baseAt = outAt.get(baseOffset)
        const baseOid = baseAt === undefined ? pack.oidAt(baseOffset) : ''
        if (baseAt !== undefined && opts.ofsDelta) {
          emit(Buffer.concat([encodeEntryHeader(OBJ_OFS_DELTA, h.size), encodeOfs(here - baseAt)]))
          emit(raw.subarray(h.headerLen))
        } else if (baseAt !== undefined || oids.has(baseOid)) {
          const base = baseOid || pack.oidAt(baseOffset)
          emit(Buffer.concat([encodeEntryHeader(OBJ_REF_DELTA, h.size), Buffer.from(base, 'hex')]))
          emit(raw.subarray(h.headerLen))
        } else {
          const o = odb.readAt(pack, off)
          whole(TYPE_CODES[o.type], o.data)
        }
      } else if (h.type === OBJ_REF_DELTA && !oids.has(h.baseOid!)) {
        const o = odb.readAt(pack, off)
        whole(TYPE_CODES[o.type], o.data)
      } else emit(raw)
      onEntry?.(pack.oidAt(off), here, crc)
      if (pendingBytes >= CHUNK) yield flush()
    }
  }
  for (const [oid, path] of loose) {
    const here = written
    crc = 0
    const o = readLoose(path)
    whole(TYPE_CODES[o.type], o.data)
    onEntry?.(oid, here, crc)
    if (pendingBytes >= CHUNK) yield flush()
  }
  const sum = hash.digest()
  pending.push(sum)
  pendingBytes += sum.length
  yield flush()
}

/** Object entries stored in packs and loose files (an object stored twice counts twice). */
export function storedCount(odb: ObjectStore): number {
  let n = odb.looseIds().length
  for (const p of odb.packs) n += p.index.count
  return n
}

/** Every object id in the repository, each once. */
export function storedObjects(odb: ObjectStore): Set<string> {
  const out = new Set<string>()
  for (const p of odb.packs) for (let i = 0; i < p.index.count; i++) out.add(p.index.oid(i))
  for (const id of odb.looseIds()) out.add(id)
  return out
}
