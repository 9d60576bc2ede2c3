/**
 * `subscriptions/listen` (2026-07-28), served here rather than by the SDK: each stream is one agent's view. Room
 * resource updates come from the room feed (so never for another agent's DM, and they stop when the agent leaves
 * or is kicked); task updates come when a followed wait task ends, whichever instance ended it.
 */
import type { FastifyReply } from 'fastify'
import type { Subscription } from '../../lib/feed/room-feed.ts'
import type { RoomService, WaitTask } from '../../lib/rooms/service.ts'
import type { MessageRecord } from '../../lib/store.ts'
import { roomIdOf, roomUri } from './resources.ts'
import { detailedTask } from './tasks.ts'

const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId'
/** Task ids one stream may follow. */
const MAX_TASKS = 32
const KEEPALIVE_MS = 15_000

export interface ListenFilter {
  resourceSubscriptions?: string[]
  taskIds?: string[]
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled'])
/** The message that changed the room, as the feed hands it to every listen stream (formatted once). */
const changedRoom = (m: MessageRecord) => m.roomId

/** What of the requested filter this caller gets: its own room's resource, tasks that exist. */
async function honor(service: RoomService, token: string | null, asked: ListenFilter) {
  let agent: { id: string; roomId: string } | null = null
  const rooms: { id: string; after: number }[] = []
  for (const uri of asked.resourceSubscriptions ?? []) {
    const id = typeof uri === 'string' ? roomIdOf(uri) : null
    if (id === null || token === null) continue
    const authed = await service.authenticate(token, id).catch(() => null)
    if (authed && !rooms.some((r) => r.id === id)) {
      agent = { id: authed.agent.id, roomId: id }
      // Read before the acknowledgement goes out: every change after it is told.
      rooms.push({ id, after: await service.lastSeq(id) })
    }
  }
  const tasks: WaitTask[] = []
  for (const id of (asked.taskIds ?? []).slice(0, MAX_TASKS)) {
    const task = typeof id === 'string' ? await service.waitTask(id) : null
    if (task && !tasks.some((t) => t.id === task.id)) tasks.push(task)
  }
  return { agent, rooms, tasks }
}

/** Serves one listen request as an SSE stream until the client goes away. */
export async function serveListen(
  service: RoomService,
  reply: FastifyReply,
  id: string | number,
  token: string | null,
  asked: ListenFilter,
  /** Ends of the open streams: shutdown ends them gracefully (an open stream would hold the server's close). */
  openStreams: Set<() => void>,
): Promise<void> {
  const { agent, rooms, tasks } = await honor(service, token, asked)
  const honored: ListenFilter = {}
  if (rooms.length > 0) honored.resourceSubscriptions = rooms.map((r) => roomUri(r.id))
  if (tasks.length > 0) honored.taskIds = tasks.map((t) => t.id)

  const raw = reply.raw
  reply.hijack()
  raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive' })
  let closed = false
  const write = (msg: object) => {
    if (!closed) raw.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', ...msg })}\n\n`)
  }
  const notify = (method: string, params: Record<string, unknown>) =>
    write({ method, params: { ...params, _meta: { ...(params._meta as object), [SUBSCRIPTION_ID]: id } } })
  const offs: (() => void)[] = []
  const end = (graceful: boolean) => {
    if (closed) return
    if (graceful) write({ id, result: { resultType: 'complete', _meta: { [SUBSCRIPTION_ID]: id } } })
    closed = true
    openStreams.delete(close)
    for (const off of offs) off()
    raw.end()
  }
  const close = () => end(true)
  openStreams.add(close)
  raw.once('close', () => end(false))

  notify('notifications/subscriptions/acknowledged', { notifications: honored })
  if (rooms.length === 0 && tasks.length === 0) return end(true)

  const keepalive = setInterval(() => !closed && raw.write(': keepalive\n\n'), KEEPALIVE_MS)
  keepalive.unref()
  offs.push(() => clearInterval(keepalive))

  let open = tasks.filter((t) => !TERMINAL.has(t.status)).length
  const taskEnded = (t: WaitTask) => {
    notify('notifications/tasks', detailedTask(t))
    if (--open === 0 && rooms.length === 0) end(true)
  }
  for (const t of tasks) {
    if (TERMINAL.has(t.status)) notify('notifications/tasks', detailedTask(t))
    else offs.push(service.followWaitTask(t.id, taskEnded))
  }
  if (open === 0 && rooms.length === 0) return end(true)

  for (const { id: roomId, after } of rooms) {
    const sub: Subscription<string> = service.feed.subscribe(roomId, after, {
      agentId: agent!.id,
      skipOwn: true,
      format: changedRoom,
      deliver: (room, seq) => notify('notifications/resources/updated', { uri: roomUri(room), _meta: { 'convene/seq': seq } }),
      cut: () => end(true),
    })
    offs.push(() => sub.close())
  }
}
