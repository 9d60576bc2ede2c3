/**
 * A2A streaming over SSE: one JSON-RPC response per event. A room subscription streams its Task, then a status update
 * per message its agent may see (SSE id = the message's seq, for Last-Event-ID resume), and ends with a final update.
 */
import type { ServerResponse } from 'node:http'
import type { RoomService } from '../../lib/rooms/service.ts'
import type { RoomTask } from '../../lib/rooms/room-tasks.ts'
import type { MessageRecord } from '../../lib/store.ts'
import type { Subscription } from '../../lib/feed/room-feed.ts'
import { rpcResult, type RpcId } from '../../lib/net/jsonrpc.ts'
import type { A2AVersion } from './envelope.ts'
import { statusEvent, taskEvent } from '../../lib/a2a/task-shapes.ts'

const PING_MS = 15_000
/** A client this far behind is cut off (it resumes with Last-Event-ID). */
const MAX_BACKLOG_BYTES = 1 << 20

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
}

/** Opens an SSE response and writes one JSON-RPC result as its only event (any action sent with SendStreamingMessage). */
export function streamOnce(raw: ServerResponse, id: RpcId, result: unknown): void {
  raw.writeHead(200, SSE_HEADERS)
  raw.end(`data: ${JSON.stringify(rpcResult(id, result))}\n\n`)
}

/** One stream of a room subscription task; `done` resolves when it ended (task ended, client gone, shutdown). */
export class TaskStream {
  private sub: Subscription<MessageRecord> | null = null
  private ping: NodeJS.Timeout | null = null
  private offEnded: () => void = () => {}
  private offBus: () => void = () => {}
  private closed = false
  private checking = false
  readonly done: Promise<void>
  private finish!: () => void

  constructor(
    private readonly raw: ServerResponse,
    private readonly service: RoomService,
    private readonly version: A2AVersion,
    private readonly rpcId: RpcId,
    private task: RoomTask,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve))
    raw.once('close', () => this.stop())
  }

  get taskId(): string {
    return this.task.id
  }

  /** Writes the Task, then follows the room after `after` until the task ends. */
  start(after: number): void {
    this.raw.writeHead(200, SSE_HEADERS)
    this.event(taskEvent(this.version, this.task))
    if (this.task.state !== 'working') return this.end()
    const tasks = this.service.roomTasks
    this.offEnded = tasks.onEnded(this.task.id, (t) => this.ended(t))
    // ended on another instance: that instance publishes an event with no new message
    this.offBus = this.service.onRoomEvent(this.task.roomId, (seq) => {
      if (this.sub && seq <= this.sub.position) void this.recheck()
    })
    this.sub = this.service.feed.subscribe(this.task.roomId, after, {
      agentId: this.task.agentId,
      format: (m) => m,
      deliver: (m, seq, live) => this.message(m, seq, live),
      cut: () => void tasks.end(this.task.id, 'canceled', 'the agent left the room or was removed').then((t) => t && this.ended(t)),
    })
    this.sub.ready.catch(() => this.end())
    this.ping = setInterval(() => this.raw.write(': ping\n\n'), PING_MS)
    this.ping.unref()
  }

  /** Shutdown: the stream ends; the task goes on (the client resumes elsewhere). */
  close(): void {
    this.end()
  }

  private message(m: MessageRecord, seq: number, live: boolean): void | Promise<void> {
    if (this.closed) return
    const ok = this.event(statusEvent(this.version, this.task, m), seq)
    this.service.roomTasks.streamed(this.task.id, seq)
    if (this.raw.writableLength > MAX_BACKLOG_BYTES) return this.end()
    if (!ok && !live) return new Promise((resolve) => this.raw.once('drain', resolve).once('close', resolve))
  }

  private async recheck(): Promise<void> {
    if (this.checking || this.closed) return
    this.checking = true
    try {
      const t = await this.service.roomTasks.get(this.task.id)
      if (t && t.state !== 'working') this.ended(t)
    } finally {
      this.checking = false
    }
  }

  private ended(t: RoomTask): void {
    if (this.closed) return
    this.task = t
    this.event(statusEvent(this.version, t))
    this.end()
  }

  private event(result: unknown, seq?: number): boolean {
    return this.raw.write(`${seq !== undefined ? `id: ${seq}\n` : ''}data: ${JSON.stringify(rpcResult(this.rpcId, result))}\n\n`)
  }

  private end(): void {
    if (this.closed) return
    this.stop()
    this.raw.end()
  }

  private stop(): void {
    if (this.closed) return
    this.closed = true
    this.sub?.close()
    this.offEnded()
    this.offBus()
    if (this.ping) clearInterval(this.ping)
    this.finish()
  }
}
