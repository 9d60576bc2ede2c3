// The PostgreSQL event bus: LISTEN/NOTIFY between instances sharing one database, with a resync from the store.
import { randomUUID } from 'node:crypto'
import type { RoomEvent } from './bus.ts'
import { LocalBus } from './local.ts'

/** PostgreSQL LISTEN/NOTIFY as the bus needs it. */
export interface PubSub {
  notify(channel: string, payload: string): Promise<unknown>
  /** onListen runs each time LISTEN is (re-)established. */
  listen(channel: string, onNotify: (payload: string) => void, onListen: () => void): Promise<{ unlisten(): Promise<void> }>
}

export interface PgBusOptions {
  pubsub: PubSub
  /** Each room's latest seq (rooms that no longer exist are left out). */
  lastSeqs(roomIds: string[]): Promise<Map<string, number>>
  /** How often to resync from the store and check that LISTEN still hears us. */
  resyncMs: number
  log: { warn(obj: object, msg: string): void }
  channel?: string
  /** Milliseconds clock (tests move it). */
  now?: () => number
}

interface Seen {
  max: number
  /** Seqs at or below this are not this instance's concern (it started watching the room after them). */
  floor: number
  recent: Set<number>
  /** A seq arrived past max + 1: notifications below max may have been lost. */
  holes: boolean
}

const RECENT = 512
/** Rounds without a ping after which another instance counts as gone. */
const PEER_ROUNDS = 3
/** How long after hearing its own hello an instance waits for the running ones' answers before it may count itself alone. */
const HELLO_ANSWER_MS = 500

/**
 * Several instances on one PostgreSQL: publish = NOTIFY (and local delivery at once), subscribe = LISTEN.
 * A lost notification (connection drop, database restart) is recovered by a periodic resync that compares
 * every room this instance knows with the store and emits the seqs it missed. A ping through the database
 * each round detects a dead LISTEN connection and re-listens; the pings also tell each instance who else
 * listens. Alone, an instance publishes nothing: no NOTIFY for nobody (a sixth of a single instance's cost
 * per message). A starting instance says hello at once and running ones answer it with a ping, so it knows
 * them within a round trip; it publishes until HELLO_ANSWER_MS after its hello came back (or two rounds, if
 * it never does). A peer that did not answer (its LISTEN down meanwhile) is known at its next ping; until
 * then its resync brings it what it missed.
 */
export class PgBus extends LocalBus {
  private readonly known = new Map<string, Seen>()
  private readonly me = randomUUID()
  private readonly channel: string
  private sub: { unlisten(): Promise<void> } | null = null
  private timer: NodeJS.Timeout | null = null
  private pingSeq = 0
  private pingSent = 0
  private pingHeard = 0
  /** Until when this instance cannot know it is alone (no peer heard): it publishes meanwhile. */
  private unsureUntil = 0
  /** Other instances on the channel: id → when it counts as gone unless it pings again. */
  private readonly peers = new Map<string, number>()
  private readonly now: () => number
  private ticking = false
  private closed = false
  private outbox: string[] = []
  private flushing: Promise<void> | null = null
  private readonly unsure = new Set<() => void>()
  /** Told how long each event took from NOTIFY on any instance to arrival here, in ms (metrics). */
  lagObserver: ((ms: number) => void) | null = null

  constructor(private readonly opts: PgBusOptions) {
    super()
    this.channel = opts.channel ?? 'convene_events'
    this.now = opts.now ?? Date.now
  }

  async start(): Promise<void> {
    this.unsureUntil = this.now() + 2 * this.opts.resyncMs
    await this.listen()
    await this.ping(true) // hello: instances already running publish to us from now on, and answer
    this.timer = setInterval(() => void this.tick(), this.opts.resyncMs)
    this.timer.unref()
  }

  /**
   * Delivers locally at once; other instances hear it through NOTIFY. Events published in the same turn of
   * the event loop share one NOTIFY (one transaction instead of one each under load).
   */
  override publish(event: RoomEvent): Promise<void> {
    this.deliver(event)
    this.outbox.push(`${event.roomId}:${event.seq}${event.changed ? ':c' : ''}`)
    if (!this.flushing) this.flushing = new Promise((resolve) => setImmediate(() => void this.flush().then(resolve)))
    return this.flushing
  }

  onUnsure(cb: () => void): void {
    this.unsure.add(cb)
  }

  private missed(): void {
    for (const cb of this.unsure) cb()
  }

  /** Other instances heard within the last rounds. */
  peerCount(): number {
    const now = this.now()
    for (const [id, until] of this.peers) if (until < now) this.peers.delete(id)
    return this.peers.size
  }

  /** Whether anyone else may be listening: a peer heard lately, or too soon after start to know. */
  private heard(): boolean {
    return this.now() < this.unsureUntil || this.peerCount() > 0
  }

  private async flush(): Promise<void> {
    const entries = this.outbox.splice(0)
    this.flushing = null
    if (!this.heard()) return
    const sentAt = Date.now()
    // NOTIFY payloads must stay under 8000 bytes: ~50-byte entries, at most 100 per notification.
    for (let i = 0; i < entries.length; i += 100) {
      try {
        await this.opts.pubsub.notify(this.channel, `${sentAt}|${entries.slice(i, i + 100).join(',')}`)
      } catch (err) {
        this.opts.log.warn({ err }, 'event NOTIFY failed; other instances catch up at the next resync')
      }
    }
  }

  watch(roomId: string, seq: number): void {
    if (!this.known.has(roomId)) this.known.set(roomId, { max: seq, floor: seq, recent: new Set(), holes: false })
  }

  /** One round: resync from the store, then check the previous ping came back (else re-listen). Exposed for tests. */
  async tick(): Promise<void> {
    if (this.ticking || this.closed) return
    this.ticking = true
    try {
      // The store is the truth: catch up first, so a slow re-listen never delays missed events.
      await this.catchUp()
      if (this.pingSent > this.pingHeard) {
        this.opts.log.warn({}, 'event LISTEN connection silent; re-listening')
        await this.relisten()
      }
      await this.ping()
    } catch (err) {
      this.opts.log.warn({ err }, 'event bus resync failed; retrying')
    } finally {
      this.ticking = false
    }
  }

  override async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    await this.flushing
    await this.sub?.unlisten().catch(() => {})
    await super.close()
  }

  private async listen() {
    let first = true
    this.sub = await this.opts.pubsub.listen(
      this.channel,
      (payload) => this.onNotify(payload),
      () => {
        // Called again by the driver after it re-established LISTEN: catch up on what was missed meanwhile.
        if (!first) void this.catchUp().catch((err) => this.opts.log.warn({ err }, 'event catch-up failed'))
        first = false
      },
    )
  }

  /** `p:<id>:<n>:<round ms>[:h]`; h (hello) asks the others to answer with a ping of theirs. */
  private async ping(hello = false) {
    const n = ++this.pingSeq
    await this.opts.pubsub.notify(this.channel, `p:${this.me}:${n}:${this.opts.resyncMs}${hello ? ':h' : ''}`)
    this.pingSent = Math.max(this.pingSent, n)
  }

  private async relisten() {
    const old = this.sub
    this.sub = null
    await old?.unlisten().catch(() => {})
    await this.listen()
    this.pingHeard = this.pingSent
    this.missed()
  }

  private onNotify(payload: string) {
    if (payload.startsWith('p:')) {
      const [, who, n, rounds, hello] = payload.split(':')
      if (who === this.me) {
        this.pingHeard = Math.max(this.pingHeard, Number(n))
        if (hello) this.unsureUntil = Math.min(this.unsureUntil, this.now() + HELLO_ANSWER_MS)
      } else if (who) {
        // A peer's pings come at its own pace (older versions did not say theirs).
        this.peers.set(who, this.now() + PEER_ROUNDS * (Number(rounds) || this.opts.resyncMs))
        if (hello && !this.closed) void this.ping().catch((err) => this.opts.log.warn({ err }, 'event bus hello answer failed'))
      }
      return
    }
    const bar = payload.indexOf('|')
    const sentAt = Number(payload.slice(0, bar))
    if (bar > 0 && this.lagObserver) this.lagObserver(Math.max(0, Date.now() - sentAt))
    for (const entry of payload.slice(bar + 1).split(',')) {
      const [roomId, seqText, flag] = entry.split(':')
      const seq = Number(seqText)
      if (roomId && Number.isSafeInteger(seq)) this.deliver(flag === 'c' ? { roomId, seq, changed: true } : { roomId, seq })
    }
  }

  /** Emits each (room, seq) once, however many times it arrives (local publish, NOTIFY echo, resync). */
  private deliver(event: RoomEvent) {
    let seen = this.known.get(event.roomId)
    if (!seen) this.known.set(event.roomId, (seen = { max: 0, floor: event.seq - 1, recent: new Set(), holes: false }))
    if (event.seq <= seen.floor || seen.recent.has(event.seq) || event.seq <= seen.max - RECENT) {
      // already emitted (by a resync, unflagged): the change must still be heard
      if (event.changed) this.emit(event)
      return
    }
    seen.recent.add(event.seq)
    if (seen.recent.size > RECENT) seen.recent.delete(seen.recent.values().next().value!)
    if (event.seq > Math.max(seen.max, seen.floor) + 1) seen.holes = true
    if (event.seq > seen.max) seen.max = event.seq
    this.emit(event)
  }

  private async catchUp() {
    if (this.known.size === 0) return
    const latest = await this.opts.lastSeqs([...this.known.keys()])
    let lost = false
    for (const [roomId, seen] of this.known) {
      const last = latest.get(roomId)
      if (last === undefined) {
        this.known.delete(roomId)
        lost = true
        continue
      }
      // A notification lost while later ones arrived leaves a hole below max: fill it from the store too.
      const from = seen.holes ? Math.max(seen.floor + 1, last - RECENT + 1) : Math.max(seen.max + 1, last - RECENT + 1)
      if (from <= last) lost = true
      for (let seq = from; seq <= last; seq++) this.deliver({ roomId, seq })
      seen.holes = false
    }
    if (lost) this.missed()
  }
}
