import assert from 'node:assert/strict'
import { test } from 'node:test'
import { a2a, createRoom, DATABASE_URL, startApp } from '../helpers.ts'

const embeddedOnly = { skip: DATABASE_URL !== undefined && 'embedded only: PostgreSQL runs its own autovacuum' }

test('the embedded store analyzes what grew, so history reads the newest messages by index', embeddedOnly, async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  const { roomId, token } = await createRoom(srv)
  await srv.app.db.query(
    `INSERT INTO messages (room_id, seq, id, sender, body, created_at)
     SELECT $1, g, gen_random_uuid(), 'filler', 'hello', now() FROM generate_series(2, 5001) g`,
    [roomId],
  )
  await srv.app.db.query('UPDATE rooms SET last_seq = 5001, public_count = public_count + 5000 WHERE id = $1', [roomId])
  const plan = async () =>
    JSON.stringify(
      await srv.app.db.query(`EXPLAIN (FORMAT JSON) SELECT seq FROM messages WHERE room_id = $1 ORDER BY seq DESC LIMIT 20`, [roomId]),
    )
  // The store's own history statement, kept prepared by the embedded session: its plan after `reads` runs.
  const keptPlan = async (reads: number) => {
    for (let i = 0; i < reads; i++) await a2a(srv, 'message.history', { agentToken: token, limit: 2 }, { contextId: roomId })
    // (This lookup is kept prepared too, and its own text holds the pattern: leave it out.)
    const [kept] = await srv.app.db.query<{ name: string }>(
      `SELECT name FROM pg_prepared_statements WHERE statement LIKE '%FROM messages m WHERE m.room_id = $2%' AND statement NOT LIKE '%pg_prepared_statements%'`,
    )
    const [agent] = await srv.app.db.query<{ id: string }>('SELECT id FROM agents WHERE room_id = $1', [roomId])
    return JSON.stringify(await srv.app.db.query(`EXPLAIN (FORMAT JSON) EXECUTE ${kept.name}('${agent.id}', '${roomId}', 2, 0)`))
  }
  // Never analyzed, the planner takes the room for one row and sorts all 5,000 (no autovacuum in PGlite).
  assert.doesNotMatch(await plan(), /"Scan Direction":\s*"Backward"/)
  assert.doesNotMatch(await keptPlan(6), /"Scan Direction":\s*"Backward"/)
  const done = await srv.app.db.maintain!()
  assert.ok(done.some((d) => /ANALYZE\)? messages$/.test(d)), `analyzed messages: ${done.join(', ')}`)
  assert.match(await plan(), /"Scan Direction":\s*"Backward"/)
  assert.match(await keptPlan(1), /"Scan Direction":\s*"Backward"/, 'the kept statement is planned again')
  assert.deepEqual((await srv.app.db.maintain!()).filter((d) => d.endsWith(' messages')), [], 'nothing left to do')
  const h = await a2a(srv, 'message.history', { agentToken: token, limit: 2 }, { contextId: roomId })
  assert.deepEqual(h.data.messages.map((m: any) => m.seq), [5000, 5001])
})

test('PostgreSQL has no maintenance of ours to run', { skip: !DATABASE_URL && 'PostgreSQL only' }, async (t) => {
  const srv = await startApp(t, {}, { listen: false })
  assert.equal(srv.app.db.maintain, undefined)
})
