// Deflate's code tables (RFC 1951): lookup tables built from code lengths, the fixed codes, and a dynamic block's
// code lengths read from the stream, for inflate.ts.
import { InflateError, type BitInput } from './bit-input.ts'

export const LEN_BASE = Uint16Array.of(3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258)
export const LEN_EXTRA = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0)
export const DIST_BASE = Uint16Array.of(1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577)
export const DIST_EXTRA = Uint8Array.of(0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13)
const CL_ORDER = Uint8Array.of(16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15)

const count = new Uint16Array(16)
const next = new Uint16Array(16)

/**
 * Fills a lookup table indexed by the next `max` input bits (entries: symbol << 4 | code length, 0 = invalid) and
 * returns `max`, 0 when no symbol has a code. Like zlib, only a single one-bit code may leave the code incomplete.
 */
function build(lens: Uint8Array, from: number, n: number, table: Uint16Array, mustBeComplete: boolean): number {
  count.fill(0)
  for (let i = 0; i < n; i++) count[lens[from + i]]++
  count[0] = 0
  let max = 15
  while (max > 0 && !count[max]) max--
  if (!max) return 0
  let left = 1
  for (let len = 1; len <= 15; len++) {
    left = (left << 1) - count[len]
    if (left < 0) throw new InflateError('invalid deflate code lengths')
  }
  if (left > 0 && (mustBeComplete || max !== 1)) throw new InflateError('incomplete deflate code')
  next[1] = 0
  for (let len = 1; len < 15; len++) next[len + 1] = (next[len] + count[len]) << 1
  const size = 1 << max
  table.fill(0, 0, size)
  for (let sym = 0; sym < n; sym++) {
    const len = lens[from + sym]
    if (!len) continue
    let code = next[len]++
    let rev = 0
    for (let i = 0; i < len; i++) {
      rev = (rev << 1) | (code & 1)
      code >>= 1
    }
    for (let i = rev; i < size; i += 1 << len) table[i] = (sym << 4) | len
  }
  return max
}

export const FIXED_LIT = new Uint16Array(1 << 9)
export const FIXED_DIST = new Uint16Array(1 << 5)
{
  const l = new Uint8Array(288)
  l.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288)
  build(l, 0, 288, FIXED_LIT, true)
  build(new Uint8Array(32).fill(5), 0, 32, FIXED_DIST, true)
}

/** The tables one inflater fills for each dynamic block, allocated once. */
export class DynamicTables {
  readonly lit = new Uint16Array(1 << 15)
  readonly dist = new Uint16Array(1 << 15)
  private cl = new Uint16Array(1 << 7)
  private lens = new Uint8Array(286 + 30)

  /** Reads a dynamic block's code lengths from `input` into the tables; returns [literal bits, distance bits]. */
  read(input: BitInput): [number, number] {
    const nlen = input.bits(5) + 257
    const ndist = input.bits(5) + 1
    const ncode = input.bits(4) + 4
    if (nlen > 286 || ndist > 30) throw new InflateError('too many deflate length or distance symbols')
    const lens = this.lens
    lens.fill(0, 0, 19)
    for (let i = 0; i < ncode; i++) lens[CL_ORDER[i]] = input.bits(3)
    const clBits = build(lens, 0, 19, this.cl, true)
    let i = 0
    while (i < nlen + ndist) {
      const sym = input.decode(this.cl, clBits)
      if (sym < 16) {
        lens[i++] = sym
        continue
      }
      let len = 0
      let rep: number
      if (sym === 16) {
        if (!i) throw new InflateError('deflate repeat with no previous length')
        len = lens[i - 1]
        rep = 3 + input.bits(2)
      } else rep = sym === 17 ? 3 + input.bits(3) : 11 + input.bits(7)
      if (i + rep > nlen + ndist) throw new InflateError('too many deflate code lengths')
      lens.fill(len, i, i + rep)
      i += rep
    }
    if (!lens[256]) throw new InflateError('deflate code without end-of-block')
    return [build(lens, 0, nlen, this.lit, false), build(lens, nlen, ndist, this.dist, false)]
  }
}
