// pkt-line framing (gitprotocol-common): 4 hex digits of length, then payload.

export const FLUSH = Buffer.from('0000')
export const DELIM = Buffer.from('0001')
const MAX_PKT_DATA = 65516
/** Largest side-band payload: 65520-byte packet minus length and band byte. */
const MAX_BAND_DATA = 65515

export function pkt(data: string | Buffer): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data
  if (body.length > MAX_PKT_DATA) throw new Error('pkt-line too long')
  const head = Buffer.from((body.length + 4).toString(16).padStart(4, '0'))
  return Buffer.concat([head, body])
}

/** Wraps bytes into side-band packets on one band (1 data, 2 progress, 3 error). */
export function band(n: 1 | 2 | 3, data: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < data.length; i += MAX_BAND_DATA) {
    const part = data.subarray(i, i + MAX_BAND_DATA)
    const head = Buffer.alloc(5)
    head.write((part.length + 5).toString(16).padStart(4, '0'), 0, 'latin1')
    head[4] = n
    out.push(head, part)
  }
  return out
}

export type Pkt = { kind: 'data'; data: Buffer } | { kind: 'flush' } | { kind: 'delim' } | { kind: 'end' }

export class ProtocolError extends Error {}

/** Pulls pkt-lines (and then raw bytes) from a byte stream. */
export class PktReader {
  private chunks: Buffer[] = []
  private buffered = 0
  private done = false
  private it: AsyncIterator<Buffer>

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]()
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const r = await this.it.next()
      if (r.done) this.done = true
      else if (r.value.length) {
        this.chunks.push(r.value)
        this.buffered += r.value.length
      }
    }
    return this.buffered >= n
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered)
    const head = all.subarray(0, n)
    const rest = all.subarray(n)
    this.chunks = rest.length ? [rest] : []
    this.buffered = rest.length
    return head
  }

  async read(): Promise<Pkt> {
    if (!(await this.fill(4))) {
      if (this.buffered) throw new ProtocolError('truncated pkt-line')
      return { kind: 'end' }
    }
    const hex = this.take(4).toString('latin1')
    if (!/^[0-9a-f]{4}$/.test(hex)) throw new ProtocolError('bad pkt-line length')
    const len = parseInt(hex, 16)
    if (len === 0) return { kind: 'flush' }
    if (len === 1) return { kind: 'delim' }
    if (len < 4) throw new ProtocolError('bad pkt-line length')
    if (!(await this.fill(len - 4))) throw new ProtocolError('truncated pkt-line')
    return { kind: 'data', data: Buffer.from(this.take(len - 4)) }
  }

  /** Reads one pkt-line as text without its trailing newline; null on flush/delim/end. */
  async line(): Promise<string | null> {
    const p = await this.read()
    return p.kind === 'data' ? text(p.data) : null
  }

  /** Everything after the pkt-lines already read. */
  async *rest(): AsyncGenerator<Buffer> {
    if (this.buffered) yield this.take(this.buffered)
    while (!this.done) {
      const r = await this.it.next()
      if (r.done) this.done = true
      else if (r.value.length) yield r.value
    }
  }
}

export function text(data: Buffer): string {
  const s = data.toString('utf8')
  return s.endsWith('\n') ? s.slice(0, -1) : s
}
