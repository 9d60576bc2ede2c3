/** A2A Task shapes for room subscriptions, in both generations: the Task, its status updates, a room message. */
import { toWire } from '../rooms/wire.ts'
import type { RoomTask } from '../rooms/room-tasks.ts'
import type { MessageRecord } from '../store.ts'

/** A2A protocol generation a client speaks: from the A2A-Version header (absent → 0.3). */
export type A2AVersion = '0.3' | '1.0'

const STATE_1 = { working: 'TASK_STATE_WORKING', completed: 'TASK_STATE_COMPLETED', canceled: 'TASK_STATE_CANCELED', failed: 'TASK_STATE_FAILED' } as const

const state = (v: A2AVersion, s: RoomTask['state']) => (v === '1.0' ? STATE_1[s] : s)

/** A room message as an A2A agent message of the task. */
export function roomMessage(v: A2AVersion, t: RoomTask, m: MessageRecord) {
  const wire = toWire(m)
  if (v === '1.0') {
    return { messageId: m.id, role: 'ROLE_AGENT', parts: [{ text: m.body }, { data: wire }], contextId: t.roomId, taskId: t.id, metadata: { seq: m.seq } }
  }
  return {
    kind: 'message', messageId: m.id, role: 'agent', parts: [{ kind: 'text', text: m.body }, { kind: 'data', data: wire }],
    contextId: t.roomId, taskId: t.id, metadata: { seq: m.seq },
  }
}

/** Why a task ended, as its final status message. */
function endMessage(v: A2AVersion, t: RoomTask) {
  const text = t.reason ?? t.state
  return v === '1.0'
    ? { messageId: `${t.id}-end`, role: 'ROLE_AGENT', parts: [{ text }], contextId: t.roomId, taskId: t.id }
    : { kind: 'message', messageId: `${t.id}-end`, role: 'agent', parts: [{ kind: 'text', text }], contextId: t.roomId, taskId: t.id }
}

function status(v: A2AVersion, t: RoomTask, m?: MessageRecord) {
  const message = m ? roomMessage(v, t, m) : t.state !== 'working' ? endMessage(v, t) : undefined
  return { state: state(v, t.state), ...(message ? { message } : {}), timestamp: (m?.timestamp ?? t.updatedAt).toISOString() }
}

/** The Task: its state, and optionally the newest messages as history. */
export function taskJson(v: A2AVersion, t: RoomTask, history: MessageRecord[] = []) {
  const body = {
    id: t.id,
    contextId: t.roomId,
    status: status(v, t),
    ...(history.length ? { history: history.map((m) => roomMessage(v, t, m)) } : {}),
    metadata: { action: 'room.subscribe', startSeq: t.startSeq, cursor: t.cursor },
  }
  return v === '1.0' ? body : { kind: 'task', ...body }
}

/** A StreamResponse (1.0) / stream event (0.3) carrying the Task. */
export const taskEvent = (v: A2AVersion, t: RoomTask) => (v === '1.0' ? { task: taskJson(v, t) } : taskJson(v, t))

/** A status update: a room message (state working), or the task's end (final). */
export function statusEvent(v: A2AVersion, t: RoomTask, m?: MessageRecord) {
  const body = { taskId: t.id, contextId: t.roomId, status: status(v, t, m), ...(m ? { metadata: { seq: m.seq } } : {}) }
  return v === '1.0' ? { statusUpdate: body } : { kind: 'status-update', ...body, final: t.state !== 'working' }
}
