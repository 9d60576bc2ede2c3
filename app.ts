/** Builds the server: infrastructure plugins in dependency order, then one route plugin per enabled protocol. */
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify'
import type { Config, Protocol } from './lib/config.ts'
import { loggerOptions } from './plugins/log.ts'
import dbPlugin from './plugins/db.ts'
import eventsPlugin from './plugins/events.ts'
import healthPlugin from './plugins/health.ts'
import httpPlugin, { RequestLog } from './plugins/http.ts'
import limitsPlugin from './plugins/limits.ts'
import metricsPlugin from './plugins/metrics.ts'
import pushPlugin from './plugins/push.ts'
import roomsPlugin from './plugins/rooms.ts'
import a2aRoutes from './routes/a2a/index.ts'
import gitRoutes from './routes/git/index.ts'
import mcpRoutes from './routes/mcp/index.ts'
import sseRoutes from './routes/sse/index.ts'
import webRoutes from './routes/web/index.ts'

export interface AppOptions {
  /** Fastify logger options (tests pass false). */
  logger?: FastifyServerOptions['logger']
  /** Clock for the room service (tests move it). */
  clock?: () => Date
}

/** One encapsulated plugin per protocol, registered only when enabled; each names the plugins it needs (fastify-plugin). */
const ROUTES: Partial<Record<Protocol, FastifyPluginAsync<{ config: Config }>>> = {
  a2a: a2aRoutes,
  mcp: mcpRoutes,
  sse: sseRoutes,
  git: gitRoutes,
  web: webRoutes,
}

/** Builds the whole server from a validated config; used by server.ts and the tests. */
export async function buildApp(config: Config, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? loggerOptions(config.logLevel),
    bodyLimit: config.bodyLimitBytes,
    // X-Forwarded-For is believed only from the proxies TRUST_PROXY names: anyone else could pick their address.
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    // Large clones and pushes stream for minutes; slow clients are bounded by the git byte limits instead.
    requestTimeout: 0,
    // A first start creates the embedded store (initdb in a child process): seconds, more than 10 on a busy host.
    pluginTimeout: 60_000,
    logController: new RequestLog(),
  })
  await app.register(httpPlugin, { config })
  await app.register(dbPlugin, { config })
  await app.register(eventsPlugin, { config })
  await app.register(roomsPlugin, { config, clock: opts.clock })
  await app.register(healthPlugin)
  await app.register(metricsPlugin, { config })
  await app.register(pushPlugin, { config })
  await app.register(limitsPlugin, { config })
  for (const protocol of config.protocols) {
    const routes = ROUTES[protocol]
    if (routes) await app.register(routes, { config })
  }
  return app
}
