// Token → agent lookups kept per instance; a room's entries go whenever its membership or settings change.
import type { AgentRecord, RoomRecord } from '../store.ts'

/** What a token stands for, without what moves on every message (cursor, last seq): those are read fresh. */
export interface Authed {
  agent: Omit<AgentRecord, 'cursor'>
  room: Omit<RoomRecord, 'lastSeq' | 'lastActivity'>
}

interface Entry {
  authed: Authed
  until: number
}

/**
 * Only tokens the store knows are kept (an unknown token earns no entry). Entries live `ttlMs` at most: a change
 * made on another instance reaches this one through the bus at once, and the time limit bounds anything missed.
 * Writes re-check the sender in their own statement, so a stale entry never gets a message in.
 */
export class AuthCache {
  private readonly byToken = new Map<string, Entry>()
  private readonly byRoom = new Map<string, Set<string>>()
  /** Moves on every drop: a lookup that started before one must not store what it read (it may predate the change). */
  epoch = 0

  constructor(
    private readonly max = 10_000,
    private readonly ttlMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Tokens held (expired ones count until looked up again). */
  get size(): number {
    return this.byToken.size
  }

  get(tokenHash: string): Authed | undefined {
    const e = this.byToken.get(tokenHash)
    if (!e) return undefined
    if (e.until > this.now()) return e.authed
    this.delete(tokenHash)
    return undefined
  }

  /** Keeps what a store read found, unless something was dropped since `epoch` (read before the lookup). */
  set(tokenHash: string, authed: Authed, epoch: number): void {
    if (epoch !== this.epoch) return
    this.delete(tokenHash)
    if (this.byToken.size >= this.max) this.delete(this.byToken.keys().next().value!)
    this.byToken.set(tokenHash, { authed, until: this.now() + this.ttlMs })
    let tokens = this.byRoom.get(authed.room.id)
    if (!tokens) this.byRoom.set(authed.room.id, (tokens = new Set()))
    tokens.add(tokenHash)
  }

  dropRoom(roomId: string): void {
    this.epoch++
    for (const t of this.byRoom.get(roomId) ?? []) this.byToken.delete(t)
    this.byRoom.delete(roomId)
  }

  clear(): void {
    this.epoch++
    this.byToken.clear()
    this.byRoom.clear()
  }

  private delete(tokenHash: string): void {
    const e = this.byToken.get(tokenHash)
    if (!e) return
    this.byToken.delete(tokenHash)
    const tokens = this.byRoom.get(e.authed.room.id)
    tokens?.delete(tokenHash)
    if (tokens?.size === 0) this.byRoom.delete(e.authed.room.id)
  }
}
