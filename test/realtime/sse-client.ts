import http from 'node:http'

export interface SseEvent {
  id?: string
  event?: string
  data: string
}

/** A minimal EventSource for tests: collects parsed events, lets a test await a count or a predicate. */
export class SseClient {
  readonly events: SseEvent[] = []
  status = 0
  body = ''
  closed = false
  private req!: http.ClientRequest
  private res?: http.IncomingMessage
  private waiters: Array<() => void> = []
  private buf = ''

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient()
    await c.connect(url, headers)
    return c
  }

  private connect(url: string, headers: Record<string, string>) {
    return new Promise<void>((resolve, reject) => {
      this.req = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
        this.res = res
        this.status = res.statusCode ?? 0
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => this.onData(chunk))
        const end = () => {
          this.closed = true
          this.wake()
        }
        res.on('end', end)
        res.on('close', end)
        res.on('error', end)
        resolve()
      })
      this.req.on('error', (e) => {
        this.closed = true
        this.wake()
        reject(e)
      })
    })
  }

  /** The data of message events (not pings), parsed. */
  get messages(): any[] {
    return this.events.filter((e) => !e.event).map((e) => JSON.parse(e.data))
  }

  async until(pred: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms
    while (!pred()) {
      if (this.closed) throw new Error(`stream closed before ${what} (${this.events.length} events)`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what} (${this.events.length} events)`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  untilMessages(n: number, ms?: number) {
    return this.until(() => this.messages.length >= n, ms, `${n} messages`)
  }

  async untilClosed(ms = 10_000) {
    const deadline = Date.now() + ms
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('stream did not close')
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, deadline - Date.now())
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  close() {
    this.req.destroy()
    this.closed = true
  }

  private onData(chunk: string) {
    if (this.status !== 200) {
      this.body += chunk
      return
    }
    this.buf += chunk
    let i: number
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i)
      this.buf = this.buf.slice(i + 2)
      const ev: SseEvent = { data: '' }
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue
        const c = line.indexOf(':')
        const field = c < 0 ? line : line.slice(0, c)
        const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '')
        if (field === 'id') ev.id = value
        else if (field === 'event') ev.event = value
        else if (field === 'data') data.push(value)
      }
      ev.data = data.join('\n')
      if (block.trim()) this.events.push(ev)
    }
    this.wake()
  }

  private wake() {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }
}

/** Reads a non-streaming answer (errors) of the SSE endpoints. */
export async function sseStatus(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers } })
  const text = await res.text()
  let body: any = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.status, body }
}
