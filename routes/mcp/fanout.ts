import type { EventBus } from '../../lib/events.ts'
import { removalIn, stillMember } from '../../lib/rooms/removal.ts'
import type { Store } from '../../lib/store.ts'
import type { McpSession } from './session.ts'

const PAGE = 500

interface RoomRow {
  seq: number
  from: string
  fromId: string | null
  to: string | null
  toId: string | null
  body: string
  timestamp: string
}

/**
 * Room events → `notifications/message` for the sessions on this instance. Each event is read from the
 * database once per room (DMs included) and visibility is decided per session in memory.
 */
export class Fanout {
  private readonly rooms = new Map<string, Set<McpSession>>()
  private readonly pulling = new Map<string, Promise<void>>()
  private readonly dirty = new Set<string>()
  private readonly unsubscribe: () => void

  constructor(
    private readonly store: Pick<Store, 'readRoom' | 'existingAgents'>,
    events: EventBus,
    private readonly onError: (err: unknown) => void,
  ) {
    this.unsubscribe = events.subscribe((e) => {
      if (this.rooms.has(e.roomId)) void this.pull(e.roomId)
    })
  }

  /** Starts notifying a session about its room after `afterSeq`; resolves once anything missed is queued. */
  async attach(session: McpSession, afterSeq: number): Promise<void> {
    this.detach(session)
    const roomId = session.state.roomId
    if (!roomId) return
    session.lastSeq = afterSeq
    let set = this.rooms.get(roomId)
    if (!set) this.rooms.set(roomId, (set = new Set()))
    set.add(session)
    // A session restored after its agent was removed would otherwise be fed from a point past the removal.
    if (session.state.agentId && !(await stillMember(this.store, session.state.agentId))) return this.cut(session)
    await this.pull(roomId)
  }

  /** Its agent was kicked or left: no notification from now on, none left waiting for the next tool result. */
  private cut(session: McpSession): void {
    this.detach(session)
    session.takeBuffered()
  }

  detach(session: McpSession): void {
    for (const [roomId, set] of this.rooms) {
      if (set.delete(session) && set.size === 0) this.rooms.delete(roomId)
    }
  }

  /** Reads the room after the furthest-behind session and delivers; concurrent calls coalesce. */
  pull(roomId: string): Promise<void> {
    const running = this.pulling.get(roomId)
    if (running) {
      this.dirty.add(roomId)
      return running
    }
    const run = (async () => {
      try {
        do {
          this.dirty.delete(roomId)
          await this.pullOnce(roomId)
        } while (this.dirty.has(roomId))
      } catch (err) {
        this.onError(err)
      } finally {
        this.pulling.delete(roomId)
      }
    })()
    this.pulling.set(roomId, run)
    return run
  }

  private async pullOnce(roomId: string): Promise<void> {
    for (;;) {
      const sessions = [...(this.rooms.get(roomId) ?? [])]
      if (sessions.length === 0) return
      const after = Math.min(...sessions.map((s) => s.lastSeq))
      const rows = await this.read(roomId, after)
      const removal = await removalIn(this.store, rows, sessions.map((s) => s.state.agentId))
      const removed = (s: McpSession) => removal !== null && s.state.roomId === roomId && removal.gone.has(s.state.agentId ?? '')
      for (const m of rows) {
        const data = { from: m.from, ...(m.to !== null ? { to: m.to } : {}), body: m.body, timestamp: m.timestamp, seq: m.seq }
        for (const s of sessions) {
          if (m.seq <= s.lastSeq || (removed(s) && m.seq >= removal!.seq)) continue
          s.lastSeq = m.seq
          const agentId = s.state.agentId
          const visible = m.toId === null || m.toId === agentId || m.fromId === agentId
          if (!visible || m.fromId === agentId) continue
          s.deliver({ method: 'notifications/message', params: { level: 'info', logger: `room/${roomId}`, data } })
        }
      }
      for (const s of sessions) if (removed(s)) this.cut(s)
      if (rows.length < PAGE) return
    }
  }

  private async read(roomId: string, afterSeq: number): Promise<RoomRow[]> {
    return (await this.store.readRoom(roomId, afterSeq, PAGE)).map((m) => ({ ...m, timestamp: m.timestamp.toISOString() }))
  }

  close(): void {
    this.unsubscribe()
    this.rooms.clear()
  }
}
