/** A durable wait as an MCP Task (the 2026-07-28 Tasks extension, io.modelcontextprotocol/tasks). */
import { WAIT_TASK_KEPT_MS, type WaitTask } from '../../lib/rooms/service.ts'
import { toolResult } from './call.ts'

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks'
/** How often a client without a listen stream should poll. */
export const TASK_POLL_MS = 1000

const CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities'

/** Whether the request's client declared the Tasks extension (its per-request `_meta` envelope). */
export function acceptsTasks(envelope: Record<string, unknown> | undefined): boolean {
  const caps = envelope?.[CLIENT_CAPABILITIES] as { extensions?: Record<string, unknown> } | undefined
  const ext = caps?.extensions
  return typeof ext === 'object' && ext !== null && TASKS_EXTENSION in ext
}

const base = (t: WaitTask) => ({
  taskId: t.id,
  status: t.status,
  createdAt: t.createdAt.toISOString(),
  lastUpdatedAt: t.updatedAt.toISOString(),
  // How long a finished task's result stays readable.
  ttlMs: WAIT_TASK_KEPT_MS,
  pollIntervalMs: TASK_POLL_MS,
})

/** What tools/call answers when it starts a task. */
export const createTaskResult = (t: WaitTask) => ({ resultType: 'task' as const, ...base(t) })

/** The task with its outcome, as tasks/get and notifications/tasks carry it. */
export function detailedTask(t: WaitTask): Record<string, unknown> {
  const task: Record<string, unknown> = base(t)
  if (t.status === 'completed' && t.result) task.result = { resultType: 'complete', ...toolResult(t.result, []) }
  if (t.status === 'failed') task.error = { code: -32603, message: `Error: ${t.error ?? 'the wait failed'}` }
  return task
}
