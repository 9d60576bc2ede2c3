// The git surface in its own process for bench/git.ts. Default: the whole app.
// GIT_BENCH_STANDALONE=1: only Fastify + routes/git over stub rooms/store/metrics, so RSS shows git's share.
import Fastify from 'fastify'
import { loadConfig } from '../lib/config.ts'
import { withLocalLock } from '../lib/git/index.ts'
import gitRoutes from '../routes/git/index.ts'

const config = loadConfig(process.env)
let app
if (process.env.GIT_BENCH_STANDALONE === '1') {
  app = Fastify({ logger: false })
  app.decorate('rooms', {
    gitAccess: async (ref: string) => ({ ok: true as const, roomId: ref }),
    postNotice: async () => {},
    onRoomsDeleted: () => () => {},
  } as never)
  app.decorate('store', { withLock: withLocalLock } as never)
  app.decorate('metrics', { gitBytes: { inc() {} }, gitPackDuration: { startTimer: () => () => 0 } } as never)
  await app.register(gitRoutes, { config })
} else {
  const { buildApp } = await import('../app.ts')
  app = await buildApp(config, { logger: false })
}
const url = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`Server listening at ${url}\n`)
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
