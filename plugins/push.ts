/** A2A push to agents that joined with an agentEndpoint; stopped before the database closes. */
import fp from 'fastify-plugin'
import type { Config } from '../lib/config.ts'
import { safePost } from '../lib/push/http.ts'
import { PUSH_HEADERS } from '../lib/push/payload.ts'
import { PushWorker } from '../lib/push/worker.ts'

declare module 'fastify' {
  interface FastifyInstance {
    push: PushWorker
  }
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const worker = new PushWorker({
      store: app.store,
      bus: app.events,
      post: (endpoint, body, signal) =>
        safePost(endpoint, body, {
          allowPrivate: config.allowPrivateEndpoints,
          connectTimeoutMs: config.pushConnectTimeoutMs,
          timeoutMs: config.pushTimeoutMs,
          maxResponseBytes: config.pushResponseMaxBytes,
          headers: PUSH_HEADERS,
          signal,
        }),
      retryBaseMs: config.pushRetryBaseMs,
      retryMaxMs: config.pushRetryMaxMs,
      leaseMs: Math.max(60_000, config.pushTimeoutMs * 3),
      // Retries left by a stopped instance and events nobody heard: looked for at the bus's resync pace.
      sweepMs: config.busResyncSeconds * 1000,
      log: app.log,
      onResult: (result) => app.metrics.pushDeliveries.inc({ result }),
    })
    app.decorate('push', worker)
    app.addHook('onReady', async () => worker.start())
    app.addHook('preClose', async () => worker.close())
  },
  { name: 'push', dependencies: ['db', 'events', 'metrics'] },
)
