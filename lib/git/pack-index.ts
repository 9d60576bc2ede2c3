// Pack index version 2 (.idx): writer and in-memory reader.
import { createHash } from 'node:crypto'

export interface IndexEntry {
  oid: Buffer
  offset: number
  crc: number
}

export function writeIndex(entries: IndexEntry[], packChecksum: Buffer): Buffer {
  const sorted = [...entries].sort((a, b) => Buffer.compare(a.oid, b.oid))
  const n = sorted.length
  const big = sorted.filter((e) => e.offset >= 0x80000000)
  const buf = Buffer.alloc(8 + 1024 + n * 28 + big.length * 8 + 40)
  buf.writeUInt32BE(0xff744f63, 0)
  buf.writeUInt32BE(2, 4)
  let p = 8
  let j = 0
  for (let b = 0; b < 256; b++) {
    while (j < n && sorted[j].oid[0] <= b) j++
    buf.writeUInt32BE(j, p)
    p += 4
  }
  for (const e of sorted) p += e.oid.copy(buf, p)
  for (const e of sorted) p = buf.writeUInt32BE(e.crc >>> 0, p)
  let k = 0
  for (const e of sorted) p = buf.writeUInt32BE(e.offset < 0x80000000 ? e.offset : (0x80000000 | k++) >>> 0, p)
  for (const e of big) p = buf.writeBigUInt64BE(BigInt(e.offset), p)
  p += packChecksum.copy(buf, p)
  createHash('sha1').update(buf.subarray(0, p)).digest().copy(buf, p)
  return buf
}

export class PackIndex {
  readonly count: number
  private readonly oidsAt: number
  private readonly offsAt: number
  private readonly bigAt: number

  constructor(readonly buf: Buffer) {
    if (buf.readUInt32BE(0) !== 0xff744f63 || buf.readUInt32BE(4) !== 2) throw new Error('unsupported pack index')
    this.count = buf.readUInt32BE(8 + 255 * 4)
    this.oidsAt = 8 + 1024
    this.offsAt = this.oidsAt + this.count * 24
    this.bigAt = this.offsAt + this.count * 4
  }

  oid(i: number): string {
    return this.buf.toString('hex', this.oidsAt + i * 20, this.oidsAt + i * 20 + 20)
  }

  offset(i: number): number {
    const v = this.buf.readUInt32BE(this.offsAt + i * 4)
    if (!(v & 0x80000000)) return v
    return Number(this.buf.readBigUInt64BE(this.bigAt + (v & 0x7fffffff) * 8))
  }

  /** Position of the object in the index, or -1. */
  find(oid: Buffer): number {
    const first = oid[0]
    let lo = first ? this.buf.readUInt32BE(8 + (first - 1) * 4) : 0
    let hi = this.buf.readUInt32BE(8 + first * 4)
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const at = this.oidsAt + mid * 20
      const c = this.buf.compare(oid, 0, 20, at, at + 20)
      if (c === 0) return mid
      if (c < 0) lo = mid + 1
      else hi = mid
    }
    return -1
  }
}
