import type { EventBus, RoomEvent } from '../../lib/events.ts'
import { removalIn } from '../../lib/rooms/removal.ts'
import { toWire } from '../../lib/rooms/wire.ts'
import type { MessageRecord, Store } from '../../lib/store.ts'

/** A message formatted once as an SSE frame, shared by every subscriber that may see it. */
export interface Frame {
  seq: number
  fromId: string | null
  toId: string | null
  text: string
}

export interface Subscriber {
  /** The agent whose view this is; null for a spectator. */
  readonly agentId: string | null
  /** Called in seq order for every message of the room (the subscriber decides what it may see). */
  offer(frame: Frame): void
  /** Its agent was kicked or left: nothing more is offered, and it ends. */
  cut(): void
}

export const PAGE = 500

export function toFrame(m: MessageRecord): Frame {
  return { seq: m.seq, fromId: m.fromId, toId: m.toId, text: `id: ${m.seq}\ndata: ${JSON.stringify(toWire(m))}\n\n` }
}

class RoomFeed {
  readonly subs = new Set<Subscriber>()
  /** Highest seq read from the store (-1 until initialised). */
  fetched = -1
  heard = 0
  pumping = false
  ready: Promise<void> | null = null
}

/**
 * Fan-out for one instance: one store read per room event, whatever the number of subscribers;
 * each subscriber filters in memory. Feeds exist only for rooms with subscribers here.
 */
export class Hub {
  private readonly feeds = new Map<string, RoomFeed>()
  private readonly off: () => void

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly onError: (err: unknown) => void,
  ) {
    this.off = bus.subscribe((e) => this.onEvent(e))
  }

  /** Adds a subscriber; resolves once the feed knows its starting point (everything later is offered). */
  async add(roomId: string, sub: Subscriber): Promise<void> {
    let feed = this.feeds.get(roomId)
    if (!feed) {
      const created = new RoomFeed()
      this.feeds.set(roomId, (feed = created))
      created.ready = (async () => {
        const room = await this.store.roomById(roomId)
        created.fetched = Math.max(room?.lastSeq ?? 0, 0)
        this.bus.watch?.(roomId, created.fetched)
        void this.pump(roomId, created)
      })()
      created.ready.catch(() => {
        if (this.feeds.get(roomId) === created) this.feeds.delete(roomId)
      })
    }
    feed.subs.add(sub)
    await feed.ready
  }

  remove(roomId: string, sub: Subscriber): void {
    const feed = this.feeds.get(roomId)
    if (!feed) return
    feed.subs.delete(sub)
    if (feed.subs.size === 0) this.feeds.delete(roomId)
  }

  get subscribers(): number {
    let n = 0
    for (const f of this.feeds.values()) n += f.subs.size
    return n
  }

  close(): void {
    this.off()
    this.feeds.clear()
  }

  private onEvent(e: RoomEvent) {
    const feed = this.feeds.get(e.roomId)
    if (!feed) return
    if (e.seq > feed.heard) feed.heard = e.seq
    void this.pump(e.roomId, feed)
  }

  private async pump(roomId: string, feed: RoomFeed) {
    if (feed.pumping || feed.fetched < 0) return
    feed.pumping = true
    try {
      while (feed.heard > feed.fetched && this.feeds.get(roomId) === feed) {
        const rows = await this.store.readRoom(roomId, feed.fetched, PAGE)
        if (rows.length === 0) break
        const removal = await removalIn(this.store, rows, [...feed.subs].map((s) => s.agentId))
        const removed = (sub: Subscriber) => removal !== null && sub.agentId !== null && removal.gone.has(sub.agentId)
        for (const m of rows) {
          const frame = toFrame(m)
          for (const sub of feed.subs) if (!(removed(sub) && m.seq >= removal!.seq)) sub.offer(frame)
        }
        feed.fetched = rows.at(-1)!.seq
        for (const sub of [...feed.subs]) if (removed(sub)) sub.cut()
      }
    } catch (err) {
      this.onError(err)
    } finally {
      feed.pumping = false
    }
  }
}
