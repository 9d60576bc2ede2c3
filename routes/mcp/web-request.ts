/** The SDK's transports speak web Request/Response: a Fastify request handed over as one. */
import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * Read-only headers over Node's (already lower-cased, already trimmed by the HTTP parser). Like the `Headers`
 * this replaced, it leaves out repeated headers (arrays); building a real `Headers` and `Request` cost ~20 µs a call.
 */
class NodeHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}

  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()]
    return typeof v === 'string' ? v : null
  }

  has(name: string): boolean {
    return this.get(name) !== null
  }

  *entries(): IterableIterator<[string, string]> {
    for (const [k, v] of Object.entries(this.raw)) if (typeof v === 'string') yield [k, v]
  }

  [Symbol.iterator]() {
    return this.entries()
  }

  forEach(fn: (value: string, key: string) => void): void {
    for (const [k, v] of this.entries()) fn(v, k)
  }
}

/**
 * What the SDK reads of a request (method, url, headers.get, signal), without building a web Request. The body
 * goes to the SDK already parsed. The signal is made on first use: the 2025-11-25 transport never reads it.
 */
class FastifyWebRequest {
  readonly method: string
  readonly url: string
  readonly headers: NodeHeaders
  private aborter?: AbortController

  constructor(
    req: FastifyRequest,
    private readonly reply: FastifyReply | null,
  ) {
    this.method = req.method
    this.url = `http://${req.headers.host ?? 'localhost'}${req.url}`
    this.headers = new NodeHeaders(req.headers)
  }

  /** Aborts when the client goes away before the response is complete (a stream's end, a call's cancellation). */
  get signal(): AbortSignal {
    if (this.aborter) return this.aborter.signal
    const aborter = (this.aborter = new AbortController())
    const res = this.reply?.raw
    if (!res) aborter.abort()
    else if (res.closed) {
      if (!res.writableFinished) aborter.abort()
    } else res.once('close', () => !res.writableFinished && aborter.abort())
    return aborter.signal
  }
}

/** The request as the SDK's web-standard transports take it; with no reply, its signal is already aborted. */
export function webRequest(req: FastifyRequest, reply: FastifyReply | null): Request {
  return new FastifyWebRequest(req, reply) as unknown as Request
}
