// Random access to a pack being indexed: a file read through one moving window (bounded memory), or a buffer.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { dirname } from 'node:path'

export interface PackSource {
  readonly length: number
  /** Where scratch files for this pack may go (the pack file's directory). */
  readonly dir?: string
  /** Bytes [pos, pos + len), clipped to the end. */
  read(pos: number, len: number): Buffer
  close(): void
}

export class BufferSource implements PackSource {
  constructor(private buf: Buffer) {}
  get length(): number {
    return this.buf.length
  }
  read(pos: number, len: number): Buffer {
    return this.buf.subarray(pos, Math.min(this.buf.length, pos + len))
  }
  close(): void {}
}

const WINDOW = 4 * 2 ** 20

export class FileSource implements PackSource {
  readonly length: number
  readonly dir: string
  private fd: number
  private start = 0
  private win: Buffer = Buffer.alloc(0)
  private buf: Buffer = Buffer.alloc(0)

  constructor(path: string) {
    this.dir = dirname(path)
    this.fd = openSync(path, 'r')
    this.length = fstatSync(this.fd).size
  }

  /** The bytes stay valid until the next read: the window's buffer is reused (no garbage per window). */
  read(pos: number, len: number): Buffer {
    const end = Math.min(this.length, pos + len)
    if (pos < this.start || end > this.start + this.win.length) {
      const size = Math.min(this.length - pos, Math.max(end - pos, WINDOW))
      if (this.buf.length < size) this.buf = Buffer.allocUnsafe(Math.max(size, Math.min(WINDOW, this.length)))
      let got = 0
      while (got < size) {
        const n = readSync(this.fd, this.buf, got, size - got, pos + got)
        if (!n) break
        got += n
      }
      this.start = pos
      this.win = this.buf.subarray(0, got)
    }
    return this.win.subarray(pos - this.start, end - this.start)
  }

  close(): void {
    closeSync(this.fd)
  }
}
