import http from 'node:http'
import type { TestContext } from 'node:test'

export interface Received {
  status: number
  body: any
  headers: http.IncomingHttpHeaders
}

/** A local A2A endpoint that records every POST; `answer` picks the status (default 200). */
export class Receiver {
  readonly requests: Received[] = []
  url = ''
  answer: (n: number, body: any) => number | { status: number; headers?: Record<string, string> } = () => 200
  private waiters: Array<() => void> = []
  private readonly server = http.createServer((req, res) => {
    let raw = ''
    req.setEncoding('utf8')
    req.on('data', (c) => (raw += c))
    req.on('end', () => {
      let body: any = raw
      try {
        body = JSON.parse(raw)
      } catch {}
      const a = this.answer(this.requests.length, body)
      const { status, headers } = typeof a === 'number' ? { status: a, headers: {} } : a
      this.requests.push({ status, body, headers: req.headers })
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end('{}')
      const w = this.waiters
      this.waiters = []
      w.forEach((f) => f())
    })
  })

  static async start(t: TestContext): Promise<Receiver> {
    const r = new Receiver()
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve))
    const addr = r.server.address()
    r.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/a2a`
    t.after(() => new Promise<void>((resolve) => r.server.close(() => resolve())).then(() => r.server.closeAllConnections()))
    return r
  }

  /** Bodies of the messages answered 2xx, in arrival order. */
  get delivered(): any[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.body)
  }

  async until(pred: () => boolean, ms = 10_000, what = 'requests'): Promise<void> {
    const deadline = Date.now() + ms
    while (!pred()) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what} (${this.requests.length} received)`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  untilDelivered(n: number, ms?: number) {
    return this.until(() => this.delivered.length >= n, ms, `${n} deliveries`)
  }
}
