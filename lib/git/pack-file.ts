// A stored pack with its index: random access to raw entries by offset.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs'
import { PackIndex } from './pack-index.ts'

export class PackFile {
  readonly index: PackIndex
  readonly size: number
  private fd: number
  private sorted: Float64Array | null = null
  private posByOffset: Map<number, number> | null = null

  constructor(readonly path: string) {
    this.index = new PackIndex(readFileSync(path.replace(/\.pack$/, '.idx')))
    this.fd = openSync(path, 'r')
    this.size = fstatSync(this.fd).size
  }

  close(): void {
    closeSync(this.fd)
  }

  read(pos: number, len: number): Buffer {
    const buf = Buffer.allocUnsafe(len)
    let got = 0
    while (got < len) {
      const n = readSync(this.fd, buf, got, len - got, pos + got)
      if (n === 0) throw new Error('pack file truncated')
      got += n
    }
    return buf
  }

  private offsets(): Float64Array {
    if (!this.sorted) {
      const a = new Float64Array(this.index.count)
      for (let i = 0; i < a.length; i++) a[i] = this.index.offset(i)
      this.sorted = a.sort()
    }
    return this.sorted
  }

  /** Offset just past the entry starting at `offset`. */
  entryEnd(offset: number): number {
    const a = this.offsets()
    let lo = 0
    let hi = a.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (a[mid] <= offset) lo = mid + 1
      else hi = mid
    }
    return lo < a.length ? a[lo] : this.size - 20
  }

  /** All entry offsets in pack order. */
  allOffsets(): Float64Array {
    return this.offsets()
  }

  /** Object id stored at an offset. */
  oidAt(offset: number): string {
    if (!this.posByOffset) {
      this.posByOffset = new Map()
      for (let i = 0; i < this.index.count; i++) this.posByOffset.set(this.index.offset(i), i)
    }
    const i = this.posByOffset.get(offset)
    if (i === undefined) throw new Error('no object at pack offset')
    return this.index.oid(i)
  }
}
