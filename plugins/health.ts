import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    /** False while starting and once shutdown has begun. */
    accepting: boolean
  }
}

const PING_TIMEOUT_MS = 2000

/** Liveness (`/healthz`) and readiness (`/readyz`: the store answers; not while starting or stopping). */
export default fp(
  async (app) => {
    app.decorate('accepting', false)
    app.addHook('onReady', async () => {
      app.accepting = true
    })
    app.addHook('preClose', async () => {
      app.accepting = false
    })
    const quiet = { logLevel: 'warn' as const, config: { rateLimit: false } }

    app.get('/healthz', quiet, async () => ({ status: 'ok' }))

    app.get('/readyz', quiet, async (_req, reply) => {
      if (!app.accepting) return reply.status(503).send({ status: 'unavailable', reason: 'starting or shutting down' })
      try {
        let timer: NodeJS.Timeout | undefined
        await Promise.race([
          app.store.ping(),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), PING_TIMEOUT_MS))),
        ]).finally(() => clearTimeout(timer))
        return { status: 'ready', store: app.store.kind }
      } catch {
        return reply.status(503).send({ status: 'unavailable', reason: 'the store does not answer' })
      }
    })
  },
  { name: 'health', dependencies: ['db'] },
)
