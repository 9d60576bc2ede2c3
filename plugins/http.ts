import fp from 'fastify-plugin'
import type { Config } from '../lib/config.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** This server's public origin: BASE_URL, else what the request was addressed to. */
    baseUrl: string
  }
}

/** Cross-cutting HTTP behaviour: public base URL, JSON errors that never leak internals. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    app.decorateRequest('baseUrl', {
      getter() {
        return (config.baseUrl ?? `${this.protocol}://${this.host}`).replace(/\/$/, '')
      },
    })

    app.setErrorHandler((err: { statusCode?: number; message: string; code?: string }, req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500
      if (status >= 500) {
        req.log.error({ err }, 'request failed')
        return reply.status(status).send({ error: 'Internal Server Error', message: 'Something went wrong on our side' })
      }
      return reply.status(status).send({ error: err.code ?? 'Bad Request', message: err.message })
    })

    app.setNotFoundHandler((req, reply) =>
      reply.status(404).send({ error: 'Not Found', message: `No route for ${req.method} ${req.url.split('?')[0]}` }),
    )
  },
  { name: 'http' },
)
