// zlib streams (RFC 1950/1951) inflated into buffers the caller owns: no allocation per object (memory stays flat
// however much a pack inflates to), and the exact compressed length, which a pack entry does not record.
import { BitInput, EMPTY, InflateError, SLACK } from './bit-input.ts'
import { DIST_BASE, DIST_EXTRA, DynamicTables, FIXED_DIST, FIXED_LIT, LEN_BASE, LEN_EXTRA } from './huffman.ts'
import type { PackSource } from './pack-source.ts'

/** Output of the streaming mode: the 32 KiB history deflate may copy from, plus room to emit large pieces. */
const SLIDE = 256 * 1024
const HISTORY = 32 * 1024
const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

export function adler32(adler: number, buf: Buffer, start: number, end: number): number {
  let a = adler & 0xffff
  let b = adler >>> 16
  for (let i = start; i < end; ) {
    const n = Math.min(end, i + 5552)
    for (; i < n; i++) {
      a += buf[i]
      b += a
    }
    a %= 65521
    b %= 65521
  }
  return ((b << 16) | a) >>> 0
}

export type Sink = (piece: Buffer) => void

/** One inflater, reused: its tables and sliding buffer are allocated once. Not reentrant. */
export class Inflater extends BitInput {
  private tables = new DynamicTables()
  private slide: Buffer | null = null

  /** Inflates the stream at `pos` (ending by `limit`) into exactly `out`; returns its compressed length. */
  into(src: PackSource, pos: number, limit: number, out: Buffer): number {
    this.begin(src, pos, limit, out, out.length, null)
    return this.step(Infinity)
  }

  /** Inflates the stream at `pos`, which must hold `size` bytes, handing them to `sink` in pieces; returns its compressed length. */
  stream(src: PackSource, pos: number, limit: number, size: number, sink: Sink): number {
    this.slide ??= Buffer.allocUnsafe(SLIDE)
    this.begin(src, pos, limit, this.slide, size, sink)
    return this.step(Infinity)
  }

  /** Like into(), yielding to the event loop between slices of output. */
  async intoAsync(src: PackSource, pos: number, limit: number, out: Buffer, slice: number): Promise<number> {
    this.begin(src, pos, limit, out, out.length, null)
    for (;;) {
      const used = this.step(slice)
      if (used >= 0) return used
      await tick()
    }
  }

  /** Like stream(), yielding to the event loop between slices of output. */
  async streamAsync(src: PackSource, pos: number, limit: number, size: number, sink: Sink, slice: number): Promise<number> {
    this.slide ??= Buffer.allocUnsafe(SLIDE)
    this.begin(src, pos, limit, this.slide, size, sink)
    for (;;) {
      const used = this.step(slice)
      if (used >= 0) return used
      await tick()
    }
  }

  // Output state of the current run (streaming mode: `out` is the sliding buffer).
  private out: Buffer = EMPTY
  private size = 0
  private sink: Sink | null = null
  /** Stream offset of out[0]; out[0, flushed) has gone to the sink and the checksum. */
  private base = 0
  private flushed = 0
  private adler = 1
  private o = 0
  /** Inside a Huffman block, with these tables. */
  private inBlock = false
  private final = false
  private lt = FIXED_LIT
  private lb = 9
  private dt = FIXED_DIST
  private db = 5

  /** Makes room for `n` more bytes at `o` by handing finished output to the sink; returns the new `o`. */
  private room(o: number, n: number, ip: number): number {
    const out = this.out
    if (!this.sink || this.base + o + n > this.size) throw this.broken('object size does not match its header', ip)
    this.sink(out.subarray(this.flushed, o))
    this.adler = adler32(this.adler, out, this.flushed, o)
    out.copyWithin(0, o - HISTORY, o)
    this.base += o - HISTORY
    this.flushed = HISTORY
    return HISTORY
  }

  private begin(src: PackSource, pos: number, limit: number, out: Buffer, size: number, sink: Sink | null): void {
    this.open(src, pos, limit)
    this.out = out
    this.size = size
    this.sink = sink
    this.base = this.flushed = this.o = 0
    this.adler = 1
    this.inBlock = this.final = false
    try {
      const cmf = this.bits(8)
      const flg = this.bits(8)
      if ((cmf & 15) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 || flg & 0x20) throw new InflateError('not a zlib stream')
    } catch (err) {
      throw this.fail(err)
    }
  }

  private fail(err: unknown): unknown {
    const cause = this.cause(err)
    this.end()
    return cause
  }

  private end(): void {
    this.src = null
    this.inb = EMPTY
    this.out = EMPTY
    this.sink = null
  }

  /** Inflates whole blocks until at least `max` more bytes came out; returns the compressed length once done, else -1. */
  private step(max: number): number {
    const out = this.out
    const size = this.size
    const sink = this.sink
    try {
      const cap = out.length
      let o = this.o
      const from = this.base + o
      const stop = from + max
      do {
        if (!this.inBlock) {
          this.final = this.bits(1) === 1
          const type = this.bits(2)
          if (type === 0) {
            this.bits(this.bc & 7)
            const len = this.bits(16)
            if (len !== (~this.bits(16) & 0xffff)) throw new InflateError('invalid stored block length')
            let left = len
            while (left && this.bc) {
              if (o >= cap) o = this.room(o, 1, this.ip)
              out[o++] = this.bits(8)
              left--
            }
            while (left) {
              const n = this.ready(Math.min(left, HISTORY))
              if (o + n > cap) o = this.room(o, n, this.ip)
              this.inb.copy(out, o, this.ip, this.ip + n)
              o += n
              this.ip += n
              left -= n
            }
            continue
          }
          if (type === 2) {
            ;[this.lb, this.db] = this.tables.read(this)
            this.lt = this.tables.lit
            this.dt = this.tables.dist
          } else if (type === 1) {
            this.lt = FIXED_LIT
            this.lb = 9
            this.dt = FIXED_DIST
            this.db = 5
          } else throw new InflateError('invalid deflate block type')
          this.inBlock = true
        }
        // A block may be long: it is left mid-way at `stop` and taken up again by the next step.
        const lt = this.lt
        const lb = this.lb
        const dt = this.dt
        const db = this.db
        const lmask = (1 << lb) - 1
        const dmask = (1 << db) - 1
        // The symbol loop keeps the bit buffer and input in locals (its errors hand `ip` back through `broken`). Each
        // symbol starts with SLACK input bytes readable, more than it can take, so its refills check no end of input.
        let bb = this.bb
        let bc = this.bc
        let inb = this.inb
        let ip = this.ip
        let last = inb.length - SLACK
        for (;;) {
          if (this.base + o >= stop) break
          if (ip > last) {
            this.ip = ip
            this.reserve()
            inb = this.inb
            ip = this.ip
            last = inb.length - SLACK
          }
          while (bc < 24) {
            bb |= inb[ip++] << bc
            bc += 8
          }
          let e = lt[bb & lmask]
          if (!e) throw this.broken('invalid deflate code', ip)
          bb >>>= e & 15
          bc -= e & 15
          let sym = e >> 4
          if (sym < 256) {
            if (o >= cap) o = this.room(o, 1, ip)
            out[o++] = sym
            continue
          }
          if (sym === 256) {
            this.inBlock = false
            break
          }
          sym -= 257
          if (sym > 28) throw this.broken('invalid deflate length code', ip)
          let extra = LEN_EXTRA[sym]
          let len = LEN_BASE[sym] + (bb & ((1 << extra) - 1))
          bb >>>= extra
          bc -= extra
          while (bc < 24) {
            bb |= inb[ip++] << bc
            bc += 8
          }
          e = db ? dt[bb & dmask] : 0
          if (!e) throw this.broken('invalid deflate code', ip)
          bb >>>= e & 15
          bc -= e & 15
          sym = e >> 4
          if (sym > 29) throw this.broken('invalid deflate distance code', ip)
          extra = DIST_EXTRA[sym]
          while (bc < extra) {
            bb |= inb[ip++] << bc
            bc += 8
          }
          const dist = DIST_BASE[sym] + (bb & ((1 << extra) - 1))
          bb >>>= extra
          bc -= extra
          if (dist > this.base + o) throw this.broken('deflate distance too far back', ip)
          if (o + len > cap) o = this.room(o, len, ip)
          const from = o - dist
          if (len < 32) {
            for (let k = from, end = o + len; o < end; ) out[o++] = out[k++]
          } else {
            // The copy may overlap what it writes: copy in growing steps of the repeating pattern.
            while (len > 0) {
              const n = Math.min(len, o - from)
              out.copyWithin(o, from, from + n)
              o += n
              len -= n
            }
          }
        }
        this.bb = bb
        this.bc = bc
        this.ip = ip
      } while ((this.inBlock || !this.final) && this.base + o < stop)
      if (this.inBlock || !this.final) {
        this.o = o
        return -1
      }
      this.bits(this.bc & 7)
      if (this.base + o !== size) throw new InflateError('object size does not match its header')
      if (sink) sink(out.subarray(this.flushed, o))
      const adler = adler32(this.adler, out, this.flushed, o)
      let check = 0
      for (let i = 0; i < 4; i++) check = check * 256 + this.bits(8)
      if (check !== adler) throw new InflateError('zlib checksum mismatch')
      const used = this.used()
      this.end()
      return used
    } catch (err) {
      throw this.fail(err)
    }
  }
}
