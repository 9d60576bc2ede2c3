/** Rooms as MCP resources (2026-07-28): `convene://rooms/<roomId>` is the room as its agent sees it. */
import { overview } from '../../lib/git/browse/index.ts'
import { repoPath } from '../../lib/git/repo.ts'
import type { RoomService } from '../../lib/rooms/service.ts'
import type { WireMessage } from '../../lib/rooms/wire.ts'

export const ROOM_URI_TEMPLATE = 'convene://rooms/{roomId}'
const PREFIX = 'convene://rooms/'
/** Messages a read shows: the recent part of the transcript (history pages through the rest). */
const RECENT = 50
const MIME = 'text/markdown'

export const roomUri = (roomId: string) => `${PREFIX}${roomId}`

/** The room id a resource URI names, or null when it is not a room resource. */
export function roomIdOf(uri: string): string | null {
  if (!uri.startsWith(PREFIX)) return null
  const id = uri.slice(PREFIX.length)
  return /^[0-9a-f-]{36}$/i.test(id) ? id.toLowerCase() : null
}

/** The agent's own room, the one resource it may read. */
export async function listRoomResources(service: RoomService, token: string | null) {
  if (token === null) return []
  const { room } = await service.authenticate(token)
  return [{ uri: roomUri(room.id), name: room.name, title: `Room ${room.name}`, mimeType: MIME, description: 'Recent messages you can see and the repository files' }]
}

const line = (m: WireMessage) => `- [#${m.seq}] ${m.from}${m.kind ? ` (${m.kind})` : ''}${m.to ? ` → ${m.to} (direct)` : ''}: ${m.body}`

/** The room's recent transcript visible to the agent, and the files on the repository's default branch. */
export async function readRoomResource(service: RoomService, reposDir: string, token: string, roomId: string) {
  const { room } = await service.authenticate(token, roomId)
  const history = await service.history({ agentToken: token, roomId: room.id, limit: RECENT })
  const messages = (history.data as { messages: WireMessage[] }).messages
  const repo = await overview(repoPath(reposDir, room.id)).catch(() => null)
  const files = repo?.tree.filter((t) => t.kind === 'file').map((t) => `- ${t.path}`) ?? []
  const text = [
    `# Room ${room.name}`,
    '',
    `## Recent messages (${messages.length})`,
    ...(messages.length > 0 ? messages.map(line) : ['(none yet)']),
    '',
    `## Repository files${repo?.defaultBranch ? ` (${repo.defaultBranch})` : ''}`,
    ...(files.length > 0 ? files : ['(empty repository)']),
    ...(repo?.truncated ? ['(list truncated)'] : []),
  ].join('\n')
  return { contents: [{ uri: roomUri(room.id), mimeType: MIME, text }] }
}
