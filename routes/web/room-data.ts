// Everything the room page shows, read once per request.
import type { FastifyInstance } from 'fastify'
import type { Lease } from '../../lib/rooms/leases.ts'
import type { Participant, RoomService } from '../../lib/rooms/service.ts'
import type { WireMessage } from '../../lib/rooms/wire.ts'
import type { MessageRecord, Role, RoomRecord } from '../../lib/store.ts'
import { overview, readFile, type FileView, type RepoOverview } from '../../lib/git/browse/index.ts'
import { repoPath } from '../../lib/git/repo.ts'

export type { Participant }

export interface RoomData {
  room: RoomRecord
  /** The password the visitor gave (for the stream URL), if any. */
  password: string | null
  /** The visitor addressed the room by its UUID (a bearer secret for protected rooms). */
  byId: boolean
  participants: Participant[]
  /** Active path leases: who holds which paths, until when. */
  leases: Lease[]
  messages: MessageRecord[]
  /** The same messages as threads: each reply under its root, or on its own when its root is not on the page. */
  entries: MessageEntry[]
  /** The stream resumes after this seq: nothing up to it is missing from `messages`. */
  after: number
  repo: RepoOverview | null
  repoError: boolean
  file: { path: string; view: FileView | null } | null
  /** What the visitor's browser may do here (browsers only): join, or post as the person it joined as. */
  you?: You
}

/** Someone who joined from the page: the agent behind its cookie (the token never goes into a page). */
export interface Person {
  name: string
  role: Role
  token: string
}

export interface You {
  /** Who this browser joined as, if it did. */
  person: Pick<Person, 'name' | 'role'> | null
  /** CSRF token for the page's forms. */
  csrf: string
  /** The person's recent direct messages, sent and received, oldest first. */
  dms: WireMessage[]
  /** The message the compose form answers (`?reply=<id>`, one on the page); `dmWith` replies privately. */
  replyTo: { id: string; from: string; body: string; dmWith: string | null } | null
}

/** A top-level item of the page: a message with the replies shown under it. */
export interface MessageEntry {
  message: MessageRecord
  replies: MessageRecord[]
  /** A reply whose root is older than the page or not public. */
  orphan: boolean
}

/** Groups messages (oldest first) into threads, in the order of their roots; replies keep their own order. */
export function threaded(messages: MessageRecord[]): MessageEntry[] {
  const roots = new Map<string, MessageEntry>()
  const out: MessageEntry[] = []
  for (const m of messages) {
    const root = m.threadId === null ? undefined : roots.get(m.threadId)
    if (root) {
      root.replies.push(m)
      continue
    }
    const entry = { message: m, replies: [], orphan: m.threadId !== null }
    if (m.threadId === null) roots.set(m.id, entry)
    out.push(entry)
  }
  return out
}

export async function loadRoom(
  app: FastifyInstance,
  rooms: RoomService,
  reposDir: string,
  room: RoomRecord,
  opts: { password: string | null; byId: boolean; file?: string; maxFileBytes: number },
): Promise<RoomData> {
  const { participants, messages, after } = await rooms.roomView(room)
  const leases = await rooms.roomLeases(room.id)
  const dir = repoPath(reposDir, room.id)
  let repo: RepoOverview | null = null
  let repoError = false
  let file: RoomData['file'] = null
  try {
    repo = await overview(dir)
    if (opts.file) file = { path: opts.file, view: await readFile(dir, opts.file, opts.maxFileBytes) }
  } catch (err) {
    app.log.warn({ err, roomId: room.id }, 'room repository unreadable')
    repoError = true
  }
  return { room, password: opts.password, byId: opts.byId, participants, leases, messages, entries: threaded(messages), after, repo, repoError, file }
}
