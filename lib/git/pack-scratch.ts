// Scratch space for indexing a pack: reused buffers (what is freed is not left to the GC, which lets tens of MB of
// dead buffers pile up) and a stack of spilled objects in a temporary file.
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

const MIN_CAPACITY = 64 * 1024

export class BufferPool {
  private free: Buffer[] = []
  private freeBytes = 0

  /** @param keepBytes most bytes of free buffers kept for reuse */
  constructor(private keepBytes: number) {}

  /** A buffer of exactly `n` bytes (contents undefined); give it back when done. */
  take(n: number): Buffer {
    let best = -1
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i].length
      if (len >= n && (best < 0 || len < this.free[best].length)) best = i
    }
    if (best < 0) {
      // Power-of-two capacities make reuse likely; untouched pages cost no memory.
      let cap = MIN_CAPACITY
      while (cap < n) cap *= 2
      return Buffer.allocUnsafeSlow(cap).subarray(0, n)
    }
    const buf = this.free[best]
    this.free.splice(best, 1)
    this.freeBytes -= buf.length
    return buf.subarray(0, n)
  }

  give(buf: Buffer): void {
    const whole = Buffer.from(buf.buffer, 0, buf.buffer.byteLength)
    this.free.push(whole)
    this.freeBytes += whole.length
    while (this.freeBytes > this.keepBytes && this.free.length) {
      let small = 0
      for (let i = 1; i < this.free.length; i++) if (this.free[i].length < this.free[small].length) small = i
      this.freeBytes -= this.free[small].length
      this.free.splice(small, 1)
    }
  }
}

/** A last-in first-out store of buffers in a file, created on first use and removed by close(). */
export class SpillFile {
  private fd = -1
  private top = 0

  constructor(private path: string) {}

  /** Appends `buf`; returns where it starts (pop back to it with truncate). */
  push(buf: Buffer): number {
    if (this.fd < 0) {
      mkdirSync(dirname(this.path), { recursive: true })
      this.fd = openSync(this.path, 'w+', 0o600)
    }
    const at = this.top
    for (let done = 0; done < buf.length; ) done += writeSync(this.fd, buf, done, buf.length - done, at + done)
    this.top += buf.length
    return at
  }

  read(at: number, into: Buffer): void {
    for (let got = 0; got < into.length; ) {
      const n = readSync(this.fd, into, got, into.length - got, at + got)
      if (!n) throw new Error('spill file truncated')
      got += n
    }
  }

  /** Forgets everything from `at` on. */
  truncate(at: number): void {
    this.top = at
  }

  close(): void {
    if (this.fd < 0) return
    closeSync(this.fd)
    this.fd = -1
    rmSync(this.path, { force: true })
  }
}
