/** Cross-cutting HTTP behaviour: base URL, one log line per request, bounded body drain, JSON error replies. */
import { STATUS_CODES } from 'node:http'
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../lib/config.ts'
import { isStoreUnavailable } from '../lib/errors.ts'
import { bodyTooLargeMessage, drainBody, isBodyTooLarge } from '../lib/net/drain.ts'
import type { RpcError } from '../lib/net/jsonrpc.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** This server's public origin: BASE_URL, else what the request was addressed to. */
    baseUrl: string
  }
}

/** One log line per request, when it completes (request summary, status, time), instead of two. */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const line = { req: request, res: reply, responseTime: reply.elapsedTime }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request completed')
  }
}

/**
 * An over-limit body is read and thrown away up to this much (or this long) before the 413 goes out, so a client
 * still uploading (SDK fetch on a kept-alive connection) reads the answer instead of a reset; past it, the
 * connection is closed. 16 MiB covers what a misbehaving agent sends by mistake (a file pasted into a message)
 * at bandwidth cost only: nothing is kept.
 */
const DRAIN_MAX_BYTES = 16 * 2 ** 20
const DRAIN_MAX_MS = 10_000

interface HttpError {
  statusCode?: number
  message: string
  /** The JSON-RPC error a JSON-RPC surface answers with instead (set by the thrower, e.g. the rate limiter). */
  rpc?: RpcError
  error?: unknown
}

/** Cross-cutting HTTP behaviour: public base URL, JSON errors that never leak internals. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    app.decorateRequest('baseUrl', {
      getter() {
        return (config.baseUrl ?? `${this.protocol}://${this.host}`).replace(/\/$/, '')
      },
    })

    app.addHook('onError', async (req, reply, err) => {
      if (!isBodyTooLarge(err)) return
      if (await drainBody(req.raw, DRAIN_MAX_BYTES, DRAIN_MAX_MS)) reply.removeHeader('connection')
      else reply.header('connection', 'close')
    })
    // A request answered before anyone read its body (refused by auth, origin or rate limit) gets the same bounded
    // drain before its answer; Node would otherwise discard the rest without end.
    app.addHook('onSend', (req, reply, payload, done) => {
      const raw = req.raw
      const hasBody = raw.headers['transfer-encoding'] !== undefined || Number(raw.headers['content-length']) > 0
      if (!hasBody || raw.complete || raw.destroyed || raw.listenerCount('data') > 0 || reply.getHeader('connection') === 'close') return done(null, payload)
      void drainBody(raw, DRAIN_MAX_BYTES, DRAIN_MAX_MS).then((ended) => {
        if (!ended) reply.header('connection', 'close')
        // Answered meanwhile (the connection went away): nothing left to send.
        if (!reply.raw.headersSent && !reply.raw.destroyed) done(null, payload)
      })
    })

    // Node closes the connections idle when close() begins; one whose request was in flight then stays open after
    // its answer (keep-alive) and held the close for the client's keep-alive time (72 s): those close as they idle.
    let idleReaper: NodeJS.Timeout | undefined
    app.addHook('preClose', async () => {
      idleReaper = setInterval(() => app.server.closeIdleConnections(), 100).unref()
    })
    app.addHook('onClose', async () => clearInterval(idleReaper))

    app.setErrorHandler((err: HttpError, req, reply) => {
      if (isStoreUnavailable(err)) {
        req.log.warn({ err }, 'store unavailable')
        return reply.status(503).header('Retry-After', '1').send({ error: 'Service Unavailable', message: 'The database is unavailable; try again shortly' })
      }
      const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500
      if (status >= 500 && status !== 503) {
        req.log.error({ err }, 'request failed')
        return reply.status(status).send({ error: STATUS_CODES[status], message: 'Something went wrong on our side' })
      }
      if (err.rpc) return reply.status(status).send(err.rpc)
      const tooLarge = isBodyTooLarge(err) && bodyTooLargeMessage(req.routeOptions.bodyLimit ?? config.bodyLimitBytes)
      const message = tooLarge ? tooLarge[0].toUpperCase() + tooLarge.slice(1) : err.message
      return reply.status(status).send({ error: typeof err.error === 'string' ? err.error : STATUS_CODES[status], message })
    })

    app.setNotFoundHandler((req, reply) =>
      reply.status(404).send({ error: 'Not Found', message: `No route for ${req.method} ${req.url.split('?')[0]}` }),
    )
  },
  { name: 'http' },
)
