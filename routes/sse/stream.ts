// One SSE client of a room: the room feed's frames written to its socket, cut off once it falls too far behind.
//
// Frames are written on reply.raw, not with @fastify/sse's reply.sse.send(), because send() waits for the client:
// each write past the socket's 16 KiB high-water mark returns a promise settled by 'drain' and adds a 'drain' and an
// 'error' listener to the response. The cut-off lets a live client fall SSE_CLIENT_BUFFER_BYTES (16× within a burst)
// behind with no write waiting, so each frame would park a promise and two listeners until it drains or is cut
// (measured: 1 MiB behind on 240-byte frames, 4,500 of each; Node warns past 10). send() also builds each frame per
// call, where the feed builds it once for all subscribers. Pings (same bytes), headers and Last-Event-ID use it.
import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import type { SSEReplyInterface } from '@fastify/sse'
import type { Reader, RoomFeed, Subscription } from '../../lib/feed/room-feed.ts'
import { toWire } from '../../lib/rooms/wire.ts'
import type { MessageRecord } from '../../lib/store.ts'

export interface StreamOptions {
  roomId: string
  /** The agent whose view this is; null for a spectator (public messages only). */
  agentId: string | null
  /** Start after this seq (Last-Event-ID, or the room's latest when absent). */
  after: number
  bufferBytes: number
  pingMs: number
  /** A message frame was written (receipts: the agent's SSE delivery cursor). */
  onDelivered?: (seq: number) => void
}

const HARD_FACTOR = 16
/** @fastify/sse writes it as `event: ping\ndata: \n\n` (the route's serializer passes strings through). */
const PING = { event: 'ping', data: '' }

/** A message as an SSE frame: formatted once per message, the same string for every SSE subscriber. */
function sseFrame(m: MessageRecord): string {
  return `id: ${m.seq}\ndata: ${JSON.stringify(toWire(m))}\n\n`
}

/**
 * One SSE client: replays from the store, then goes live (the feed keeps live frames while it replays: every seq
 * once, in order, no gap). A client whose unsent bytes exceed the buffer is disconnected (it resumes with
 * Last-Event-ID).
 */
export class SseStream implements Reader<string> {
  readonly format = sseFrame
  private heldBytes = 0
  private closed = false
  private checking = false
  private ping: NodeJS.Timeout | null = null
  private sub: Subscription<string> | null = null
  private readonly done: Promise<void>

  constructor(
    private readonly raw: ServerResponse,
    private readonly sse: Pick<SSEReplyInterface, 'send'>,
    private readonly feed: RoomFeed,
    private readonly opts: StreamOptions,
  ) {
    this.done = new Promise((resolve) => raw.once('close', () => resolve()))
    raw.once('close', () => this.stop())
  }

  /** The agent this stream authenticated as (null for a spectator). */
  get agentId(): string | null {
    return this.opts.agentId
  }

  /** Runs until the client goes away or the stream is closed. */
  async run(): Promise<void> {
    if (this.closed) return
    this.sub = this.feed.subscribe(this.opts.roomId, this.opts.after, this)
    await this.sub.ready
    if (this.closed) return
    this.ping = setInterval(() => this.sendPing(), this.opts.pingMs)
    this.ping.unref()
    await this.done
  }

  deliver(text: string, seq: number, live: boolean): void | Promise<void> {
    if (this.closed) return
    this.opts.onDelivered?.(seq)
    if (live) return this.write(text)
    // Replay is pulled, so it can wait for the client instead of dropping it.
    if (!this.raw.write(text) && this.raw.writableLength > this.opts.bufferBytes) {
      return Promise.race([once(this.raw, 'drain'), this.done]).then(() => {})
    }
  }

  held(text: string): void {
    this.heldBytes += text.length
    if (this.heldBytes > this.opts.bufferBytes) this.drop()
  }

  /** Its agent was kicked or left (seen by the feed): closed at once. */
  cut(): void {
    this.end()
  }

  /** Ends the stream (shutdown, removal). */
  end(): void {
    if (this.closed) return
    this.stop()
    this.raw.end()
  }

  private sendPing() {
    if (this.closed) return
    this.sse.send(PING).catch(() => {})
    this.check()
  }

  /** Writes never wait. */
  private write(text: string) {
    if (this.closed) return
    this.raw.write(text)
    this.check()
  }

  /**
   * Bytes of one synchronous burst stay counted in writableLength until the event loop completes the writes, so
   * the limit is checked once the loop has turned: what is still unsent then is the client's backlog. A backlog
   * far beyond the limit is cut at once.
   */
  private check() {
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
    this.sub?.close()
  }
}
