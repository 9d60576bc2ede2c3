/** Liveness (`/healthz`) and readiness (`/readyz`) probes, and the `accepting` flag that readiness reports. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import { ErrorReply } from '../lib/net/http-error.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** False while starting and once shutdown has begun. */
    accepting: boolean
  }
}

const PING_TIMEOUT_MS = 2000

/** Not ready, from the probe itself or (overload, internal error) from the app's error replies. */
const Unavailable = Type.Union([Type.Object({ status: Type.Literal('unavailable'), reason: Type.String() }), ErrorReply])

const healthz = { response: { 200: Type.Object({ status: Type.Literal('ok') }), '5xx': Unavailable } }
const readyz = { response: { 200: Type.Object({ status: Type.Literal('ready'), store: Type.String() }), '5xx': Unavailable } }

/** Liveness (`/healthz`) and readiness (`/readyz`: the store answers; not while starting or stopping). */
export default fp(
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.decorate('accepting', false)
    app.addHook('onReady', async () => {
      app.accepting = true
    })
    app.addHook('preClose', async () => {
      app.accepting = false
    })
    const quiet = { logLevel: 'warn' as const, config: { rateLimit: false } }

    app.get('/healthz', { ...quiet, schema: healthz }, async () => ({ status: 'ok' as const }))

    app.get('/readyz', { ...quiet, schema: readyz }, async (_req, reply) => {
      if (!app.accepting) return reply.status(503).send({ status: 'unavailable', reason: 'starting or shutting down' })
      try {
        let timer: NodeJS.Timeout | undefined
        await Promise.race([
          app.store.ping(),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), PING_TIMEOUT_MS))),
        ]).finally(() => clearTimeout(timer))
        return { status: 'ready' as const, store: app.store.kind }
      } catch {
        return reply.status(503).send({ status: 'unavailable', reason: 'the store does not answer' })
      }
    })
  },
  { name: 'health', dependencies: ['db'] },
)
