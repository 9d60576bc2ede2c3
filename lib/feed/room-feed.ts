// This instance's live feed of room messages, shared by SSE, MCP notifications and the web page's live view.
import type { EventBus, RoomEvent } from '../events/bus.ts'
import { removalIn } from '../rooms/removal.ts'
import type { Store } from '../store.ts'
import { PAGE, Shared, Subscription, type Member, type Reader } from './subscription.ts'

export type { Reader, Subscription } from './subscription.ts'

/** What a feed needs: the store reads and the bus. The room service builds the one feed of its instance. */
export interface FeedSource {
  store: Pick<Store, 'roomById' | 'readRoom' | 'readAfter' | 'existingAgents'>
  events: Pick<EventBus, 'subscribe' | 'watch'>
  onError: (err: unknown) => void
}

/** The subscribers of one room on this instance and how far the room has been read for them. */
class Room {
  readonly subs = new Set<Member>()
  /** Highest seq read from the store (-1 until known). */
  fetched = -1
  /** Highest seq the bus announced. */
  heard = 0
  pumping = false
  ready: Promise<void> = Promise.resolve()
}

/**
 * One store read per room event for the whole instance, whatever the number of subscribers and their protocol;
 * each subscriber filters in memory and each format runs once per message. Rooms are followed only while someone
 * here subscribes to them.
 */
export class RoomFeed {
  private readonly rooms = new Map<string, Room>()
  private readonly off: () => void

  constructor(private readonly source: FeedSource) {
    this.off = source.events.subscribe((e) => this.onEvent(e))
  }

  /**
   * Everything `reader` may see in the room after seq `after`: what is stored first, then live messages, each
   * seq once and in order. Its `ready` resolves once it is live.
   */
  subscribe<T>(roomId: string, after: number, reader: Reader<T>): Subscription<T> {
    const room = this.follow(roomId)
    const sub: Subscription<T> = new Subscription(this.source.store, roomId, after, reader, room.ready, () => this.leave(roomId, sub))
    room.subs.add(sub)
    return sub
  }

  close(): void {
    this.off()
    this.rooms.clear()
  }

  private follow(roomId: string): Room {
    const known = this.rooms.get(roomId)
    if (known) return known
    const room = new Room()
    this.rooms.set(roomId, room)
    room.ready = (async () => {
      const found = await this.source.store.roomById(roomId)
      room.fetched = Math.max(found?.lastSeq ?? 0, 0)
      this.source.events.watch?.(roomId, room.fetched)
      void this.pump(roomId, room)
    })()
    room.ready.catch(() => {
      if (this.rooms.get(roomId) === room) this.rooms.delete(roomId)
    })
    return room
  }

  private leave(roomId: string, sub: Member): void {
    const room = this.rooms.get(roomId)
    if (!room?.subs.delete(sub)) return
    if (room.subs.size === 0) this.rooms.delete(roomId)
  }

  private onEvent(e: RoomEvent): void {
    const room = this.rooms.get(e.roomId)
    if (!room) return
    if (e.seq > room.heard) room.heard = e.seq
    void this.pump(e.roomId, room)
  }

  private async pump(roomId: string, room: Room): Promise<void> {
    if (room.pumping || room.fetched < 0) return
    room.pumping = true
    try {
      while (room.heard > room.fetched && this.rooms.get(roomId) === room) {
        const rows = await this.source.store.readRoom(roomId, room.fetched, PAGE)
        if (rows.length === 0) break
        const removal = await removalIn(this.source.store, rows, [...room.subs].map((s) => s.agentId))
        const gone = (s: Member) => removal !== null && s.agentId !== null && removal.gone.has(s.agentId)
        for (const m of rows) {
          const shared = new Shared(m)
          for (const s of room.subs) if (!(gone(s) && m.seq >= removal!.seq)) s.offer(shared)
        }
        room.fetched = rows.at(-1)!.seq
        for (const s of [...room.subs]) if (gone(s)) s.cut()
      }
    } catch (err) {
      this.source.onError(err)
    } finally {
      room.pumping = false
    }
  }
}
