// The process entry point: reads the config, starts the server (and the metrics port), shuts down on signals.
import { createServer } from 'node:http'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig, type Config } from './lib/config.ts'

let config: Config
try {
  config = loadConfig(process.env)
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`convene: ${e.message}`)
    process.exit(1)
  }
  throw e
}

const app = await buildApp(config)

let closing = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    const force = setTimeout(() => process.exit(1), 10_000)
    force.unref()
    try {
      await app.close()
      process.exit(0)
    } catch (err) {
      app.log.error({ err }, 'shutdown failed')
      process.exit(1)
    }
  })
}

try {
  await app.listen({ port: config.port, host: config.host })
  if (config.metrics && config.metricsPort !== undefined) {
    // Metrics on their own port, e.g. reachable only from the monitoring network.
    const metrics = createServer(async (_req, res) => {
      res.setHeader('content-type', app.metrics.registry.contentType)
      res.end(await app.metrics.registry.metrics())
    })
    metrics.listen(config.metricsPort, config.host)
    metrics.unref()
  }
} catch (err) {
  app.log.error({ err }, 'could not start')
  process.exit(1)
}
