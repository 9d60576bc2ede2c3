import { STATUS_CODES } from 'node:http'
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../lib/config.ts'
import { isStoreUnavailable } from '../lib/errors.ts'

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

interface HttpError {
  statusCode?: number
  message: string
  jsonrpc?: string
  id?: string | number | null
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
      // JSON-RPC surfaces get their own error shape (set by the thrower, e.g. the rate limiter).
      if (err.jsonrpc) return reply.status(status).send({ jsonrpc: '2.0', id: err.id ?? null, error: err.error })
      return reply.status(status).send({ error: typeof err.error === 'string' ? err.error : STATUS_CODES[status], message: err.message })
    })

    app.setNotFoundHandler((req, reply) =>
      reply.status(404).send({ error: 'Not Found', message: `No route for ${req.method} ${req.url.split('?')[0]}` }),
    )
  },
  { name: 'http' },
)
