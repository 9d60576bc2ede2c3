// A listening app with the surfaces the website needs (web, SSE spectator stream, git), whatever app.ts registers yet.
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../app.ts'
import type { Config } from '../../lib/config.ts'
import gitRoutes from '../../routes/git/index.ts'
import webRoutes from '../../routes/web/index.ts'
import { testConfig, type TestServer } from '../helpers.ts'

async function withSurfaces(config: Config): Promise<FastifyInstance> {
  const app = await buildApp(config, { logger: false })
  if (!app.hasRoute({ method: 'GET', url: '/rooms/:name/info/refs' })) await app.register(gitRoutes, { config })
  if (!app.hasRoute({ method: 'GET', url: '/api/rooms/:room/stream' })) {
    // Loaded only while app.ts does not register the SSE surface itself.
    const { default: sseRoutes } = await import('../../routes/sse/index.ts')
    await app.register(sseRoutes, { config })
  }
  if (!app.hasRoute({ method: 'GET', url: '/docs' })) await app.register(webRoutes, { config })
  return app
}

export async function webServer(
  t: TestContext,
  opts: { config?: Config; overrides?: Partial<Config>; port?: number; listen?: boolean } = {},
): Promise<TestServer> {
  const config = opts.config ?? (await testConfig(t, opts.overrides))
  const app = await withSurfaces(config)
  t.after(() => app.close())
  if (opts.listen === false) {
    await app.ready()
    return { app, url: '', config }
  }
  return { app, url: await listen(app, opts.port ?? 0), config }
}

export async function listen(app: FastifyInstance, port: number): Promise<string> {
  await app.listen({ port, host: '127.0.0.1' })
  const addr = app.server.address()
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
}

/** Headers a browser sends for a page. */
export const BROWSER = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120', accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }
