// Room references as clients write them: a UUID, a name, or `name:password`.
import { isUuid } from '../ids.ts'
import { normalizeRoomName } from './names.ts'

export type RoomRef =
  | { kind: 'id'; id: string }
  /** `name` is normalized (may be '' when nothing usable was given); `password` is '' when none was given. */
  | { kind: 'name'; name: string; rawName: string; password: string }

/** `name:password` split at its first colon; a password inside the reference wins over `password`. */
export function splitRoomRef(ref: string, password?: string): { rawName: string; password: string } {
  const colon = ref.indexOf(':')
  if (colon < 0) return { rawName: ref, password: password || '' }
  return { rawName: ref.slice(0, colon), password: ref.slice(colon + 1) || password || '' }
}

export function parseRoomRef(ref: string, password?: string): RoomRef {
  if (isUuid(ref)) return { kind: 'id', id: ref.toLowerCase() }
  const split = splitRoomRef(ref, password)
  return { kind: 'name', name: normalizeRoomName(split.rawName), ...split }
}

/** Does a reference name this room (its password aside)? */
export function refersTo(ref: string, room: { id: string; name: string }): boolean {
  const r = parseRoomRef(ref)
  return r.kind === 'id' ? r.id === room.id : r.name === room.name
}
