// Everything the room page shows, read once per request.
import type { FastifyInstance } from 'fastify'
import type { Participant, RoomService } from '../../lib/rooms/service.ts'
import type { MessageRecord, RoomRecord } from '../../lib/store.ts'
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
  messages: MessageRecord[]
  /** The stream resumes after this seq: nothing up to it is missing from `messages`. */
  after: number
  repo: RepoOverview | null
  repoError: boolean
  file: { path: string; view: FileView | null } | null
}

export async function loadRoom(
  app: FastifyInstance,
  rooms: RoomService,
  reposDir: string,
  room: RoomRecord,
  opts: { password: string | null; byId: boolean; file?: string; maxFileBytes: number },
): Promise<RoomData> {
  const { participants, messages, after } = await rooms.roomView(room)
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
  return { room, password: opts.password, byId: opts.byId, participants, messages, after, repo, repoError, file }
}
