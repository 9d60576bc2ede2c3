// Delivery receipts: delivery cursors noted per surface (written in batches), acknowledgements, a message's status.
import { errors } from '../errors.ts'
import { isUuid } from '../ids.ts'
import type { DeliveryMark, MessageRecord, ReceiptRow, Store, Surface } from '../store.ts'
import type { RoomContext } from './context.ts'
import { canSee } from './visibility.ts'

/** How long noted deliveries wait before they are written, in one statement for the whole instance. */
const FLUSH_MS = 200
export const MAX_ACK_IDS = 100

export type ReceiptState = 'sent' | 'delivered' | 'read' | 'acknowledged'

/**
 * Delivery cursors as surfaces move them: kept in memory per agent and surface (only the furthest seq) and
 * written every FLUSH_MS, so streaming a message to many agents costs one statement, not one per frame.
 */
export class DeliveryMarks {
  readonly #pending = new Map<string, DeliveryMark>()
  #timer: NodeJS.Timeout | null = null
  #writing: Promise<void> = Promise.resolve()

  constructor(
    private readonly store: Pick<Store, 'markDelivered'>,
    private readonly onError: (err: unknown) => void,
  ) {}

  note(agentId: string, surface: Surface, seq: number): void {
    const key = `${agentId} ${surface}`
    const known = this.#pending.get(key)
    if (known && known.seq >= seq) return
    this.#pending.set(key, { agentId, surface, seq, at: new Date() })
    this.#timer ??= setTimeout(() => void this.flush(), FLUSH_MS).unref()
  }

  /** Writes what is noted; resolves once every mark noted before the call is stored. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    const marks = [...this.#pending.values()]
    this.#pending.clear()
    const write = this.#writing.then(() => (marks.length > 0 ? this.store.markDelivered(marks) : undefined))
    this.#writing = write.catch(this.onError)
    return this.#writing
  }
}

/** Whether `agent` is a recipient of `m`: a DM to it, or a broadcast from someone else sent after it joined. */
const addressedTo = (m: MessageRecord, agent: { id: string; joinedSeq: number }): boolean =>
  m.toId === agent.id || (m.toId === null && m.fromId !== agent.id && m.seq > agent.joinedSeq)

/** The message ids of `messageIds` parsed and deduplicated; a bad entry is named. */
function parseIds(messageIds: unknown): string[] {
  if (!Array.isArray(messageIds) || messageIds.length === 0) throw errors.invalid('messageIds', 'must be a non-empty list of message ids')
  if (messageIds.length > MAX_ACK_IDS) throw errors.invalid('messageIds', `must list at most ${MAX_ACK_IDS} ids (got ${messageIds.length})`)
  for (const id of messageIds) {
    if (typeof id !== 'string' || !isUuid(id)) throw errors.invalid('messageIds', `must be message ids (UUIDs): "${String(id).slice(0, 40)}" is not`)
  }
  return [...new Set(messageIds.map((id: string) => id.toLowerCase()))]
}

/** Acknowledges messages addressed to the caller that asked for it; all or nothing. Each sender hears of it in a room-bot DM. */
export async function acknowledge(ctx: RoomContext, p: { agentToken: string; messageIds: string[]; roomId?: string }) {
  const ids = parseIds(p.messageIds)
  const { agent, room } = await ctx.authenticate(p.agentToken, p.roomId)
  const found = new Map((await ctx.store.messagesByIds(room.id, ids)).map((m) => [m.id, m]))
  const messages: MessageRecord[] = []
  for (const id of ids) {
    const m = found.get(id)
    if (!m || !canSee(m, agent.id)) throw errors.invalid('messageIds:', `no message ${id} that you can see in this room`)
    if (!addressedTo(m, agent)) throw errors.invalid('messageIds:', `message ${id} is not addressed to you`)
    if (!m.ackRequired) throw errors.invalid('messageIds:', `message ${id} was not sent with ackRequired`)
    messages.push(m)
  }
  const { acked, posted } = await ctx.store.acknowledge(
    { id: agent.id, roomId: room.id, name: agent.name },
    messages,
    (mine) => `${agent.name} acknowledged ${mine.length === 1 ? 'your message' : `${mine.length} of your messages`}: ${mine.join(', ')}`,
    ctx.clock(),
  )
  for (const x of posted) await ctx.publish(room.id, x)
  const already = ids.length - acked.length
  const text = `Acknowledged ${acked.length} message(s)${already > 0 ? `; ${already} already acknowledged` : ''}`
  return { text, roomId: room.id, data: { acknowledged: acked, alreadyAcknowledged: ids.filter((id) => !acked.includes(id)) } }
}

export interface Receipt {
  agent: string
  state: ReceiptState
  /** When it reached this state: for delivered and read, when that cursor last moved forward past it. */
  at: string
  /** The surface that first delivered it, when known. */
  via?: Surface
}

function receipt(m: MessageRecord, r: ReceiptRow): Receipt {
  const via = r.deliveredVia ? { via: r.deliveredVia } : {}
  if (r.ackedAt) return { agent: r.agent, state: 'acknowledged', at: r.ackedAt.toISOString(), ...via }
  if (r.cursor !== null && r.cursor >= m.seq) {
    return { agent: r.agent, state: 'read', at: (r.readAt ?? r.deliveredAt ?? m.timestamp).toISOString(), ...via }
  }
  if (r.deliveredAt) return { agent: r.agent, state: 'delivered', at: r.deliveredAt.toISOString(), ...via }
  return { agent: r.agent, state: 'sent', at: m.timestamp.toISOString() }
}

/** Where one of the caller's messages stands with each recipient. */
export async function status(ctx: RoomContext, marks: DeliveryMarks, p: { agentToken: string; messageId: string; roomId?: string }) {
  const { agent, room } = await ctx.authenticate(p.agentToken, p.roomId)
  const m = isUuid(p.messageId) ? await ctx.store.message(room.id, p.messageId.toLowerCase()) : null
  if (!m || m.fromId !== agent.id) throw errors.invalid('messageId:', `no message ${p.messageId} of yours in this room`)
  await marks.flush()
  const recipients = (await ctx.store.receipts(m)).map((r) => receipt(m, r))
  const counts = { sent: 0, delivered: 0, read: 0, acknowledged: 0 }
  for (const r of recipients) counts[r.state]++
  const text = `${recipients.length} recipient(s): ${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')}`
  return {
    text,
    roomId: room.id,
    data: { messageId: m.id, seq: m.seq, ackRequired: m.ackRequired, ...(m.to !== null ? { to: m.to } : {}), counts, recipients },
  }
}
