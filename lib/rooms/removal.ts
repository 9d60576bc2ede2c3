// Kicks and leaves as live feeds learn of them from the rows they read, and whether an agent still exists.
import type { Store } from '../store.ts'

/** A removal as a live feed sees it: from which seq on the `gone` agents must get nothing more. */
export interface Removal {
  seq: number
  gone: Set<string>
}

/**
 * Live feeds (SSE, MCP notifications, A2A push) learn of kicks and leaves from the rows they read anyway: an
 * agent is only ever removed together with a room-bot notice (the only rows without a sender) in one commit.
 * Rows with no notice: nobody can have been removed since the reader last checked. Otherwise one look at the
 * store, made after the rows were read, finds every agent whose removal those rows contain; the feed stops
 * them at the first notice (it cannot tell which notice is theirs, so a little early rather than late).
 */
export async function removalIn(
  store: Pick<Store, 'existingAgents'>,
  rows: readonly { seq: number; fromId: string | null }[],
  agentIds: Iterable<string | null>,
): Promise<Removal | null> {
  const notice = rows.find((m) => m.fromId === null)
  if (!notice) return null
  const ids = [...new Set([...agentIds].filter((id): id is string => id !== null))]
  if (ids.length === 0) return null
  const alive = await store.existingAgents(ids)
  const gone = new Set(ids.filter((id) => !alive.has(id)))
  return gone.size > 0 ? { seq: notice.seq, gone } : null
}

/** Whether this agent still exists (a feed opened or restored for it checks once before it goes live). */
export async function stillMember(store: Pick<Store, 'existingAgents'>, agentId: string): Promise<boolean> {
  return (await store.existingAgents([agentId])).has(agentId)
}
