import fp from 'fastify-plugin'
import { LocalBus, type EventBus } from '../lib/events.ts'

declare module 'fastify' {
  interface FastifyInstance {
    events: EventBus
  }
}

/** The room event bus: in-process for one instance. */
export default fp(
  async (app) => {
    const bus = new LocalBus()
    app.decorate('events', bus)
    app.addHook('onClose', async () => {
      await bus.close()
    })
  },
  { name: 'events', dependencies: ['db'] },
)
