// A2A push notification configs of room subscription tasks as a push queue: StreamResponse bodies, the config's headers.
import { statusEvent } from '../a2a/task-shapes.ts'
import type { RoomTask } from '../rooms/room-tasks.ts'
import type { MessageRecord, TaskPushStore } from '../store.ts'
import type { RoomHint } from './room-hint.ts'
import type { PushQueue, PushTarget } from './worker.ts'

/** A config's key in its queue: task id and config id (neither holds a space). */
const key = (taskId: string, id: string) => `${taskId} ${id}`
const split = (k: string) => k.split(' ') as [string, string]

export const taskQueue = (s: TaskPushStore, rooms: RoomHint): PushQueue => ({
  wants: rooms.has,
  refresh: rooms.refresh,
  async claim(owner, leaseMs, scope) {
    return (await s.claimTaskPush(owner, leaseMs, scope)).map((c) => ({
      ...c,
      key: key(c.taskId, c.configId),
      headers: {
        ...(c.token ? { 'x-a2a-notification-token': c.token } : {}),
        ...(c.authScheme ? { authorization: `${c.authScheme} ${c.authCredentials ?? ''}`.trim() } : {}),
      },
    }))
  },
  advance: (k, owner, seq, leaseMs) => s.advanceTaskPush(...split(k), owner, seq, leaseMs),
  finish: (k, owner, cursor) => s.finishTaskPush(...split(k), owner, cursor),
  backoff: (k, owner, cursor, failures, delayMs) => s.backoffTaskPush(...split(k), owner, cursor, failures, delayMs),
  release: (owner) => s.releaseTaskPushes(owner),
})

/** The A2A 1.0 StreamResponse a config receives for one message: the task's status update. */
export function taskPushPayload(m: MessageRecord, target: PushTarget): string {
  const task = { id: target.taskId!, roomId: target.roomId, state: 'working' } as RoomTask
  return JSON.stringify(statusEvent('1.0', task, m))
}
