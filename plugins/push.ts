/** A2A push to agents that joined with an agentEndpoint; stopped before the database closes. */
import fp from 'fastify-plugin'
import type { Config } from '../lib/config.ts'
import { safePost } from '../lib/push/http.ts'
import { PUSH_HEADERS } from '../lib/push/payload.ts'
import { RoomHint } from '../lib/push/room-hint.ts'
import { taskPushPayload, taskQueue } from '../lib/push/task-queue.ts'
import { agentQueue, PushWorker } from '../lib/push/worker.ts'

declare module 'fastify' {
  interface FastifyInstance {
    push: PushWorker
    /** Deliveries to A2A tasks' push notification configs. */
    taskPush: PushWorker
  }
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const endpointRooms = new RoomHint(() => app.store.endpointRooms())
    const options = {
      store: app.store,
      bus: app.events,
      queue: agentQueue(app.store, endpointRooms),
      post: (endpoint: string, body: string, signal: AbortSignal, headers?: Record<string, string>) =>
        safePost(endpoint, body, {
          allowPrivate: config.allowPrivateEndpoints,
          connectTimeoutMs: config.pushConnectTimeoutMs,
          timeoutMs: config.pushTimeoutMs,
          maxResponseBytes: config.pushResponseMaxBytes,
          headers: { ...PUSH_HEADERS, ...headers },
          signal,
        }),
      retryBaseMs: config.pushRetryBaseMs,
      retryMaxMs: config.pushRetryMaxMs,
      leaseMs: Math.max(60_000, config.pushTimeoutMs * 3),
      // Retries left by a stopped instance and events nobody heard: looked for at the bus's resync pace.
      sweepMs: config.busResyncSeconds * 1000,
      log: app.log,
      onResult: (result: 'ok' | 'failed') => app.metrics.pushDeliveries.inc({ result }),
    }
    const worker = new PushWorker(options)
    // Push notification configs of A2A tasks: the same machinery, StreamResponse bodies, the agent's own messages too.
    const rooms = new RoomHint(() => app.store.pushConfigRooms())
    const tasks = new PushWorker({
      ...options,
      queue: taskQueue(app.store, rooms),
      payload: taskPushPayload,
      skipOwn: false,
    })
    app.decorate('push', worker)
    app.decorate('taskPush', tasks)
    app.addHook('onReady', async () => {
      await endpointRooms.refresh()
      app.rooms.onEndpoint((roomId) => {
        endpointRooms.add(roomId)
        void worker.claim('room', roomId)
      })
      worker.start()
      await rooms.refresh()
      app.rooms.roomTasks.onPushConfig((roomId) => {
        rooms.add(roomId)
        void tasks.claim('room', roomId)
      })
      tasks.start()
    })
    app.addHook('preClose', async () => {
      await Promise.all([worker.close(), tasks.close()])
    })
  },
  { name: 'push', dependencies: ['db', 'events', 'metrics', 'rooms'] },
)
