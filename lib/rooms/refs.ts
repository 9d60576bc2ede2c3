// Room references as clients write them: a UUID, a name, or `name:password`.
import { isUuid } from '../ids.ts'
import { normalizeRoomName } from './names.ts'

export type RoomRef =
  | { kind: 'id'; id: string }
  /** `name` is normalized (may be '' when nothing usable was given); `password` is '' when none was given. */
  | { kind: 'name'; name: string; rawName: string; password: string }

/** Parses a reference; a password inside it (`name:password`) wins over `password`. */
export function parseRoomRef(ref: string, password?: string): RoomRef {
  if (isUuid(ref)) return { kind: 'id', id: ref.toLowerCase() }
  const colon = ref.indexOf(':')
  const rawName = colon >= 0 ? ref.slice(0, colon) : ref
  const inline = colon >= 0 ? ref.slice(colon + 1) : ''
  return { kind: 'name', name: normalizeRoomName(rawName), rawName, password: inline || password || '' }
}

/** Does a reference name this room (its password aside)? */
export function refersTo(ref: string, room: { id: string; name: string }): boolean {
  const r = parseRoomRef(ref)
  return r.kind === 'id' ? r.id === room.id : r.name === room.name
}
