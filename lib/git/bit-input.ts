// The input side of inflate.ts: a zlib stream read from a pack source in chunks, as a little-endian bit buffer.
import type { PackSource } from './pack-source.ts'

export class InflateError extends Error {}

const CHUNK = 64 * 1024
export const EMPTY = Buffer.alloc(0)

/** Bit-level reader over [ibase, limit) of a pack source; the inflater's hot loop works on these fields directly. */
export class BitInput {
  protected src: PackSource | null = null
  protected inb: Buffer = EMPTY
  protected ibase = 0
  protected ip = 0
  protected limit = 0
  protected pad = 0
  protected bb = 0
  protected bc = 0

  /** Starts reading at `pos`; the stream must end by `limit`. */
  protected open(src: PackSource, pos: number, limit: number): void {
    this.src = src
    this.limit = limit
    this.inb = EMPTY
    this.ibase = pos
    this.ip = 0
    this.pad = 0
    this.bb = 0
    this.bc = 0
  }

  protected fetch(): void {
    this.ibase += this.inb.length
    const len = Math.min(CHUNK, this.limit - this.ibase)
    this.inb = len > 0 ? this.src!.read(this.ibase, len) : EMPTY
    this.ip = 0
  }

  /** Ensures `n` (at most 24) bits in the bit buffer; past the input, zero bytes that the end check refuses. */
  protected need(n: number): void {
    while (this.bc < n) {
      if (this.ip >= this.inb.length) this.fetch()
      let b = 0
      if (this.ip < this.inb.length) b = this.inb[this.ip++]
      else if (++this.pad > 8) throw new InflateError('truncated deflate stream')
      this.bb |= b << this.bc
      this.bc += 8
    }
  }

  bits(n: number): number {
    if (!n) return 0
    this.need(n)
    const v = this.bb & ((1 << n) - 1)
    this.bb >>>= n
    this.bc -= n
    return v
  }

  /** The next symbol of a code whose lookup table `table` is indexed by `max` bits. */
  decode(table: Uint16Array, max: number): number {
    this.need(max)
    const e = max ? table[this.bb & ((1 << max) - 1)] : 0
    if (!e) throw new InflateError('invalid deflate code')
    const len = e & 15
    this.bb >>>= len
    this.bc -= len
    return e >> 4
  }
}
