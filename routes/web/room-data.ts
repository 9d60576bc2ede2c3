// Everything the room page shows, read once per request.
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { MessageRecord, RoomRecord, Role } from '../../lib/store.ts'
import { overview, readFile, type FileView, type RepoOverview } from './repo.ts'

/** Messages rendered with the page; the stream brings the rest. */
export const PAGE_MESSAGES = 100
/** An agent counts as online when it joined or posted this recently. */
export const ONLINE_MS = 5 * 60 * 1000

export interface Participant {
  name: string
  role: Role
  joinedAt: Date
  lastSeen: Date
  online: boolean
}

export interface RoomData {
  room: RoomRecord
  /** The password the visitor gave (for the stream URL), if any. */
  password: string | null
  /** The visitor addressed the room by its UUID (a bearer secret for protected rooms). */
  byId: boolean
  participants: Participant[]
  messages: MessageRecord[]
  /** The stream resumes after this seq: nothing up to it is missing from `messages`. */
  after: number
  repo: RepoOverview | null
  repoError: boolean
  file: { path: string; view: FileView | null } | null
}

export async function loadRoom(
  app: FastifyInstance,
  reposDir: string,
  room: RoomRecord,
  opts: { password: string | null; byId: boolean; file?: string; maxFileBytes: number },
): Promise<RoomData> {
  // room.lastSeq was read before the messages: everything ≤ it is committed and in the window below.
  const window = await app.store.readAfter(null, room.id, Math.max(0, room.lastSeq - PAGE_MESSAGES * 3), PAGE_MESSAGES * 4)
  const messages = window.slice(-PAGE_MESSAGES)
  const after = Math.max(room.lastSeq, messages.at(-1)?.seq ?? 0)
  const agents = await app.store.agents(room.id)
  const lastPost = new Map<string, Date>()
  for (const m of window) lastPost.set(m.from, m.timestamp)
  const now = Date.now()
  const participants = agents.map((a) => {
    const posted = lastPost.get(a.name)
    const lastSeen = posted && posted > a.joinedAt ? posted : a.joinedAt
    return { name: a.name, role: a.role, joinedAt: a.joinedAt, lastSeen, online: now - lastSeen.getTime() < ONLINE_MS }
  })
  participants.sort((a, b) => Number(b.role === 'admin') - Number(a.role === 'admin') || a.name.localeCompare(b.name))

  const dir = path.join(reposDir, `${room.id}.git`)
  let repo: RepoOverview | null = null
  let repoError = false
  let file: RoomData['file'] = null
  try {
    repo = overview(dir)
    if (opts.file) file = { path: opts.file, view: readFile(dir, opts.file, opts.maxFileBytes) }
  } catch (err) {
    app.log.warn({ err, roomId: room.id }, 'room repository unreadable')
    repoError = true
  }
  return { room, password: opts.password, byId: opts.byId, participants, messages, after, repo, repoError, file }
}
