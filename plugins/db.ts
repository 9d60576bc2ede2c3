/** Opens and migrates the database, decorates the stores on it, and runs the embedded store's maintenance. */
import fp from 'fastify-plugin'
import type { Database } from '../db/database.ts'
import { mcpStore, type McpStore } from '../db/mcp.ts'
import { migrate } from '../db/migrate.ts'
import { openDatabase } from '../db/sql.ts'
import { sqlStore } from '../db/store.ts'
import type { Config } from '../lib/config.ts'
import type { Store } from '../lib/store.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The storage layer the room service uses. */
    store: Store
    /** MCP sessions and their event log (protocol data, apart from the domain's store). */
    mcpStore: McpStore
    /** The raw database, for infrastructure that needs driver features (LISTEN/NOTIFY). */
    db: Database
  }
}

const MAINTENANCE_MS = 10_000
/** How long a close waits on PostgreSQL before giving up on it (server.ts exits anyway after 10 s). */
const CLOSE_GRACE_MS = 5_000

/** Opens the store (PostgreSQL with DATABASE_URL, else embedded PGlite in DATA_DIR) and migrates it. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize })
    try {
      const applied = await migrate(db)
      if (applied.length) app.log.info({ applied }, 'migrations applied')
    } catch (e) {
      await db.close()
      throw e
    }
    app.decorate('db', db)
    app.decorate('store', sqlStore(db))
    app.decorate('mcpStore', mcpStore(db))
    let maintenance: NodeJS.Timeout | undefined
    let running: Promise<unknown> | null = null
    if (db.maintain) {
      const maintain = db.maintain
      maintenance = setInterval(() => {
        running ??= maintain()
          .then((done) => done.length && app.log.debug({ done }, 'store maintenance'))
          .catch((err) => app.log.warn({ err }, 'store maintenance failed'))
          .finally(() => (running = null))
      }, MAINTENANCE_MS).unref()
    }
    // A close waits CLOSE_GRACE_MS at most on the database (requests in flight, state written back by the other
    // hooks): then the connections end and whatever still waits on an unreachable database fails at once.
    let closeBy = 0
    let giveUp: NodeJS.Timeout | undefined
    app.addHook('preClose', async () => {
      closeBy = Date.now() + CLOSE_GRACE_MS
      if (db.kind === 'postgres') giveUp = setTimeout(() => void db.close(0).catch(() => {}), CLOSE_GRACE_MS).unref()
    })
    app.addHook('onClose', async () => {
      clearInterval(maintenance)
      await running
      clearTimeout(giveUp)
      await db.close(closeBy ? Math.max(0, closeBy - Date.now()) : CLOSE_GRACE_MS)
    })
  },
  { name: 'db' },
)
