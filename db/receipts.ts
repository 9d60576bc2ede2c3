/** Delivery receipts (migration 008): delivery cursors per agent and surface, acknowledgements, a message's recipients. */
import type { ReceiptStore, Surface } from '../lib/store.ts'
import { newId } from '../lib/ids.ts'
import type { Database, Sql } from './database.ts'
import { insertMessage } from './messages.ts'
import { MSG_COLS, toMessage } from './rows.ts'

/** Moving a delivery cursor forward only: an older mark never overwrites a newer one. */
export const UPSERT_MARK = `ON CONFLICT (agent_id, surface) DO UPDATE SET seq = excluded.seq, at = excluded.at
  WHERE delivery_marks.seq < excluded.seq`

/** Marks agent `agentId`'s cursor on `surface` at `seq` (in the statement or transaction that delivered). */
export async function markDelivery(q: Sql, agentId: string, surface: Surface, seq: number): Promise<void> {
  await q.query(`INSERT INTO delivery_marks (agent_id, surface, seq, at) VALUES ($1, $2, $3, now()) ${UPSERT_MARK}`, [agentId, surface, seq])
}

const isForeignKeyViolation = (e: unknown) => (e as { code?: string })?.code === '23503'

export function receiptQueries(db: Database): ReceiptStore {
  return {
    async markDelivered(marks) {
      if (marks.length === 0) return
      const write = () =>
        db.query(
          // only agents still here: one that left meanwhile has nothing to be marked
          `INSERT INTO delivery_marks (agent_id, surface, seq, at)
           SELECT m.agent_id, m.surface, m.seq, m.at
           FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::timestamptz[]) AS m (agent_id, surface, seq, at)
           JOIN agents a ON a.id = m.agent_id
           ${UPSERT_MARK}`,
          [marks.map((m) => m.agentId), marks.map((m) => m.surface), marks.map((m) => m.seq), marks.map((m) => m.at.toISOString())],
        )
      try {
        await write()
      } catch (e) {
        // an agent left between the join and the insert: the second try no longer sees it
        if (!isForeignKeyViolation(e)) throw e
        await write()
      }
    },

    async messagesByIds(roomId, ids) {
      if (ids.length === 0) return []
      const rows = await db.query(`SELECT ${MSG_COLS} FROM messages WHERE room_id = $1 AND id = ANY($2::uuid[])`, [roomId, ids])
      return rows.map(toMessage)
    },

    async acknowledge(agent, messages, body, now) {
      if (messages.length === 0) return { acked: [], posted: [] }
      return db.begin(async (tx) => {
        const rows = await tx.query<{ seq: string }>(
          `INSERT INTO message_acks (room_id, seq, agent_id, agent_name, at)
           SELECT $1, s, $2, $3, $4 FROM unnest($5::bigint[]) AS s
           ON CONFLICT DO NOTHING RETURNING seq`,
          [agent.roomId, agent.id, agent.name, now, messages.map((m) => m.seq)],
        )
        const fresh = new Set(rows.map((r) => Number(r.seq)))
        const bySender = new Map<string, { name: string; ids: string[] }>()
        for (const m of messages) {
          if (!fresh.has(m.seq) || m.fromId === null) continue
          const entry = bySender.get(m.fromId) ?? { name: m.from, ids: [] }
          entry.ids.push(m.id)
          bySender.set(m.fromId, entry)
        }
        // senders who left get no notice: their row is gone, and so is anyone to tell
        const present = bySender.size === 0 ? new Set<string>() : new Set(
          (await tx.query<{ id: string }>('SELECT id FROM agents WHERE id = ANY($1::uuid[])', [[...bySender.keys()]])).map((r) => r.id),
        )
        const posted = []
        for (const [senderId, { name, ids }] of bySender) {
          if (!present.has(senderId)) continue
          posted.push(
            await insertMessage(tx, {
              id: newId(),
              roomId: agent.roomId,
              from: 'room-bot',
              fromId: null,
              to: name,
              toId: senderId,
              body: body(ids),
              timestamp: now,
            }),
          )
        }
        return { acked: messages.filter((m) => fresh.has(m.seq)).map((m) => m.id), posted }
      })
    },

    async ackedSeqs(agentId, roomId, seqs) {
      if (seqs.length === 0) return new Set()
      const rows = await db.query<{ seq: string }>(
        'SELECT seq FROM message_acks WHERE room_id = $1 AND agent_id = $2 AND seq = ANY($3::bigint[])',
        [roomId, agentId, seqs],
      )
      return new Set(rows.map((r) => Number(r.seq)))
    },

    async receipts(m) {
      const rows = await db.query(
        `SELECT a.name, a.cursor, a.read_at, k.at AS acked_at, d.surface, d.at AS delivered_at
         FROM agents a
         LEFT JOIN message_acks k ON k.room_id = $1 AND k.seq = $2 AND k.agent_id = a.id
         LEFT JOIN LATERAL (
           SELECT surface, at FROM delivery_marks WHERE agent_id = a.id AND seq >= $2 ORDER BY at LIMIT 1
         ) d ON true
         WHERE a.room_id = $1 AND a.id IS DISTINCT FROM $3::uuid AND a.joined_seq < $2 AND ($4::uuid IS NULL OR a.id = $4::uuid)
         UNION ALL
         SELECT k.agent_name, NULL, NULL, k.at, NULL, NULL
         FROM message_acks k
         WHERE k.room_id = $1 AND k.seq = $2 AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = k.agent_id)
         ORDER BY 1`,
        [m.roomId, m.seq, m.fromId, m.toId],
      )
      return rows.map((r) => ({
        agent: r.name as string,
        cursor: r.cursor === null ? null : Number(r.cursor),
        readAt: (r.read_at as Date | null) ?? null,
        ackedAt: (r.acked_at as Date | null) ?? null,
        deliveredVia: (r.surface as Surface | null) ?? null,
        deliveredAt: (r.delivered_at as Date | null) ?? null,
      }))
    },
  }
}
