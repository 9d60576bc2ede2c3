/**
 * message.search: p50/p99 through A2A over a store of 1,000,000 messages in 100 rooms, by kind of query; then
 * message.send throughput with and without migration 007 (the tsvector column and its GIN index), in turns (ABBA).
 *
 * The store is filled with SQL, not through the API (a million sends would take most of an hour): rooms and agents
 * are made through A2A, then the rooms get their messages from INSERT … SELECT whose bodies are drawn from a
 * vocabulary of dev-chat words with a skewed (Zipf-like) frequency, 3–60 words each, with file paths, issue
 * numbers and names mixed in; 5% are DMs, 2% room-bot push summaries. Rooms take turns in conversations of 25
 * messages (--burst 1: message by message, the worst case). The table is then vacuumed and analyzed,
 * as autovacuum (or the embedded store's maintenance) would have done.
 * Usage: tsx bench/search.ts [--messages 1000000] [--rooms 100] [--burst 25] [--queries 2000] [--sends 5000] [--rounds 2] [--skip-send] [--skip-search]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import path from 'node:path'
import postgres from 'postgres'
import { migrate } from '../db/migrate.ts'
import { SEARCH_VECTOR } from '../db/rows.ts'
import { openDatabase } from '../db/sql.ts'
import type { Database } from '../db/database.ts'
import { spawnServer, type Proc } from '../test/spawn.ts'
import { percentile, postgresCpuMs, processCpuMs } from './server.ts'
import { a2aClient } from './a2a-client.ts'
import { argValue } from './args.ts'

// Frequent words first: a word's index is drawn as n·u³, so the head is common and the tail rare.
const WORDS = (
  'the to a and is it for of in on we this that i with be fix test can not now but it\'s you so if just ' +
  'build deploy tests merge branch main commit push pull review parser bug error config server client api ' +
  'database query index migration schema table column cache token session auth user users request response ' +
  'timeout retry latency memory cpu leak crash log logs metrics alert flaky ci pipeline release version tag ' +
  'docker image container kubernetes pod node cluster staging production rollback hotfix patch refactor rename ' +
  'function method class module package dependency upgrade lint typecheck compile bundle webpack vite rust go ' +
  'typescript python sql json yaml endpoint route handler middleware websocket stream event queue worker job ' +
  'scheduler cron backup restore snapshot replica primary failover lock deadlock transaction rows vacuum ' +
  'benchmark throughput p99 regression profile flamegraph allocation gc heap thread async await promise ' +
  'callback closure iterator generator parse serialize encode decode utf8 unicode escape sanitize validate ' +
  'permission role admin member room agent message thread reply mention search snippet rank highlight ' +
  'docs readme changelog issue ticket estimate blocked done wip todo spec design proposal rfc tradeoff ' +
  'simpler faster slower cleaner broken works passing failing green red yellow ship shipped merged reverted ' +
  'tomorrow today yesterday monday friday morning tonight later soon asap eta minutes hours ' +
  'alice bob carol dave erin frank grace heidi ivan judy mallory oscar peggy trent victor walter ' +
  'quokka zebra narwhal axolotl pangolin capybara wombat platypus ocelot tapir okapi gecko ' +
  'idempotent backpressure debounce throttle memoize sharding partition compaction tombstone watermark ' +
  'checksum handshake certificate tls dns cors csrf xss oauth jwt hmac nonce entropy'
).split(' ')
const PATHS = ['src/app.ts', 'lib/rooms/search.ts', 'db/migrations/007_search.sql', 'README.md', 'test/core/a2a.test.ts', 'server.ts', 'package.json', 'docker-compose.yml']

/** Typical queries, by kind: common and rare words, two words, a phrase, or, a sender, a time window. */
const QUERIES: { kind: string; query: string; extra?: (now: Date) => Record<string, unknown> }[] = [
  { kind: 'common word', query: 'deploy' },
  { kind: 'common word', query: 'tests' },
  { kind: 'rare word', query: 'pangolin' },
  { kind: 'rare word', query: 'watermark' },
  { kind: 'two words', query: 'parser bug' },
  { kind: 'two words', query: 'flaky pipeline' },
  { kind: 'phrase', query: '"merge conflict"' },
  { kind: 'phrase', query: '"fix the parser"' },
  { kind: 'or, -word', query: 'rollback or hotfix -staging' },
  { kind: 'from: sender', query: 'release', extra: () => ({ from: 'room-bot' }) },
  { kind: 'since: last day', query: 'migration', extra: (now) => ({ since: new Date(now.getTime() - 86_400_000).toISOString() }) },
  { kind: 'path', query: 'lib/rooms/search.ts' },
]

const sqlArray = (xs: string[]) => `ARRAY[${xs.map((x) => `'${x.replace(/'/g, "''")}'`).join(',')}]`

/** A body like the SQL fill makes, for the send bench. */
function randomBody(): string {
  const n = 3 + Math.floor(Math.random() * 58)
  const words: string[] = []
  for (let i = 0; i < n; i++) {
    const r = Math.random()
    if (r < 0.03) words.push(PATHS[Math.floor(Math.random() * PATHS.length)])
    else if (r < 0.05) words.push(`#${Math.floor(Math.random() * 5000)}`)
    else words.push(WORDS[Math.floor(WORDS.length * Math.random() ** 3)])
  }
  return words.join(' ')
}

/**
 * A fresh, migrated store: a temp DATA_DIR, or a new database next to DATABASE_URL's. Migrated here, so a
 * server starting on it never meets its plugin timeout while a busy host creates an embedded cluster.
 */
async function freshStore(databaseUrl?: string): Promise<{ env: Record<string, string>; open: () => Promise<Database>; drop: () => Promise<void> }> {
  const store = await unmigrated(databaseUrl)
  const db = await store.open()
  await migrate(db)
  await db.close()
  return store
}

async function unmigrated(databaseUrl?: string): Promise<{ env: Record<string, string>; open: () => Promise<Database>; drop: () => Promise<void> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'convene-bench-search-'))
  // BENCH_KEEP_DB=1 leaves the store behind for EXPLAIN and friends.
  const keep = !!process.env.BENCH_KEEP_DB
  if (!databaseUrl) {
    const drop = async () => (keep ? console.error(`kept ${dataDir}`) : rmSync(dataDir, { recursive: true, force: true }))
    return { env: { DATA_DIR: dataDir }, open: () => openDatabase({ dataDir }), drop }
  }
  const name = `convene_bench_search_${Date.now()}_${Math.floor(Math.random() * 1e6)}`
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`CREATE DATABASE ${name}`)
  const u = new URL(databaseUrl)
  u.pathname = `/${name}`
  const url = u.toString()
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: url },
    open: () => openDatabase({ databaseUrl: url, dataDir }),
    drop: async () => {
      if (!keep) await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.end()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

interface Room {
  id: string
  token: string
  peerToken: string
}

/** 100 rooms with two agents each, made through A2A. */
async function makeRooms(url: string, n: number): Promise<Room[]> {
  const c = a2aClient(url, 8)
  const rooms: Room[] = []
  for (let i = 0; i < n; i++) {
    const created = await c.call('room.create', { agentName: 'alice' }, { text: `search-bench-${i}` })
    const joined = await c.call('room.join', { agentName: 'bob' }, { contextId: created.contextId })
    rooms.push({ id: created.contextId, token: created.data.agentToken, peerToken: joined.data.agentToken })
  }
  await c.close()
  return rooms
}

/**
 * Fills each room with `perRoom` messages in SQL, timestamps spread over the last 30 days. Rooms take turns in
 * conversations of `burst` messages, so one room's messages lie scattered over the table's pages as they would over
 * time (burst 1, rooms taking turns message by message, is the worst case for a search's heap reads).
 */
async function fill(db: Database, perRoom: number, burst: number, log: (s: string) => void) {
  const words = sqlArray(WORDS)
  const paths = sqlArray(PATHS)
  const t0 = performance.now()
  await db.exec(`CREATE TABLE bench_rooms AS
    SELECT row_number() OVER (ORDER BY r.name) AS ord, r.id, r.last_seq AS base,
      (SELECT id FROM agents WHERE room_id = r.id AND name = 'alice') AS alice,
      (SELECT id FROM agents WHERE room_id = r.id AND name = 'bob') AS bob
    FROM rooms r`)
  const BLOCK = 500
  for (let from = 1; from <= perRoom; from += BLOCK) {
    const to = Math.min(perRoom, from + BLOCK - 1)
    // kind: 0..92 broadcast by alice/bob, 93..97 DM alice → bob, 98..99 room-bot summary
    await db.query(
      `WITH src AS (
         SELECT g, b.*, (hashint4(g * 131 + b.ord::int) & 1023) % 100 AS kind, 3 + (hashint4(g * 131 + b.ord::int + 7) & 1023) % 58 AS len
         FROM generate_series($1::int, $2::int) g CROSS JOIN bench_rooms b
       )
       INSERT INTO messages (room_id, seq, id, sender, sender_id, recipient, recipient_id, body, created_at, search)
       SELECT x.*, ${SEARCH_VECTOR('x.body', 'x.room_id')} FROM (
       SELECT id AS room_id, base + g AS seq, gen_random_uuid() AS id,
         CASE WHEN kind >= 98 THEN 'room-bot' WHEN kind >= 93 OR g % 2 = 0 THEN 'alice' ELSE 'bob' END AS sender,
         CASE WHEN kind >= 98 THEN NULL WHEN kind >= 93 OR g % 2 = 0 THEN alice ELSE bob END AS sender_id,
         CASE WHEN kind BETWEEN 93 AND 97 THEN 'bob' END AS recipient,
         CASE WHEN kind BETWEEN 93 AND 97 THEN bob END AS recipient_id,
         CASE WHEN kind >= 98 THEN 'alice pushed ' || (1 + g % 5) || ' commit(s) to main: ' ELSE '' END ||
         array_to_string(ARRAY(
           SELECT CASE WHEN r < 0.03 THEN (${paths})[1 + floor(random() * ${PATHS.length})::int]
                       WHEN r < 0.05 THEN '#' || floor(random() * 5000)::int
                       ELSE (${words})[1 + floor(${WORDS.length} * random() ^ 3)::int] END
           FROM (SELECT random() AS r, w FROM generate_series(1, len) w) x
         ), ' ') AS body,
         now() - interval '30 days' + (g::float8 / $3::int) * interval '30 days' AS created_at
       FROM src ORDER BY (g - 1) / $4::int, ord, g) x`,
      [from, to, perRoom, burst],
    )
    log(`filled ${to}/${perRoom} messages per room (${Math.round((performance.now() - t0) / 1000)} s)`)
  }
  await db.exec(`DROP TABLE bench_rooms`)
  await db.query(
    `UPDATE rooms r SET last_seq = last_seq + $1, public_count = (SELECT count(*) FROM messages WHERE room_id = r.id AND recipient_id IS NULL)`,
    [perRoom],
  )
  await db.exec(
    `UPDATE agents a SET cursor = r.last_seq, dm_count = (SELECT count(*) FROM messages m WHERE m.room_id = a.room_id AND m.recipient_id IS NOT NULL AND (m.recipient_id = a.id OR m.sender_id = a.id))
     FROM rooms r WHERE r.id = a.room_id`,
  )
  const v0 = performance.now()
  await db.exec('VACUUM ANALYZE messages')
  await db.exec('VACUUM ANALYZE rooms')
  await db.exec('VACUUM ANALYZE agents')
  log(`vacuum analyze: ${Math.round((performance.now() - v0) / 1000)} s`)
  const [size] = await db.query<{ table: string; index: string; n: string }>(
    `SELECT pg_size_pretty(pg_table_size('messages')) AS table, pg_size_pretty(pg_relation_size('messages_search')) AS index, (SELECT count(*) FROM messages) AS n`,
  )
  return { seconds: Math.round((performance.now() - t0) / 1000), messages: Number(size.n), tableSize: size.table, indexSize: size.index }
}

async function searchLatency(url: string, rooms: Room[], queries: number, log: (s: string) => void) {
  const c = a2aClient(url, 4)
  const now = new Date()
  const byKind = new Map<string, number[]>()
  const all: number[] = []
  const totals = new Map<string, number[]>()
  const history: number[] = []
  // Warm-up: plans, caches (a tenth of the run, not counted).
  for (let i = 0; i < Math.ceil(queries / 10); i++) {
    const q = QUERIES[i % QUERIES.length]
    const room = rooms[i % rooms.length]
    await c.call('message.search', { agentToken: room.token, query: q.query, ...q.extra?.(now) })
  }
  for (let i = 0; i < queries; i++) {
    const q = QUERIES[i % QUERIES.length]
    const room = rooms[(i * 7) % rooms.length]
    const token = i % 2 === 0 ? room.token : room.peerToken
    const t0 = performance.now()
    const r = await c.call('message.search', { agentToken: token, query: q.query, ...q.extra?.(now) })
    const ms = performance.now() - t0
    all.push(ms)
    if (!byKind.has(q.kind)) byKind.set(q.kind, [])
    byKind.get(q.kind)!.push(ms)
    if (!totals.has(q.kind)) totals.set(q.kind, [])
    totals.get(q.kind)!.push(r.data.total)
    // The floor on this host right now: a message.history call (20 messages) between searches.
    if (i % 4 === 0) {
      const h0 = performance.now()
      await c.call('message.history', { agentToken: token, limit: 20 }, { contextId: room.id })
      history.push(performance.now() - h0)
    }
  }
  await c.close()
  all.sort((a, b) => a - b)
  history.sort((a, b) => a - b)
  const rows = [...byKind].map(([kind, xs]) => {
    xs.sort((a, b) => a - b)
    const t = totals.get(kind)!
    return { kind, p50: +percentile(xs, 50).toFixed(1), p99: +percentile(xs, 99).toFixed(1), matchesPerRoom: Math.round(t.reduce((a, b) => a + b, 0) / t.length) }
  })
  const floor = `${percentile(history, 50).toFixed(1)}/${percentile(history, 99).toFixed(1)}`
  log(`search over ${queries} queries: p50 ${percentile(all, 50).toFixed(1)} ms, p99 ${percentile(all, 99).toFixed(1)} ms; message.history p50/p99 ${floor} ms`)
  return { p50: +percentile(all, 50).toFixed(1), p99: +percentile(all, 99).toFixed(1), max: +all.at(-1)!.toFixed(1), floor, rows }
}

/** message.send/s from 32 workers over 16 rooms (one agent each), with the given bodies. */
async function sendTarget(url: string, bodies: string[]) {
  const c = a2aClient(url, 32)
  const rooms: { id: string; token: string }[] = []
  for (let i = 0; i < 16; i++) {
    const r = await c.call('room.create', { agentName: 'bench' }) // unnamed: the UUID is the name
    rooms.push({ id: r.contextId, token: r.data.agentToken })
  }
  const sends = async (n: number) => {
    let next = 0
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: 32 }, async (_, w) => {
        const room = rooms[w % rooms.length]
        while (next++ < n) await c.call('message.send', { agentToken: room.token }, { text: bodies[next % bodies.length], contextId: room.id })
      }),
    )
    return n / ((performance.now() - t0) / 1000)
  }
  await sends(2000) // warm-up
  return { sends, close: c.close }
}

/** The a2a bench's one-line bodies, and bodies like the fill's (3–60 words). */
const BODIES = {
  short: Array.from({ length: 4096 }, (_, i) => `message ${i} from worker ${i % 32}`),
  long: Array.from({ length: 4096 }, randomBody),
}

/**
 * Send throughput without migration 007's vector and index against with them, in turns. "Without": the index and
 * the fill trigger dropped after migrating and the vector function returning NULL (the inserts name the column).
 */
async function sendAbba(databaseUrl: string | undefined, perTurn: number, rounds: number, log: (s: string) => void) {
  const before = await freshStore(databaseUrl)
  const after = await freshStore(databaseUrl)
  const servers: Proc[] = []
  try {
    const db = await before.open()
    await db.exec(
      `DROP INDEX messages_search; DROP TRIGGER messages_fill_search ON messages;
       CREATE OR REPLACE FUNCTION messages_search_vector(body text, room uuid) RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$ SELECT NULL::tsvector $$`,
    )
    await db.close()
    const a = await spawnServer(before.env)
    servers.push(a)
    const b = await spawnServer(after.env)
    servers.push(b)
    const out: Record<string, { before: number; after: number; change: string; cpuUs: { before: number; after: number }; dbCpuUs?: { before: number; after: number } }> = {}
    for (const kind of ['short', 'long'] as const) {
      const targets = { before: await sendTarget(a.url, BODIES[kind]), after: await sendTarget(b.url, BODIES[kind]) }
      const cpu = { before: 0, after: 0 }
      const dbCpu = { before: 0, after: 0 }
      const turns = { before: [] as number[], after: [] as number[] }
      const order = Array.from({ length: rounds }, (_, i) => (i % 2 === 0 ? (['before', 'after', 'after', 'before'] as const) : (['after', 'before', 'before', 'after'] as const))).flat()
      for (const which of order) {
        const pid = (which === 'before' ? a : b).child.pid!
        const c0 = processCpuMs(pid)
        const d0 = databaseUrl ? postgresCpuMs() : 0
        turns[which].push(await targets[which].sends(perTurn))
        cpu[which] += processCpuMs(pid) - c0
        if (databaseUrl) dbCpu[which] += postgresCpuMs() - d0
        log(`send turn, ${kind} bodies, ${which === 'before' ? 'without' : 'with'} 007: ${Math.round(turns[which].at(-1)!)} /s`)
      }
      await targets.before.close()
      await targets.after.close()
      const avg = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length
      const change = avg(turns.after) / avg(turns.before) - 1
      out[kind] = {
        before: Math.round(avg(turns.before)),
        after: Math.round(avg(turns.after)),
        change: `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`,
        cpuUs: { before: Math.round((cpu.before * 1000) / (2 * rounds * perTurn)), after: Math.round((cpu.after * 1000) / (2 * rounds * perTurn)) },
        ...(databaseUrl ? { dbCpuUs: { before: Math.round((dbCpu.before * 1000) / (2 * rounds * perTurn)), after: Math.round((dbCpu.after * 1000) / (2 * rounds * perTurn)) } } : {}),
      }
    }
    return out
  } finally {
    for (const s of servers) await s.stop()
    await before.drop()
    await after.drop()
  }
}

export async function run(
  opts: { databaseUrl?: string; messages?: number; rooms?: number; burst?: number; queries?: number; skipSend?: boolean; skipSearch?: boolean; sendsPerTurn?: number; sendRounds?: number } = {},
) {
  const backend = opts.databaseUrl ? 'postgres' : 'pglite'
  const log = (s: string) => console.error(`[search ${backend}] ${s}`)
  const roomCount = opts.rooms ?? 100
  const total = opts.messages ?? 1_000_000
  const burst = opts.burst ?? 25
  const summary: Record<string, number | string> = {}
  log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  let rows: unknown[] = []
  if (!opts.skipSearch) {
    const store = await freshStore(opts.databaseUrl)
    let srv: Proc | undefined
    try {
      srv = await spawnServer(store.env)
      const rooms = await makeRooms(srv.url, roomCount)
      await srv.stop()
      srv = undefined
      const db = await store.open()
      const filled = await fill(db, Math.floor(total / roomCount), burst, log)
      await db.close()
      log(`filled ${filled.messages} messages in ${filled.seconds} s: table ${filled.tableSize}, search index ${filled.indexSize}`)
      srv = await spawnServer(store.env)
      const lat = await searchLatency(srv.url, rooms, opts.queries ?? 2000, log)
      rows = lat.rows
      summary[`search p50/p99/max ms, ${filled.messages} messages in ${roomCount} rooms, turns of ${burst} (${backend})`] = `${lat.p50}/${lat.p99}/${lat.max}`
      summary[`message.history p50/p99 ms between the searches (${backend})`] = lat.floor
      for (const r of lat.rows) summary[`search p50/p99 ms: ${r.kind}, ~${r.matchesPerRoom} matches (${backend})`] = `${r.p50}/${r.p99}`
      summary[`search fill: s, table, index (${backend})`] = `${filled.seconds}, ${filled.tableSize}, ${filled.indexSize}`
      summary[`server RSS MB after searches (${backend})`] = Math.round(srv.rssMb())
    } finally {
      await srv?.stop()
      await store.drop()
    }
  }
  if (!opts.skipSend) {
    const ab = await sendAbba(opts.databaseUrl, opts.sendsPerTurn ?? 5000, opts.sendRounds ?? 2, log)
    for (const [kind, r] of Object.entries(ab)) {
      const db = r.dbCpuUs ? `, PostgreSQL CPU µs/send ${r.dbCpuUs.before} → ${r.dbCpuUs.after}` : ''
      log(`send in turns, ${kind} bodies: ${r.before} /s without 007, ${r.after} /s with (${r.change}); server CPU µs/send ${r.cpuUs.before} → ${r.cpuUs.after}${db}`)
      if (r.dbCpuUs) summary[`send PostgreSQL CPU µs without vs with 007, ${kind} bodies`] = `${r.dbCpuUs.before} vs ${r.dbCpuUs.after}`
      summary[`send/s in turns without vs with migration 007, ${kind} bodies (${backend})`] = `${r.before} vs ${r.after}, ${r.change}`
      summary[`send server CPU µs without vs with 007, ${kind} bodies (${backend})`] = `${r.cpuUs.before} vs ${r.cpuUs.after}`
    }
  }
  summary[`load average at the end (${backend})`] = os.loadavg().map((x) => x.toFixed(2)).join(' ')
  return { rows, summary }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = argValue
  const out = await run({
    databaseUrl: process.env.DATABASE_URL || undefined,
    messages: Number(arg('messages') ?? 1_000_000),
    rooms: Number(arg('rooms') ?? 100),
    burst: Number(arg('burst') ?? 25),
    queries: Number(arg('queries') ?? 2000),
    sendsPerTurn: Number(arg('sends') ?? 5000),
    sendRounds: Number(arg('rounds') ?? 2),
    skipSend: process.argv.includes('--skip-send'),
    skipSearch: process.argv.includes('--skip-search'),
  })
  console.table(out.rows)
  console.log(out.summary)
}
