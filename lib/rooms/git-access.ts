// Who may clone and push a room's repository: the room password, or an agent's name and agentToken.
import { hashToken, isUuid } from '../ids.ts'
import { verifyPassword } from './password.ts'
import type { RoomContext } from './context.ts'
import { normalizeRoomName } from './names.ts'

export type GitAccess =
  | { ok: true; roomId: string; agent: { name: string; admin: boolean } | null }
  | { ok: false; reason: 'not-found' | 'auth-required' | 'forbidden' | 'bad-token' }

/**
 * Git access to a room by name or UUID. Credentials are the room password (any user name) or an agent's
 * name and agentToken (then `agent` says who pushes); protected rooms need one of them unless named by UUID.
 * A token of the room under another name, or an agent's name with a wrong token, is refused like a wrong password.
 */
export async function gitAccess(ctx: RoomContext, ref: string, creds?: { user: string; password: string }): Promise<GitAccess> {
  const { store } = ctx
  const byId = isUuid(ref)
  const rooms = byId ? [await store.roomById(ref.toLowerCase())].filter((r) => r !== null) : await store.roomsByName(normalizeRoomName(ref))
  if (rooms.length === 0) return { ok: false, reason: 'not-found' }
  if (creds && isUuid(creds.password)) {
    const found = await store.agentByToken(hashToken(creds.password).toString('hex'))
    if (found && rooms.some((r) => r.id === found.room.id)) {
      if (found.agent.name !== creds.user) return { ok: false, reason: 'bad-token' }
      ctx.tokenSeen(found.agent.tokenHash)
      return { ok: true, roomId: found.room.id, agent: { name: found.agent.name, admin: found.agent.role === 'admin' } }
    }
  }
  if (creds) {
    for (const r of rooms) if (r.passwordHash && (await verifyPassword(creds.password, r.passwordHash))) return { ok: true, roomId: r.id, agent: null }
  }
  const open = byId ? rooms[0] : rooms.find((r) => r.passwordHash === null)
  if (!open) return { ok: false, reason: creds ? 'forbidden' : 'auth-required' }
  if (creds && (await store.agentByName(open.id, creds.user))) return { ok: false, reason: 'bad-token' }
  return { ok: true, roomId: open.id, agent: null }
}
