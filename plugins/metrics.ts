/** Prometheus metrics at GET /metrics (unless METRICS=0 or served on METRICS_PORT by server.ts). */
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Config } from '../lib/config.ts'
import type { PgBus } from '../lib/events/pg.ts'

/** Live sizes that the owning plugins report when scraped. */
type Sizes = Partial<Record<'sseStreams' | 'mcpSessions' | 'mcpListenStreams' | 'dbWaiting' | 'busPeers', () => number>>

function instruments(registry: Registry) {
  const registers = [registry]
  const sizes: Sizes = {}
  /** A gauge read at scrape time from what its plugin provides. */
  const size = (key: keyof Sizes, name: string, help: string) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(sizes[key]?.() ?? 0)
      },
    })
  return {
    /** Lets a plugin report a live size (open streams, sessions) at scrape time. */
    provide(key: keyof Sizes, fn: () => number) {
      sizes[key] = fn
    },
    registry,
    httpDuration: new Histogram({
      name: 'convene_http_request_duration_seconds',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    messagesSent: new Counter({ name: 'convene_messages_sent_total', help: 'Messages posted (agents and room-bot)', registers }),
    sseStreams: size('sseStreams', 'convene_sse_streams', 'Open SSE streams on this instance'),
    mcpSessions: size('mcpSessions', 'convene_mcp_sessions', 'Live MCP sessions on this instance'),
    mcpListenStreams: size('mcpListenStreams', 'convene_mcp_listen_streams', 'Open MCP subscriptions/listen streams on this instance'),
    dbWaiting: size('dbWaiting', 'convene_db_waiting', 'Statements and locks waiting for a PostgreSQL connection on this instance'),
    pushDeliveries: new Counter({ name: 'convene_push_deliveries_total', help: 'A2A push deliveries', labelNames: ['result'], registers }),
    gitBytes: new Counter({ name: 'convene_git_bytes_total', help: 'Git bytes received and sent', labelNames: ['direction'], registers }),
    gitPackDuration: new Histogram({
      name: 'convene_git_pack_duration_seconds',
      help: 'Time to serve a fetch or store a push',
      labelNames: ['service'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    }),
    busPeers: size('busPeers', 'convene_event_bus_peers', 'Other instances heard on the PostgreSQL event bus (0: alone, no NOTIFY is sent)'),
    busLag: new Histogram({
      name: 'convene_event_bus_lag_seconds',
      help: 'Time from publishing a room event to its delivery to this instance',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
  }
}

export type Metrics = ReturnType<typeof instruments>

declare module 'fastify' {
  interface FastifyInstance {
    /** Prometheus instruments; other plugins count into them. */
    metrics: Metrics
  }
}

const STORE_COUNTS_TTL_MS = 5000

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const registry = new Registry()
    collectDefaultMetrics({ register: registry, prefix: 'convene_' })
    const m = instruments(registry)
    app.decorate('metrics', m)
    m.provide('dbWaiting', () => app.db.waiting())

    let cached: { at: number; value: Promise<{ rooms: number; agents: number; messages: number }> } | null = null
    const counts = () => {
      if (!cached || Date.now() - cached.at > STORE_COUNTS_TTL_MS) cached = { at: Date.now(), value: app.store.counts() }
      return cached.value
    }
    for (const key of ['rooms', 'agents', 'messages'] as const) {
      new Gauge({
        name: `convene_${key}`,
        help: `${key[0].toUpperCase()}${key.slice(1)} in the store`,
        registers: [registry],
        async collect() {
          this.set((await counts().catch(() => ({ rooms: NaN, agents: NaN, messages: NaN })))[key])
        },
      })
    }

    app.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url ?? 'unmatched'
      m.httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000)
    })
    app.addHook('onReady', async () => {
      app.events.subscribe(() => m.messagesSent.inc())
    })
    // Cross-instance delivery time of room events (PostgreSQL bus only; in-process delivery is immediate).
    if ('lagObserver' in app.events) {
      const bus = app.events as PgBus
      bus.lagObserver = (ms) => m.busLag.observe(ms / 1000)
      m.provide('busPeers', () => bus.peerCount())
    }

    if (config.metrics && !config.metricsPort) {
      app.get('/metrics', { logLevel: 'warn', config: { rateLimit: false } }, async (_req, reply) =>
        reply.type(registry.contentType).send(await registry.metrics()),
      )
    }
  },
  { name: 'metrics', dependencies: ['db', 'events'] },
)
