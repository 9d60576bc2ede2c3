/** Following a room's SSE stream: events parsed from the body, reconnection with Last-Event-ID after any drop. */
import { ConveneError, networkReason, type Transport } from './rpc.ts'
import type { ConveneErrorCode, Message } from './types.ts'

export interface SseEvent {
  id?: string
  event?: string
  data: string
}

/** Server-Sent Events from a response body (text/event-stream framing: fields, blank line ends an event). */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buf = ''
  let data: string[] = []
  let id: string | undefined
  let event: string | undefined
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buf += decoder.decode(value, { stream: true })
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '')
        buf = buf.slice(nl + 1)
        if (line === '') {
          if (data.length) yield { id, event, data: data.join('\n') }
          data = []
          event = undefined
          continue
        }
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        const v = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'data') data.push(v)
        else if (field === 'id') id = v
        else if (field === 'event') event = v
      }
    }
  } finally {
    reader.cancel().catch(() => {})
  }
}

export interface FollowOptions {
  /** Start after this seq (replayed from the store); default: from now on. */
  after?: number
  signal?: AbortSignal
  /** Called each time the stream is (re)connected, with the seq it resumes after (undefined: from now on). */
  onOpen?: (after: number | undefined) => void
  /** Called when the stream dropped and is about to reconnect after `delayMs`. */
  onRetry?: (reason: string, delayMs: number) => void
  /** First reconnection delay (doubles up to `maxRetryMs`). Default 250 ms. */
  retryMs?: number
  maxRetryMs?: number
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })

/**
 * The room's messages as they arrive, forever (until `signal` aborts or the loop breaks). The first connection's
 * failure throws; after that, a dropped stream or a restarting server is retried with backoff, resuming after the
 * last seq received, so nothing is missed or repeated. A refusal (401, 403, 404: token gone, wrong room) throws.
 */
export async function* follow(t: Transport, roomId: string, token: string, opts: FollowOptions = {}): AsyncGenerator<Message> {
  const stop = new AbortController()
  const onAbort = () => stop.abort()
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  const base = opts.retryMs ?? 250
  let delay = base
  let last = opts.after
  let connectedOnce = false
  try {
    while (!stop.signal.aborted) {
      let reason: string
      let res: Response | null = null
      try {
        res = await t.fetch(`${t.server}/api/messages/${encodeURIComponent(roomId)}/sse`, {
          headers: {
            accept: 'text/event-stream',
            authorization: `Bearer ${token}`,
            ...(last !== undefined ? { 'last-event-id': String(last) } : {}),
            ...t.headers,
          },
          signal: stop.signal,
        })
      } catch (err) {
        if (stop.signal.aborted) return
        if (!connectedOnce) throw new ConveneError('NETWORK_ERROR', `cannot reach ${t.server}: ${networkReason(err)}`, { cause: err })
        reason = networkReason(err)
      }
      if (res && !res.ok) {
        const body = (await res.json().catch(() => null)) as { error?: string; message?: string } | null
        const err = new ConveneError((body?.error ?? 'HTTP_ERROR') as ConveneErrorCode, body?.message ?? `the stream answered HTTP ${res.status}`, {
          status: res.status,
        })
        // Refusals are final; overload (429, 5xx) is waited out once the stream has worked.
        if (res.status < 500 && res.status !== 429) throw err
        if (!connectedOnce) throw err
        reason = err.message
      } else if (res) {
        connectedOnce = true
        delay = base
        opts.onOpen?.(last)
        try {
          for await (const ev of sseEvents(res.body!)) {
            if (ev.event !== undefined && ev.event !== 'message') continue // pings
            const m = JSON.parse(ev.data) as Message
            last = typeof m.seq === 'number' ? m.seq : Number(ev.id)
            yield m
          }
          reason = 'the stream ended'
        } catch (err) {
          if (stop.signal.aborted) return
          reason = networkReason(err)
        }
      }
      opts.onRetry?.(reason!, delay)
      await sleep(delay, stop.signal)
      delay = Math.min(delay * 2, opts.maxRetryMs ?? 10_000)
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
    stop.abort()
  }
}
