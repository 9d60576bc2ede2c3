// Full-text search over the messages an agent may see: its room's broadcasts and its own DMs.
import { errors } from '../errors.ts'
import type { MessageRecord, RoomRecord, SearchHit } from '../store.ts'
import type { RoomContext } from './context.ts'
import { canSee } from './visibility.ts'
import { toWire } from './wire.ts'

export const MAX_QUERY_CHARS = 500

export interface SearchParams {
  agentToken: string
  query: string
  roomId?: string
  from?: string
  since?: string
  until?: string
  threadId?: string
  limit?: number
  offset?: number
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2})))?$/i
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** An ISO 8601 date (midnight UTC) or date-time with its zone (Z or ±hh:mm); anything else names the parameter. */
export function parseDateTime(param: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined
  const bad = () => errors.invalid(param, `must be an ISO 8601 date-time such as 2026-01-31T09:30:00Z (got "${value.slice(0, 40)}")`)
  const m = DATE_TIME.exec(value)
  if (!m) throw bad()
  const [y, mo, d, h = 0, mi = 0, s = 0, , oh = 0, om = 0] = m.slice(1).map((x) => (x === undefined ? undefined : Number(x)))
  const day = new Date(Date.UTC(y!, mo! - 1, d!))
  if (day.getUTCMonth() !== mo! - 1 || day.getUTCDate() !== d || h! > 23 || mi! > 59 || s! > 59 || oh! > 23 || om! > 59) throw bad()
  const t = new Date(value.length === 10 ? `${value}T00:00:00Z` : value)
  if (Number.isNaN(t.getTime())) throw bad()
  return t
}

/** The query's own rules, the same on every surface; `param` is the name the caller gave it. */
function checkQuery(query: string | undefined, param: string): string {
  if (query === undefined) throw errors.missing(param)
  const chars = [...query].length
  if (chars > MAX_QUERY_CHARS) throw errors.invalid(param, `must be at most ${MAX_QUERY_CHARS} characters (got ${chars})`)
  if (query.trim() === '') throw errors.missing(param)
  return query
}

const hitsToWire = (hits: SearchHit[]) => hits.map((h) => ({ message: toWire(h.message), seq: h.message.seq, rank: h.rank, snippet: h.snippet }))

/** A message of the room the agent may see, by id; null for any other. */
async function visible(ctx: RoomContext, roomId: string, agentId: string, id: string): Promise<MessageRecord | null> {
  const m = await ctx.store.message(roomId, id)
  return m && canSee(m, agentId) ? m : null
}

export async function search(ctx: RoomContext, p: SearchParams) {
  const query = checkQuery(p.query, 'query')
  const since = parseDateTime('since', p.since)
  const until = parseDateTime('until', p.until)
  if (since && until && until < since) throw errors.invalid('until', 'must not be before since')
  if (p.threadId !== undefined && !UUID.test(p.threadId)) throw errors.invalid('threadId', 'must be a message id (a UUID)')
  const { agent, room } = await ctx.authenticate(p.agentToken, p.roomId)
  let threadId: string | undefined
  if (p.threadId !== undefined) {
    // As message.thread: a reply's id stands for its thread.
    const named = await visible(ctx, room.id, agent.id, p.threadId)
    const root = named && named.threadId !== null ? await visible(ctx, room.id, agent.id, named.threadId) : named
    if (!root) throw errors.invalid('threadId:', `no thread ${p.threadId} that you can see in this room`)
    threadId = root.id
  }
  const { hits, total } = await ctx.store.searchMessages({
    agent,
    text: query,
    from: p.from,
    since,
    until,
    threadId,
    limit: p.limit ?? 20,
    offset: p.offset ?? 0,
  })
  const results = hitsToWire(hits)
  const text = total === 0 ? 'No messages match' : `${results.length} of ${total} matching message(s), best first`
  return { text, roomId: room.id, data: { results, total } }
}

/** Search as a spectator of the room (the web page): its broadcasts only, never a DM. `param` names the query in errors. */
export async function searchPublic(ctx: RoomContext, room: RoomRecord, p: { query?: string; limit?: number; offset?: number }, param = 'query') {
  const query = checkQuery(p.query, param)
  const { hits, total } = await ctx.store.searchMessages({
    agent: { id: null, roomId: room.id },
    text: query,
    limit: p.limit ?? 20,
    offset: p.offset ?? 0,
  })
  return { results: hitsToWire(hits), total }
}
