// Request bodies over the limit: recognising Fastify's error, its wording, and draining the rest of the body.
import type { IncomingMessage } from 'node:http'

/** Fastify's error for a body over the route's limit. */
export const isBodyTooLarge = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === 'FST_ERR_CTP_BODY_TOO_LARGE'

/** What a client reads when its request body is over the limit (JSON-RPC surfaces prefix it with `Error: `). */
export const bodyTooLargeMessage = (limit: number): string => `request body exceeds the limit of ${limit} bytes`

/**
 * Reads and discards the rest of a request body, so that a client still uploading reads the answer instead of a
 * connection reset. At most `maxBytes` are discarded and for at most `maxMs`: true once the body has ended (the
 * connection can serve the next request), false when the bound was reached (the caller closes the connection).
 * A declared Content-Length beyond the bound is not read at all.
 */
export function drainBody(req: IncomingMessage, maxBytes: number, maxMs: number): Promise<boolean> {
  if (req.complete || req.readableEnded) return Promise.resolve(true)
  if (Number(req.headers['content-length']) > maxBytes || req.destroyed) return Promise.resolve(false)
  return new Promise((resolve) => {
    let seen = 0
    let settled = false
    const finish = (ended: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onFail)
      req.off('close', onFail)
      if (!ended) req.pause()
      resolve(ended)
    }
    const onData = (chunk: Buffer) => {
      seen += chunk.length
      if (seen > maxBytes) finish(false)
    }
    const onEnd = () => finish(true)
    const onFail = () => finish(req.complete)
    const timer = setTimeout(() => finish(false), maxMs)
    req.on('data', onData)
    req.once('end', onEnd)
    req.once('error', onFail)
    req.once('close', onFail)
    req.resume()
  })
}
