/** Messages: appending one (seq, cursors and counters in the same statement), unread reads, feeds, history. */
import type { NewMessage, Notice, Posted, Store } from '../lib/store.ts'
import type { Row, Sql } from './database.ts'
import { MSG_COLS, toMessage, VISIBLE } from './rows.ts'

/**
 * Appends a message: bumps the room's seq under its row lock, so seqs are gap-free and unique. A sender who had
 * read everything before it (cursor = seq - 1) has its cursor moved past it here, saving the missed-messages read.
 */
export async function insertMessage(q: Sql, m: NewMessage): Promise<Posted> {
  const [row] = await q.query<{ seq: string; caught_up: boolean | null }>(
    `WITH r AS (
       UPDATE rooms SET last_seq = last_seq + 1,
         -- last_activity is indexed: bumping it at most once a minute keeps this update HOT
         last_activity = CASE WHEN last_activity < $8::timestamptz - interval '1 minute' THEN $8 ELSE last_activity END,
         public_count = public_count + (CASE WHEN $6::uuid IS NULL THEN 1 ELSE 0 END)
       WHERE id = $1 RETURNING last_seq
     ), ag AS (
       UPDATE agents a SET
         dm_count = a.dm_count + (CASE WHEN $6::uuid IS NULL THEN 0 ELSE 1 END),
         cursor = CASE WHEN a.id = $4::uuid AND a.cursor = r.last_seq - 1 THEN r.last_seq ELSE a.cursor END
       FROM r
       WHERE a.id IN ($4::uuid, $6::uuid) AND ($6::uuid IS NOT NULL OR a.id = $4::uuid)
       RETURNING a.id, a.cursor = r.last_seq AS caught_up
     ), ins AS (
       INSERT INTO messages (room_id, seq, id, sender, sender_id, recipient, recipient_id, body, created_at, reply_to, thread_id, ack_required, sender_kind, mentions)
       SELECT $1, r.last_seq, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12, $13,
         -- candidates that are names of the room's agents now, in the order they were mentioned
         CASE WHEN $11::text[] IS NULL THEN NULL ELSE NULLIF(ARRAY(
           SELECT g.name FROM agents g WHERE g.room_id = $1 AND g.name = ANY($11::text[]) ORDER BY array_position($11::text[], g.name)
         ), '{}') END
       FROM r
       RETURNING seq
     )
     SELECT ins.seq, (SELECT caught_up FROM ag WHERE ag.id = $4::uuid) AS caught_up FROM ins`,
    [
      m.roomId, m.id, m.from, m.fromId, m.to, m.toId, m.body, m.timestamp,
      m.replyTo ?? null, m.threadId ?? null, m.mentionCandidates?.length ? m.mentionCandidates : null,
      m.ackRequired ? true : null, m.kind === 'human' ? 'human' : null,
    ],
  )
  if (!row) throw new Error(`room ${m.roomId} vanished`)
  return { id: m.id, seq: Number(row.seq), timestamp: m.timestamp, caughtUp: row.caught_up === true }
}

/** Appends a room-bot notice (inside the transaction of the change it reports). */
export const insertNotice = (q: Sql, roomId: string, n: Notice, now: Date): Promise<Posted> =>
  insertMessage(q, { id: n.id, roomId, from: 'room-bot', fromId: null, to: null, toId: null, body: n.body, timestamp: now })

type MessageQueries = Pick<Store, 'postMessage' | 'readUnread' | 'rewindCursor' | 'readAfter' | 'readRoom' | 'message' | 'threadReplies' | 'history'>

export function messageQueries(db: Sql): MessageQueries {
  return {
    postMessage: (msg) => insertMessage(db, msg),

    async readUnread(agent, opts) {
      const upTo = opts.upTo ?? null
      // mentionsOnly: DMs to the agent and broadcasts naming it; the page's bounds (and the cursor) are unchanged
      const only = opts.mentionsOnly ? 'AND (m.recipient_id = $1 OR prev.name = ANY(m.mentions))' : ''
      const page = `SELECT ${MSG_COLS.split(', ').map((c) => `m.${c}`).join(', ')}
      FROM messages m, prev
      WHERE m.room_id = $2 AND m.seq > GREATEST(prev.cursor, $5::bigint) AND m.seq <= COALESCE($3, (SELECT last_seq FROM rooms WHERE id = $2))
        AND ${VISIBLE} AND m.sender_id IS DISTINCT FROM $1 ${only}
      ORDER BY m.seq LIMIT $4`
      const params = [agent.id, agent.roomId, upTo, opts.limit, opts.after ?? null]
      let rows: Row[]
      if (!opts.move) {
        rows = await db.query(`WITH prev AS (SELECT cursor, name FROM agents WHERE id = $1) ${page}`, params)
      } else {
        // Locking the agent row serializes cursor moves, so two readers never both receive a message.
        rows = await db.query(
          `WITH prev AS (SELECT cursor, name FROM agents WHERE id = $1 FOR UPDATE),
              page AS (${page}),
              target AS (
                SELECT CASE WHEN (SELECT count(*) FROM page) < $4
                  THEN COALESCE($3, (SELECT last_seq FROM rooms WHERE id = $2))
                  ELSE (SELECT max(seq) FROM page) END AS seq
              ),
              moved AS (
                UPDATE agents SET cursor = GREATEST(agents.cursor, target.seq),
                  read_at = CASE WHEN target.seq > agents.cursor THEN now() ELSE agents.read_at END
                FROM target WHERE agents.id = $1 AND target.seq IS NOT NULL
              )
         SELECT * FROM page ORDER BY seq`,
          params,
        )
      }
      return { messages: rows.map(toMessage), more: rows.length === opts.limit }
    },

    async rewindCursor(agentId, seq) {
      await db.query('UPDATE agents SET cursor = LEAST(cursor, $2) WHERE id = $1', [agentId, seq])
    },

    async readAfter(agent, roomId, afterSeq, limit) {
      const visible = agent ? VISIBLE : 'm.recipient_id IS NULL AND $1::uuid IS NULL'
      const rows = await db.query(
        `SELECT ${MSG_COLS} FROM messages m WHERE m.room_id = $2 AND m.seq > $3 AND ${visible} ORDER BY m.seq LIMIT $4`,
        [agent?.id ?? null, roomId, afterSeq, limit],
      )
      return rows.map(toMessage)
    },

    async readRoom(roomId, afterSeq, limit) {
      const rows = await db.query(
        `SELECT ${MSG_COLS} FROM messages WHERE room_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
        [roomId, afterSeq, limit],
      )
      return rows.map(toMessage)
    },

    async message(roomId, id) {
      const [row] = await db.query(`SELECT ${MSG_COLS} FROM messages WHERE id = $2 AND room_id = $1`, [roomId, id])
      return row ? toMessage(row) : null
    },

    async threadReplies(agent, rootId, limit, offset) {
      const where = `m.room_id = $2 AND m.thread_id = $3 AND ${VISIBLE}`
      const rows = await db.query(
        `SELECT ${MSG_COLS} FROM messages m WHERE ${where} ORDER BY m.seq LIMIT $4 OFFSET $5`,
        [agent.id, agent.roomId, rootId, limit, offset],
      )
      const [t] = await db.query<{ total: string }>(`SELECT count(*) AS total FROM messages m WHERE ${where}`, [agent.id, agent.roomId, rootId])
      return { messages: rows.map(toMessage), total: Number(t?.total ?? 0) }
    },

    async history(agent, limit, offset) {
      const rows = await db.query(
        `SELECT * FROM (
         SELECT ${MSG_COLS} FROM messages m WHERE m.room_id = $2 AND ${VISIBLE} ORDER BY m.seq DESC LIMIT $3 OFFSET $4
       ) t ORDER BY seq`,
        [agent.id, agent.roomId, limit, offset],
      )
      const [t] = await db.query<{ total: string }>(
        `SELECT r.public_count + a.dm_count AS total FROM rooms r JOIN agents a ON a.room_id = r.id WHERE a.id = $1`,
        [agent.id],
      )
      return { messages: rows.map(toMessage), total: Number(t?.total ?? 0) }
    },
  }
}
