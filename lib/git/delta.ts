// Applying git deltas (gitformat-pack "Deltified representation").

export class DeltaError extends Error {}

function varint(d: Buffer, pos: number): [number, number] {
  let v = 0
  let mul = 1
  let c: number
  do {
    if (pos >= d.length) throw new DeltaError('truncated delta header')
    c = d[pos++]
    v += (c & 0x7f) * mul
    mul *= 128
  } while (c & 0x80)
  return [v, pos]
}

/** Base and result sizes announced by a delta, without applying it. */
export function deltaSizes(delta: Buffer): { base: number; result: number } {
  const [base, p] = varint(delta, 0)
  return { base, result: varint(delta, p)[0] }
}

/**
 * Reads a delta's header and runs its instructions: `take(from, start, len)` gets each piece of the result in
 * order, from the base (copies) or the delta itself (inserts). Returns the result size.
 */
function runDelta(base: Buffer, delta: Buffer, maxSize: number, start: (size: number) => void, take: (from: Buffer, at: number, len: number) => void): number {
  let [baseSize, p] = varint(delta, 0)
  if (baseSize !== base.length) throw new DeltaError('delta base size mismatch')
  let size: number
  ;[size, p] = varint(delta, p)
  if (size > maxSize) throw new DeltaError('delta result too large')
  start(size)
  let o = 0
  while (p < delta.length) {
    const op = delta[p++]
    if (op & 0x80) {
      let off = 0
      let len = 0
      if (op & 1) off = delta[p++]
      if (op & 2) off |= delta[p++] << 8
      if (op & 4) off |= delta[p++] << 16
      if (op & 8) off += delta[p++] * 0x1000000
      if (op & 16) len = delta[p++]
      if (op & 32) len |= delta[p++] << 8
      if (op & 64) len |= delta[p++] << 16
      if (len === 0) len = 0x10000
      if (p > delta.length || off + len > base.length || o + len > size) throw new DeltaError('bad delta copy')
      take(base, off, len)
      o += len
    } else if (op) {
      if (p + op > delta.length || o + op > size) throw new DeltaError('bad delta insert')
      take(delta, p, op)
      o += op
      p += op
    } else throw new DeltaError('bad delta opcode')
  }
  if (o !== size) throw new DeltaError('delta result size mismatch')
  return size
}

/** Applies a delta; the result goes into `into` when given (its length must be the result size). */
export function applyDelta(base: Buffer, delta: Buffer, maxSize: number, into?: Buffer): Buffer {
  let out = into as Buffer
  let o = 0
  runDelta(
    base,
    delta,
    maxSize,
    (size) => {
      if (into && into.length !== size) throw new DeltaError('delta result size mismatch')
      out = into ?? Buffer.allocUnsafe(size)
    },
    (from, at, len) => {
      // Byte loops for short runs: a delta may hold millions of them, and a copy() call costs far more.
      if (len < 64) for (let k = 0; k < len; k++) out[o + k] = from[at + k]
      else from.copy(out, o, at, at + len)
      o += len
    },
  )
  return out
}

const GATHER = 64 * 1024

/**
 * Hands a delta's result to `piece` in order without building it: large copies straight from the base, small
 * copies and inserts gathered in `scratch`. Returns the result size.
 */
export function streamDelta(base: Buffer, delta: Buffer, maxSize: number, scratch: Buffer, piece: (b: Buffer) => void): number {
  let g = 0
  const cap = Math.min(scratch.length, GATHER)
  const size = runDelta(
    base,
    delta,
    maxSize,
    () => {},
    (from, start, len) => {
      if (len >= cap / 4) {
        if (g) piece(scratch.subarray(0, g))
        g = 0
        piece(from.subarray(start, start + len))
        return
      }
      if (g + len > cap) {
        piece(scratch.subarray(0, g))
        g = 0
      }
      if (len < 64) for (let k = 0; k < len; k++) scratch[g + k] = from[start + k]
      else from.copy(scratch, g, start, start + len)
      g += len
    },
  )
  if (g) piece(scratch.subarray(0, g))
  return size
}
