/** The room event bus: PostgreSQL LISTEN/NOTIFY when several instances may share the database, else in-process. */
import fp from 'fastify-plugin'
import type { Config } from '../lib/config.ts'
import type { EventBus } from '../lib/events/bus.ts'
import { LocalBus } from '../lib/events/local.ts'
import { PgBus } from '../lib/events/pg.ts'

declare module 'fastify' {
  interface FastifyInstance {
    events: EventBus
  }
}

export default fp<{ config?: Config }>(
  async (app, opts) => {
    let bus: EventBus
    if (app.db.pubsub) {
      const pg = new PgBus({
        pubsub: app.db.pubsub,
        resyncMs: (opts.config?.busResyncSeconds ?? 5) * 1000,
        log: app.log,
        lastSeqs: (ids) => app.store.lastSeqs(ids),
      })
      await pg.start()
      bus = pg
    } else {
      bus = new LocalBus()
    }
    app.decorate('events', bus)
    app.addHook('onClose', async () => {
      await bus.close()
    })
  },
  { name: 'events', dependencies: ['db'] },
)
