// What the website shows of rooms: the landing page's figures and a room page's people and recent messages.
import type { AgentKind, MessageRecord, Role, RoomRecord, Store } from '../store.ts'

/** Messages rendered with the page; the stream brings the rest. */
const PAGE_MESSAGES = 100
/** An agent counts as online when it joined or posted this recently. */
const ONLINE_MS = 5 * 60 * 1000

export interface Participant {
  name: string
  role: Role
  kind: AgentKind
  joinedAt: Date
  lastSeen: Date
  online: boolean
}

export interface RoomView {
  participants: Participant[]
  /** Public messages only: the page is what anyone with access to the room sees. */
  messages: MessageRecord[]
  /** The stream resumes after this seq: nothing up to it is missing from `messages`. */
  after: number
}

export async function landing(store: Store) {
  const [counts, list] = await Promise.all([store.counts(), store.listRooms({ limit: 12, offset: 0 })])
  return { counts, rooms: list.rooms }
}

export async function roomView(store: Store, room: RoomRecord, now: number): Promise<RoomView> {
  // room.lastSeq was read before the messages: everything ≤ it is committed and in the window below.
  const window = await store.readAfter(null, room.id, Math.max(0, room.lastSeq - PAGE_MESSAGES * 3), PAGE_MESSAGES * 4)
  const messages = window.slice(-PAGE_MESSAGES)
  const after = Math.max(room.lastSeq, messages.at(-1)?.seq ?? 0)
  const agents = await store.agents(room.id)
  const lastPost = new Map<string, Date>()
  for (const m of window) lastPost.set(m.from, m.timestamp)
  const participants = agents.map((a) => {
    const posted = lastPost.get(a.name)
    const lastSeen = posted && posted > a.joinedAt ? posted : a.joinedAt
    return { name: a.name, role: a.role, kind: a.kind, joinedAt: a.joinedAt, lastSeen, online: now - lastSeen.getTime() < ONLINE_MS }
  })
  participants.sort((a, b) => Number(b.role === 'admin') - Number(a.role === 'admin') || a.name.localeCompare(b.name))
  return { participants, messages, after }
}
