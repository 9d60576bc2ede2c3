// One subscriber of a room's live feed: catches up from the store, then takes live messages, each seq once and in order.
import { removalIn, stillMember } from '../rooms/removal.ts'
import { canSee } from '../rooms/visibility.ts'
import type { MessageRecord, Store } from '../store.ts'

export const PAGE = 500

/** Turns a message into what a reader consumes. Readers sharing a format share its result: pass a module-level function. */
export type Format<T> = (m: MessageRecord) => T

/** What a protocol plugs into the feed. */
export interface Reader<T> {
  /** Whose view this is (messages are filtered by `canSee`); null for a spectator (broadcasts only). */
  readonly agentId: string | null
  /** Leave out the agent's own messages (MCP notifies an agent only of the others'). */
  readonly skipOwn?: boolean
  readonly format: Format<T>
  /**
   * A message this reader may see, in seq order, once. While catching up (`live` false) the feed waits for the
   * promise it returns, if any; live messages are handed over without waiting.
   */
  deliver(item: T, seq: number, live: boolean): void | Promise<void>
  /** A live message arrived while it catches up and waits in the feed (a reader may count them and give up). */
  held?(item: T): void
  /** Its agent was kicked or left: nothing more comes (the subscription is closed already). */
  cut(): void
}

/** Formats a row at most once per format, whatever the number of readers. */
export class Shared {
  private readonly made = new Map<Format<unknown>, unknown>()
  constructor(readonly row: MessageRecord) {}

  as<T>(format: Format<T>): T {
    if (this.made.has(format)) return this.made.get(format) as T
    const item = format(this.row)
    this.made.set(format, item)
    return item
  }
}

/** What a room's pump sees of a subscription, whatever it formats to. */
export interface Member {
  readonly agentId: string | null
  offer(shared: Shared): void
  cut(): void
}

export class Subscription<T> implements Member {
  private at: number
  /** Resolves once it is live (or closed); rejects if catching up failed (it is closed then). */
  readonly ready: Promise<void>
  private live = false
  private closed = false
  private held: { seq: number; item: T }[] = []
  private heldTo = 0

  constructor(
    private readonly store: Pick<Store, 'readAfter' | 'existingAgents'>,
    private readonly roomId: string,
    after: number,
    private readonly reader: Reader<T>,
    roomReady: Promise<void>,
    private readonly onClose: () => void,
  ) {
    this.at = after
    this.ready = this.catchUp(roomReady)
    this.ready.catch(() => this.close())
  }

  /** The last seq this subscriber has been given or passed over. */
  get position(): number {
    return this.at
  }

  get agentId(): string | null {
    return this.reader.agentId
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.held = []
    this.onClose()
  }

  /** Its agent was removed: closed, then told. */
  cut(): void {
    if (this.closed) return
    this.close()
    this.reader.cut()
  }

  /** A message read by the feed for the whole room (synchronous: live messages never wait). */
  offer(shared: Shared): void {
    const m = shared.row
    if (this.closed || m.seq <= this.at) return
    if (!this.live) {
      if (m.seq <= this.heldTo) return
      this.heldTo = m.seq
      if (!this.wants(m)) return
      const item = shared.as(this.reader.format)
      this.held.push({ seq: m.seq, item })
      this.reader.held?.(item)
      return
    }
    this.at = m.seq
    if (this.wants(m)) this.reader.deliver(shared.as(this.reader.format), m.seq, true)
  }

  private wants(m: MessageRecord): boolean {
    const me = this.reader.agentId
    return canSee(m, me) && !(this.reader.skipOwn && me !== null && m.fromId === me)
  }

  /** Replays from the store (the feed keeps what arrives meanwhile), then hands over what it kept: no gap, no repeat. */
  private async catchUp(roomReady: Promise<void>): Promise<void> {
    await roomReady
    const me = this.reader.agentId
    // Removed before it subscribed: later removals reach the feed as notices.
    if (me !== null && !this.closed && !(await stillMember(this.store, me))) return this.cut()
    const agent = me !== null ? { id: me, roomId: this.roomId } : null
    for (;;) {
      if (this.closed) return
      const rows = await this.store.readAfter(agent, this.roomId, this.at, PAGE)
      const removal = me !== null ? await removalIn(this.store, rows, [me]) : null
      for (const m of rows) {
        if (this.closed) return
        if (removal && m.seq >= removal.seq) return this.cut()
        this.at = m.seq
        if (!this.wants(m)) continue
        const wait = this.reader.deliver(this.reader.format(m), m.seq, false)
        if (wait) await wait
      }
      if (rows.length < PAGE) break
    }
    if (this.closed) return
    this.live = true
    for (const h of this.held) {
      if (this.closed) return
      if (h.seq <= this.at) continue
      this.at = h.seq
      this.reader.deliver(h.item, h.seq, true)
    }
    this.at = Math.max(this.at, this.heldTo)
    this.held = []
  }
}
