// The whole app including the git surface (registered here while app.ts does not), for the security suite.
import type { TestContext } from 'node:test'
import { buildApp } from '../../app.ts'
import type { Config } from '../../lib/config.ts'
import gitRoutes from '../../routes/git/index.ts'
import { testConfig, type TestServer } from '../helpers.ts'

export async function fullApp(t: TestContext | null, overrides: Partial<Config> = {}, listen = false): Promise<TestServer> {
  const config = await testConfig(t, overrides)
  const app = await buildApp(config, { logger: false })
  if (!app.hasRoute({ method: 'GET', url: '/rooms/:name/info/refs' })) await app.register(gitRoutes, { config })
  t?.after(() => app.close())
  let url = ''
  if (listen) {
    await app.listen({ port: 0, host: '127.0.0.1' })
    const addr = app.server.address()
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
  } else await app.ready()
  return { app, url, config }
}
