import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import { removalIn, stillMember } from '../../lib/rooms/removal.ts'
import type { Store } from '../../lib/store.ts'
import { PAGE, toFrame, type Frame, type Hub, type Subscriber } from './hub.ts'

export interface StreamOptions {
  roomId: string
  /** The agent whose view this is; null for a spectator (public messages only). */
  agentId: string | null
  /** Start after this seq (Last-Event-ID, or the room's latest when absent). */
  after: number
  bufferBytes: number
  pingMs: number
}

const HARD_FACTOR = 16
const PING = 'event: ping\ndata: \n\n'

/**
 * One SSE client. Joins the hub first and buffers live frames while it replays from the store,
 * then flushes the buffer: every seq is written once, in order, with no gap.
 * A client whose unsent bytes exceed the buffer is disconnected (it resumes with Last-Event-ID).
 */
export class SseStream implements Subscriber {
  private lastSent: number
  private live = false
  private pending: Frame[] = []
  private pendingBytes = 0
  private closed = false
  private checking = false
  private ping: NodeJS.Timeout | null = null
  private readonly done: Promise<void>

  constructor(
    private readonly raw: ServerResponse,
    private readonly hub: Hub,
    private readonly store: Store,
    private readonly opts: StreamOptions,
  ) {
    this.lastSent = opts.after
    this.done = new Promise((resolve) => raw.once('close', () => resolve()))
    raw.once('close', () => this.stop())
  }

  /** The agent this stream authenticated as (null for a spectator). */
  get agentId(): string | null {
    return this.opts.agentId
  }

  /** Runs until the client goes away or the stream is closed. */
  async run(): Promise<void> {
    await this.hub.add(this.opts.roomId, this)
    if (this.closed) return
    await this.replay()
    if (this.closed) return
    this.live = true
    for (const f of this.pending) this.offer(f)
    this.pending = []
    this.ping = setInterval(() => this.write(PING), this.opts.pingMs)
    this.ping.unref()
    await this.done
  }

  offer(frame: Frame): void {
    if (this.closed || frame.seq <= this.lastSent || !this.visible(frame)) return
    if (!this.live) {
      this.pending.push(frame)
      this.pendingBytes += frame.text.length
      if (this.pendingBytes > this.opts.bufferBytes) this.drop()
      return
    }
    this.lastSent = frame.seq
    this.write(frame.text)
  }

  /** Its agent was kicked or left (seen by the hub): closed at once. */
  cut(): void {
    this.end()
  }

  /** Ends the stream (shutdown, removal). */
  end(): void {
    if (this.closed) return
    this.stop()
    this.raw.end()
  }

  private visible(f: Frame): boolean {
    if (f.toId === null) return true
    return this.opts.agentId !== null && (f.toId === this.opts.agentId || f.fromId === this.opts.agentId)
  }

  private async replay() {
    const agent = this.opts.agentId ? { id: this.opts.agentId, roomId: this.opts.roomId } : null
    // Removed between its authentication and joining the hub: later removals reach the hub as notices.
    if (agent && !(await stillMember(this.store, agent.id))) return this.end()
    for (;;) {
      const rows = await this.store.readAfter(agent, this.opts.roomId, this.lastSent, PAGE)
      const removal = agent ? await removalIn(this.store, rows, [agent.id]) : null
      for (const m of rows) {
        if (this.closed) return
        if (removal && m.seq >= removal.seq) return this.end()
        this.lastSent = m.seq
        // Replay is pulled, so it can wait for the client instead of dropping it.
        if (!this.raw.write(toFrame(m).text) && this.raw.writableLength > this.opts.bufferBytes) {
          await Promise.race([once(this.raw, 'drain'), this.done])
        }
      }
      if (rows.length < PAGE) return
    }
  }

  /**
   * Writes never wait. Bytes of one synchronous burst stay counted in writableLength until the event loop
   * completes the writes, so the limit is checked once the loop has turned: what is still unsent then is the
   * client's backlog. A backlog far beyond the limit is cut at once.
   */
  private write(text: string) {
    if (this.closed) return
    this.raw.write(text)
    if (this.raw.writableLength > this.opts.bufferBytes * HARD_FACTOR) return this.drop()
    if (!this.checking && this.raw.writableLength > this.opts.bufferBytes) {
      this.checking = true
      setImmediate(() => {
        this.checking = false
        if (this.raw.writableLength > this.opts.bufferBytes) this.drop()
      })
    }
  }

  /** Slow consumer: cut it off rather than slow the room or grow memory. */
  private drop() {
    if (this.closed) return
    this.stop()
    this.raw.destroy()
  }

  private stop() {
    if (this.closed) return
    this.closed = true
    if (this.ping) clearInterval(this.ping)
    this.pending = []
    this.hub.remove(this.opts.roomId, this)
  }
}
