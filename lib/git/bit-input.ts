// The input side of inflate.ts: a zlib stream read from a pack source in chunks, as a little-endian bit buffer.
import type { PackSource } from './pack-source.ts'

export class InflateError extends Error {}

const CHUNK = 64 * 1024
/** Zero bytes the bit buffer may read past the input (look-ahead); one more and the stream is truncated. */
const PAD = 8
/** Bytes `reserve` makes readable at `ip`: enough for any whole deflate symbol (at most 7). */
export const SLACK = 8
export const EMPTY = Buffer.alloc(0)

/** Bit-level reader over [start, iend) of a pack source; the inflater's hot loop works on these fields directly. */
export class BitInput {
  protected src: PackSource | null = null
  /** Input bytes from `ibase`; at `iend` and after, zero bytes. */
  protected inb: Buffer = EMPTY
  protected ibase = 0
  protected ip = 0
  protected bb = 0
  protected bc = 0
  private start = 0
  private iend = 0
  private tail = Buffer.alloc(PAD + 2 * SLACK)

  /** Starts reading at `pos`; the stream must end by `limit`. */
  protected open(src: PackSource, pos: number, limit: number): void {
    this.src = src
    this.iend = Math.min(limit, src.length)
    this.start = this.ibase = pos
    this.ip = this.bb = this.bc = 0
    this.inb = EMPTY
  }

  /** Moves the input to `ip`, with at least SLACK bytes readable there: the input's own, then zero bytes. */
  protected reserve(): void {
    const at = this.ibase + this.ip
    const left = this.iend - at
    if (left < -PAD) throw new InflateError('truncated deflate stream')
    if (left >= SLACK) {
      this.inb = this.src!.read(at, Math.min(CHUNK, left))
      this.ibase = at
      this.ip = 0
      return
    }
    // Near the end: the last bytes, then zeros up to SLACK past the padding, placed to end the tail buffer.
    const tail = this.tail
    const k = tail.length - (left + PAD + SLACK)
    let from = this.inb
    let f = this.ip
    if (f + left > from.length) {
      from = this.src!.read(at, left)
      f = 0
    }
    for (let i = 0; k + i < tail.length; i++) tail[k + i] = i < left ? from[f + i] : 0
    this.inb = tail
    this.ibase = at - k
    this.ip = k
  }

  /** At least one input byte readable at `ip`; returns how many (at most `max`) are the input's own. */
  protected ready(max: number): number {
    if (this.ip >= this.inb.length) this.reserve()
    const n = Math.min(max, this.inb.length - this.ip, this.iend - this.ibase - this.ip)
    if (n <= 0) throw new InflateError('truncated deflate stream')
    return n
  }

  /** Ensures `n` (at most 24) bits in the bit buffer. */
  protected need(n: number): void {
    while (this.bc < n) {
      if (this.ip >= this.inb.length) this.reserve()
      this.bb |= this.inb[this.ip++] << this.bc
      this.bc += 8
    }
  }

  /** The error for a broken stream found with the input read up to `ip` (the hot loop's copy of it). */
  protected broken(message: string, ip: number): InflateError {
    this.ip = ip
    return new InflateError(message)
  }

  /**
   * What an error of this run stands for: once the bit buffer has read more zero bytes past the input than its
   * look-ahead may (checked lazily, not per byte), a truncated stream, whatever the zeros then decoded to.
   */
  protected cause(err: unknown): unknown {
    const over = this.ibase + this.ip > this.iend + PAD
    return err instanceof InflateError && over ? new InflateError('truncated deflate stream') : err
  }

  /** Bytes of input the stream took, its last byte read; refuses one that ran past the input. */
  protected used(): number {
    const at = this.ibase + this.ip - (this.bc >> 3)
    if (at > this.iend) throw new InflateError('truncated deflate stream')
    return at - this.start
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
