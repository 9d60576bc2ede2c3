/** The one shared room service, its background work (wait tasks), and the reaper that expires idle rooms. */
import fp from 'fastify-plugin'
import type { Config } from '../lib/config.ts'
import { RoomService } from '../lib/rooms/service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    rooms: RoomService
    /** The clock rooms run on (tests move it). */
    clock: () => Date
  }
}

export default fp<{ config: Config; clock?: () => Date }>(
  async (app, { config, clock = () => new Date() }) => {
    const rooms = new RoomService({
      store: app.store,
      events: app.events,
      clock,
      roomTtlDays: config.roomTtlDays,
      allowPrivateEndpoints: config.allowPrivateEndpoints,
      maxMessageChars: config.maxMessageChars,
      maxAgentsPerRoom: config.maxAgentsPerRoom,
      maxRoomsPerCallerPerHour: config.maxRoomsPerIpPerHour,
      maxWaitTasksPerAgent: config.maxWaitTasksPerAgent,
      onFeedError: (err) => app.log.error({ err }, 'room feed read failed'),
      onWaitTaskError: (err) => app.log.warn({ err }, 'wait task work failed; the sweep retries'),
    })
    app.decorate('rooms', rooms)
    app.decorate('clock', clock)

    const reap = async () => {
      try {
        const ids = await rooms.reapIdleRooms()
        if (ids.length) app.log.info({ count: ids.length }, 'expired idle rooms')
      } catch (err) {
        app.log.warn({ err }, 'room reaper failed')
      }
    }
    const timer = setInterval(reap, config.reaperIntervalSeconds * 1000)
    timer.unref()
    app.addHook('onReady', reap)
    app.addHook('onReady', () => rooms.start())
    app.addHook('onClose', async () => {
      clearInterval(timer)
      rooms.feed.close()
      await rooms.close()
    })
  },
  { name: 'rooms', dependencies: ['db', 'events'] },
)
