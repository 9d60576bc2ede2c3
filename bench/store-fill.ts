/** Fills a stopped server's store with N messages in a few statements, as if it had carried that traffic for a while. */
import type { Database } from '../db/database.ts'
import { migrate } from '../db/migrate.ts'
import { SEARCH_VECTOR } from '../db/rows.ts'
import { openDatabase } from '../db/sql.ts'

/** Agents' prose around code, cut at varying offsets and lengths into bodies of 20–320 characters. */
const PROSE =
  'I pushed the fix for the flaky retry in src/net/client.ts; the backoff now caps at 30 s and the test waits for ' +
  'the reconnect event instead of sleeping. @reviewer can you check the migration in db/migrations/007_search.sql ' +
  'before we tag v1.4.2? The build on main is green again, 412 tests, coverage 87%. Next I will look at the memory ' +
  'growth in the worker: the heap went from 180 MB to 640 MB over a night, mostly strings held by the log buffer. ' +
  'Plan: split the parser into tokenize() and parse(), then add a fuzz test. Deployed to staging at 14:05, no errors ' +
  'so far; rolling back is one command (make rollback ENV=staging). Thanks, merging after lunch. '

/**
 * Adds a second agent ("peer") to each room, then `n` messages spread round-robin over the rooms, after what they
 * hold: every tenth a DM (bench→peer or peer→bench), the rest broadcasts by either, timestamps spread from the
 * last message to now. Then the counters insertMessages keeps (last_seq, public_count, last_activity, dm_count)
 * are recounted, every agent has read everything, and the tables are vacuumed and analyzed as autovacuum (or, on
 * the embedded store, db/maintain.ts) would have done by then.
 */
export async function fillStore(store: { dataDir: string; databaseUrl?: string }, roomIds: string[], n: number): Promise<void> {
  const db = await openDatabase({ ...store, poolSize: 2 })
  try {
    await migrate(db)
    await db.begin(async (tx) => fill(tx, roomIds, n))
    await db.exec('VACUUM (ANALYZE) messages, rooms, agents')
  } finally {
    await db.close()
  }
}

async function fill(tx: Pick<Database, 'query'>, roomIds: string[], n: number) {
  const ids = JSON.stringify(roomIds)
  const target = `SELECT value::uuid AS id, ordinality - 1 AS k FROM jsonb_array_elements_text($1::text::jsonb) WITH ORDINALITY`
  await tx.query(
    `INSERT INTO agents (id, room_id, name, token_hash, role, cursor, joined_at, joined_seq)
     SELECT gen_random_uuid(), r.id, 'peer', md5(random()::text || r.id::text), 'member', r.last_seq, now(), r.last_seq
     FROM rooms r WHERE r.id IN (SELECT id FROM (${target}) t)`,
    [ids],
  )
  await tx.query(
    `WITH t AS (${target}),
     r AS (
       SELECT t.k, rm.id, rm.last_seq AS base,
         (SELECT id FROM agents WHERE room_id = rm.id AND name = 'bench') AS bench,
         (SELECT id FROM agents WHERE room_id = rm.id AND name = 'peer') AS peer
       FROM t JOIN rooms rm ON rm.id = t.id
     ),
     span AS (SELECT max(created_at) AS t0, now() - max(created_at) AS d FROM messages),
     g AS (
       SELECT i, r.*, i % 10 = 0 OR i % 10 = 5 AS dm, CASE WHEN i % 10 = 5 OR i % 3 = 1 THEN 'peer' ELSE 'bench' END AS who
       FROM generate_series(0, $2::bigint - 1) i JOIN r ON r.k = i % $3
     )
     INSERT INTO messages (room_id, seq, id, sender, sender_id, recipient, recipient_id, body, created_at, search)
     SELECT x.*, ${SEARCH_VECTOR('x.body', 'x.room_id')} FROM (
     SELECT g.id AS room_id, base + i / $3 + 1 AS seq, gen_random_uuid() AS id, who AS sender, CASE who WHEN 'bench' THEN bench ELSE peer END AS sender_id,
       CASE WHEN dm THEN (CASE who WHEN 'bench' THEN 'peer' ELSE 'bench' END) END AS recipient,
       CASE WHEN dm THEN (CASE who WHEN 'bench' THEN peer ELSE bench END) END AS recipient_id,
       substr($4::text, (1 + (i * 37) % 300)::int, (20 + (i * 7919) % 300)::int) AS body,
       span.t0 + span.d * ((i + 1)::float8 / $2) AS created_at
     FROM g, span) x`,
    [ids, n, roomIds.length, PROSE.repeat(2)],
  )
  await tx.query(
    `UPDATE rooms SET last_seq = m.last_seq, public_count = m.pub, last_activity = GREATEST(last_activity, m.at)
     FROM (SELECT room_id, max(seq) AS last_seq, count(*) FILTER (WHERE recipient_id IS NULL) AS pub, max(created_at) AS at
           FROM messages WHERE room_id IN (SELECT id FROM (${target}) t) GROUP BY room_id) m
     WHERE rooms.id = m.room_id`,
    [ids],
  )
  await tx.query(
    `UPDATE agents a SET cursor = r.last_seq, read_at = r.last_activity,
       dm_count = (SELECT count(*) FROM messages m WHERE m.room_id = a.room_id AND m.recipient_id IS NOT NULL
                   AND (m.sender_id = a.id OR m.recipient_id = a.id))
     FROM rooms r WHERE r.id = a.room_id AND r.id IN (SELECT id FROM (${target}) t)`,
    [ids],
  )
}
