/** Messages: appending them (batched; seq, cursors and counters in the same statement), unread reads, feeds, history. */
import { isStoreUnavailable } from '../lib/errors.ts'
import { SenderGoneError, type NewMessage, type Notice, type Posted, type Store } from '../lib/store.ts'
import { Batcher } from './batcher.ts'
import type { Database, Row, Sql } from './database.ts'
import { MSG_COLS, SEARCH_VECTOR, toMessage, VISIBLE } from './rows.ts'

const LONE_SURROGATE = /\p{Cs}/gu

/**
 * Appends messages, in order: each room's seq moves under its row lock (rooms locked in id order, so concurrent
 * batches never deadlock), so seqs are gap-free and unique. A message whose sender is no longer in its room (left,
 * kicked, room deleted) is not stored: its entry is null. A sender who had read everything before its message
 * (nothing but its own messages in between) has its cursor moved past it here, saving the missed-messages read.
 */
export async function insertMessages(q: Sql, ms: NewMessage[]): Promise<(Posted | null)[]> {
  if (ms.length === 1) return [await insertOne(q, ms[0])]
  const input = ms.map((m, i) => ({
    i, room: m.roomId, id: m.id, sender: m.from, sender_id: m.fromId, recipient: m.to, recipient_id: m.toId,
    // as the text protocol sends strings: a lone surrogate becomes U+FFFD (JSON would carry it, and PostgreSQL refuse it)
    body: m.body.replace(LONE_SURROGATE, '\uFFFD'),
    at: m.timestamp.toISOString(), reply_to: m.replyTo ?? null, thread_id: m.threadId ?? null,
    cands: m.mentionCandidates?.length ? m.mentionCandidates : null, ack: m.ackRequired ? true : null, kind: m.kind === 'human' ? 'human' : null,
  }))
  const rows = await q.query<{ i: number; seq: string; caught_up: boolean | null }>(
    `WITH input AS (
       SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS t(i int, room uuid, id uuid, sender text, sender_id uuid, recipient text,
         recipient_id uuid, body text, at timestamptz, reply_to uuid, thread_id uuid, cands text[], ack boolean, kind text)
     ), ok AS (
       SELECT t.* FROM input t WHERE t.sender_id IS NULL OR EXISTS (SELECT 1 FROM agents a WHERE a.id = t.sender_id AND a.room_id = t.room)
     ), locked AS (
       SELECT id FROM rooms WHERE id IN (SELECT room FROM ok) ORDER BY id FOR UPDATE
     ), counts AS (
       SELECT room, count(*) AS n, count(*) FILTER (WHERE recipient_id IS NULL) AS pub, max(at) AS at FROM ok GROUP BY room
     ), r AS (
       UPDATE rooms SET last_seq = last_seq + c.n,
         -- last_activity is indexed: bumping it at most once a minute keeps this update HOT
         last_activity = CASE WHEN last_activity < c.at - interval '1 minute' THEN c.at ELSE last_activity END,
         public_count = public_count + c.pub
       FROM counts c WHERE rooms.id = c.room AND rooms.id IN (SELECT id FROM locked)
       RETURNING rooms.id, rooms.last_seq - c.n AS base
     ), numbered AS (
       SELECT ok.*, r.base, r.base + row_number() OVER (PARTITION BY ok.room ORDER BY ok.i) AS seq FROM ok JOIN r ON r.id = ok.room
     ), ins AS (
       INSERT INTO messages (room_id, seq, id, sender, sender_id, recipient, recipient_id, body, created_at, reply_to, thread_id, ack_required, sender_kind, search, mentions)
       SELECT n.room, n.seq, n.id, n.sender, n.sender_id, n.recipient, n.recipient_id, n.body, n.at, n.reply_to, n.thread_id, n.ack, n.kind,
         ${SEARCH_VECTOR('n.body', 'n.room')},
         -- candidates that are names of the room's agents now, in the order they were mentioned
         CASE WHEN n.cands IS NULL THEN NULL ELSE NULLIF(ARRAY(
           SELECT g.name FROM agents g WHERE g.room_id = n.room AND g.name = ANY(n.cands) ORDER BY array_position(n.cands, g.name)
         ), '{}') END
       FROM numbered n
     ), own AS (
       -- a sender's messages with nothing but its own before them in the batch
       SELECT n.sender_id, n.base, n.seq, n.seq - n.base = row_number() OVER (PARTITION BY n.room, n.sender_id ORDER BY n.seq) AS prefix
       FROM numbered n WHERE n.sender_id IS NOT NULL
     ), adv AS (
       SELECT sender_id AS agent, min(base) AS base, max(seq) FILTER (WHERE prefix) AS upto FROM own GROUP BY sender_id
     ), dm AS (
       SELECT x.agent, count(*) AS n FROM numbered n, LATERAL (VALUES (n.sender_id), (n.recipient_id)) x(agent)
       WHERE n.recipient_id IS NOT NULL AND x.agent IS NOT NULL GROUP BY x.agent
     ), touched AS (
       SELECT agent FROM adv UNION SELECT agent FROM dm
     ), ag AS (
       UPDATE agents a SET dm_count = a.dm_count + COALESCE(dm.n, 0),
         cursor = CASE WHEN adv.upto IS NOT NULL AND a.cursor = adv.base THEN adv.upto ELSE a.cursor END
       FROM touched t LEFT JOIN dm ON dm.agent = t.agent LEFT JOIN adv ON adv.agent = t.agent
       WHERE a.id = t.agent
       RETURNING a.id, a.cursor
     )
     SELECT n.i, n.seq, n.seq <= ag.cursor AS caught_up FROM numbered n LEFT JOIN ag ON ag.id = n.sender_id`,
    [JSON.stringify(input)],
  )
  const out: (Posted | null)[] = ms.map(() => null)
  for (const r of rows) {
    const m = ms[r.i]
    out[r.i] = { id: m.id, seq: Number(r.seq), timestamp: m.timestamp, caughtUp: r.caught_up === true }
  }
  return out
}

/**
 * One message alone (the batch statement costs ~4× more for a single row: an agent sending at its own pace, a notice).
 * The same rules as the batch: seq under the room's row lock, a gone sender stores nothing, counters, the cursor.
 */
async function insertOne(q: Sql, m: NewMessage): Promise<Posted | null> {
  const [row] = await q.query<{ seq: string; caught_up: boolean | null }>(
    `WITH r AS (
       UPDATE rooms SET last_seq = last_seq + 1,
         last_activity = CASE WHEN last_activity < $8::timestamptz - interval '1 minute' THEN $8 ELSE last_activity END,
         public_count = public_count + (CASE WHEN $6::uuid IS NULL THEN 1 ELSE 0 END)
       WHERE id = $1 AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM agents WHERE id = $4::uuid AND room_id = $1))
       RETURNING last_seq
     ), ag AS (
       UPDATE agents a SET
         dm_count = a.dm_count + (CASE WHEN $6::uuid IS NULL THEN 0 ELSE 1 END),
         cursor = CASE WHEN a.id = $4::uuid AND a.cursor = r.last_seq - 1 THEN r.last_seq ELSE a.cursor END
       FROM r
       WHERE a.id IN ($4::uuid, $6::uuid) AND ($6::uuid IS NOT NULL OR a.id = $4::uuid)
       RETURNING a.id, a.cursor = r.last_seq AS caught_up
     ), ins AS (
       INSERT INTO messages (room_id, seq, id, sender, sender_id, recipient, recipient_id, body, created_at, reply_to, thread_id, ack_required, sender_kind, search, mentions)
       SELECT $1, r.last_seq, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12, $13, ${SEARCH_VECTOR('$7::text', '$1::uuid')},
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
  return row ? { id: m.id, seq: Number(row.seq), timestamp: m.timestamp, caughtUp: row.caught_up === true } : null
}

/** Appends one message (see insertMessages); a sender no longer in the room gets SenderGoneError. */
export async function insertMessage(q: Sql, m: NewMessage): Promise<Posted> {
  const [posted] = await insertMessages(q, [m])
  if (!posted) throw new SenderGoneError()
  return posted
}

/** Appends a room-bot notice (inside the transaction of the change it reports). */
export const insertNotice = (q: Sql, roomId: string, n: Notice, now: Date): Promise<Posted> =>
  insertMessage(q, { id: n.id, roomId, from: 'room-bot', fromId: null, to: null, toId: null, body: n.body, timestamp: now })

type MessageQueries = Pick<Store, 'postMessage' | 'readUnread' | 'rewindCursor' | 'readAfter' | 'readRoom' | 'message' | 'threadReplies' | 'history'>

/**
 * Messages in one batched statement; one statement in flight. (Two in flight on PostgreSQL queue on the same room
 * locks and halve the batches, and a statement costs ~300 µs of PostgreSQL CPU before its ~14 µs a message: 1 slot
 * took its CPU a send from ~69 to ~50 µs and sends/s from ~8,400 to ~9,800. Two in flight on disjoint rooms gained
 * nothing beyond the noise and took more PostgreSQL CPU a send: half the messages for the same fixed cost.)
 */
const SEND_BATCH = 64

export function messageQueries(db: Database): MessageQueries {
  const insert = async (ms: NewMessage[]): Promise<(Posted | Error)[]> => {
    try {
      return (await insertMessages(db, ms)).map((p) => p ?? new SenderGoneError())
    } catch (err) {
      // A statement error is tried again message by message, so one bad message fails no other; an unreachable
      // database fails them all at once (another try would only wait for the driver's reconnect backoff).
      if (ms.length === 1 || isStoreUnavailable(err)) throw err
      return Promise.all(ms.map((m) => insert([m]).then(([p]) => p, (e: Error) => e)))
    }
  }
  // Group commit: concurrent sends share one statement (and one commit); each reply waits for its own.
  const sends = new Batcher<NewMessage, Posted>(insert, 1, SEND_BATCH)
  return {
    postMessage: (msg) => sends.add(msg),

    async readUnread(agent, opts) {
      const upTo = opts.upTo ?? null
      // mentionsOnly: DMs to the agent and broadcasts naming it; the page's bounds (and the cursor) are unchanged
      const only = opts.mentionsOnly ? 'AND (m.recipient_id = $1 OR prev.name = ANY(m.mentions))' : ''
      // LATERAL: the index scan starts at the cursor (as a plain join the planner walked the room from its first message)
      const page = `SELECT ${MSG_COLS.split(', ').map((c) => `m.${c}`).join(', ')}
      FROM prev CROSS JOIN LATERAL (
        SELECT * FROM messages m
        WHERE m.room_id = $2 AND m.seq > GREATEST(prev.cursor, $5::bigint) AND m.seq <= COALESCE($3, (SELECT last_seq FROM rooms WHERE id = $2))
          AND ${VISIBLE} AND m.sender_id IS DISTINCT FROM $1 ${only}
        ORDER BY m.seq LIMIT $4
      ) m`
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
