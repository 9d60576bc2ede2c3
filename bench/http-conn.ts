/**
 * Keep-alive HTTP/1.1 POSTs on raw sockets, one request at a time per connection: the benches' load generator. On
 * one machine its CPU is taken from the server and the database it measures; undici cost ~35-60 µs a request.
 */
import net from 'node:net'

export interface Reply {
  status: number
  body: string
}

const HEAD_END = Buffer.from('\r\n\r\n')

class Conn {
  private readonly socket: net.Socket
  private chunks: Buffer[] = []
  private size = 0
  private waiting: { resolve(r: Reply): void; reject(e: Error): void } | null = null
  private failed: Error | null = null

  constructor(host: string, port: number) {
    this.socket = net.connect({ host, port, noDelay: true })
    this.socket.on('data', (b) => this.read(b))
    this.socket.on('error', (e) => this.fail(e))
    this.socket.on('close', () => this.fail(new Error('connection closed')))
  }

  post(head: string, body: string): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed)
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject }
      this.socket.write(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
    })
  }

  close(): void {
    this.socket.destroy()
  }

  private fail(e: Error) {
    this.failed ??= e
    this.waiting?.reject(e)
    this.waiting = null
  }

  private read(b: Buffer) {
    this.chunks.push(b)
    this.size += b.length
    const all = this.chunks.length === 1 ? b : Buffer.concat(this.chunks, this.size)
    const end = all.indexOf(HEAD_END)
    if (end < 0) return
    const head = all.toString('latin1', 0, end)
    const status = Number(head.slice(9, 12))
    if (/\r\ntransfer-encoding:/i.test(head)) return this.fail(new Error('chunked replies are not supported'))
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
    if (all.length < end + 4 + length) {
      this.chunks = [all]
      return
    }
    const body = all.toString('utf8', end + 4, end + 4 + length)
    const rest = all.subarray(end + 4 + length)
    this.chunks = rest.length ? [rest] : []
    this.size = rest.length
    const w = this.waiting
    this.waiting = null
    w?.resolve({ status, body })
  }
}

/** `connections` keep-alive connections to `url`; a call waits for a free one. */
export function httpPool(url: string, connections: number) {
  const { hostname, port } = new URL(url)
  const free = Array.from({ length: connections }, () => new Conn(hostname, Number(port)))
  const queue: ((c: Conn) => void)[] = []
  const post = async (path: string, contentType: string, body: string): Promise<Reply> => {
    const conn = free.pop() ?? (await new Promise<Conn>((r) => queue.push(r)))
    try {
      return await conn.post(`POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: ${contentType}\r\n`, body)
    } finally {
      const next = queue.shift()
      if (next) next(conn)
      else free.push(conn)
    }
  }
  const all = [...free]
  return { post, close: async () => all.forEach((c) => c.close()) }
}
