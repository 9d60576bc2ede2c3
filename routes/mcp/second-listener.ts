/** MCP_PORT: a second HTTP listener serving the same application, opened and closed with the main one. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../lib/config.ts'

/** MCP_PORT: a second listener that serves the same application, opened and closed with the main one. */
export function secondListener(app: FastifyInstance, config: Config): void {
  let server: Server | null = null
  app.addHook('onListen', async () => {
    if (server) return
    server = createServer((req, res) => app.routing(req, res))
    server.keepAliveTimeout = app.server.keepAliveTimeout
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject)
      server!.listen(config.mcpPort, config.host, () => {
        server!.off('error', reject)
        const addr = server!.address() as AddressInfo
        app.log.info({ port: addr.port }, 'MCP listener on MCP_PORT')
        resolve()
      })
    })
  })
  app.addHook('preClose', async () => {
    if (!server) return
    const s = server
    server = null
    await new Promise<void>((resolve) => {
      s.close(() => resolve())
      s.closeIdleConnections()
    })
  })
}
