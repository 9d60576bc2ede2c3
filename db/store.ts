import type {
  AgentRecord,
  McpStore,
  MessageRecord,
  NewAgent,
  NewMessage,
  NewRoom,
  Notice,
  Posted,
  PushStore,
  ReadOptions,
  RoomRecord,
  RoomSummary,
  Store,
} from '../lib/store.ts'
import { NameTakenError, RoomNameRaceError } from '../lib/store.ts'
import { KeyedMutex } from '../lib/mutex.ts'
import { mcpStore } from './mcp.ts'
import { pushStore } from './push.ts'
import type { Database, Row, Sql } from './sql.ts'

const ROOM_COLS = 'id, name, password_hash, description, type, created_at, last_activity, last_seq'
const AGENT_COLS = 'id, room_id, name, token_hash, role, endpoint, cursor, joined_at'
const MSG_COLS = 'room_id, seq, id, sender, sender_id, recipient, recipient_id, body, created_at'
/** A message is visible to agent $1: broadcast, or a DM it sent or received. */
const VISIBLE = '(m.recipient_id IS NULL OR m.recipient_id = $1 OR m.sender_id = $1)'

const toRoom = (r: Row): RoomRecord => ({
  id: r.id as string,
  name: r.name as string,
  passwordHash: (r.password_hash as string | null) ?? null,
  description: r.description as string,
  type: r.type as RoomRecord['type'],
  createdAt: r.created_at as Date,
  lastActivity: r.last_activity as Date,
  lastSeq: Number(r.last_seq),
})

const toAgent = (r: Row): AgentRecord => ({
  id: r.id as string,
  roomId: r.room_id as string,
  name: r.name as string,
  tokenHash: r.token_hash as string,
  role: r.role as AgentRecord['role'],
  endpoint: (r.endpoint as string | null) ?? null,
  cursor: Number(r.cursor),
  joinedAt: r.joined_at as Date,
})

const toMessage = (r: Row): MessageRecord => ({
  id: r.id as string,
  seq: Number(r.seq),
  roomId: r.room_id as string,
  from: r.sender as string,
  fromId: (r.sender_id as string | null) ?? null,
  to: (r.recipient as string | null) ?? null,
  toId: (r.recipient_id as string | null) ?? null,
  body: r.body as string,
  timestamp: r.created_at as Date,
})

const isUniqueViolation = (e: unknown) => (e as { code?: string })?.code === '23505'

/**
 * Appends a message: bumps the room's seq under its row lock, so seqs are gap-free and unique. A sender who had
 * read everything before it (cursor = seq - 1) has its cursor moved past it here, saving the missed-messages read.
 */
async function insertMessage(q: Sql, m: NewMessage): Promise<Posted> {
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
       INSERT INTO messages (room_id, seq, id, sender, sender_id, recipient, recipient_id, body, created_at)
       SELECT $1, r.last_seq, $2, $3, $4, $5, $6, $7, $8 FROM r
       RETURNING seq
     )
     SELECT ins.seq, (SELECT caught_up FROM ag WHERE ag.id = $4::uuid) AS caught_up FROM ins`,
    [m.roomId, m.id, m.from, m.fromId, m.to, m.toId, m.body, m.timestamp],
  )
  if (!row) throw new Error(`room ${m.roomId} vanished`)
  return { id: m.id, seq: Number(row.seq), timestamp: m.timestamp, caughtUp: row.caught_up === true }
}

/** A new agent whose cursor starts at `cursor` (its own join notice). */
async function insertAgent(q: Sql, a: NewAgent, cursor: number, now: Date): Promise<void> {
  await q.query(
    `INSERT INTO agents (id, room_id, name, token_hash, role, endpoint, cursor, joined_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [a.id, a.roomId, a.name, a.tokenHash, a.role, a.endpoint, cursor, now],
  )
}

const bot = (roomId: string, n: Notice, now: Date): NewMessage => ({
  id: n.id,
  roomId,
  from: 'room-bot',
  fromId: null,
  to: null,
  toId: null,
  body: n.body,
  timestamp: now,
})

export class SqlStore implements Store {
  readonly kind: Store['kind']
  private readonly locks = new KeyedMutex()
  private readonly pushes: PushStore
  readonly mcp: McpStore

  constructor(private readonly db: Database) {
    this.kind = db.kind
    this.pushes = pushStore(db)
    this.mcp = mcpStore(db)
  }

  claimPush: PushStore['claimPush'] = (...a) => this.pushes.claimPush(...a)
  advancePush: PushStore['advancePush'] = (...a) => this.pushes.advancePush(...a)
  finishPush: PushStore['finishPush'] = (...a) => this.pushes.finishPush(...a)
  backoffPush: PushStore['backoffPush'] = (...a) => this.pushes.backoffPush(...a)
  releasePushes: PushStore['releasePushes'] = (...a) => this.pushes.releasePushes(...a)

  async createRoom(room: NewRoom, creator: NewAgent, notice: Notice, sameNameIds: string[], now: Date): Promise<Posted> {
    return this.db.begin(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`room-name:${room.name}`])
      const ids = (await tx.query<{ id: string }>('SELECT id FROM rooms WHERE name = $1', [room.name])).map((r) => r.id)
      if (ids.length !== sameNameIds.length || ids.some((id) => !sameNameIds.includes(id))) throw new RoomNameRaceError()
      try {
        await tx.query(
          `INSERT INTO rooms (id, name, password_hash, description, type, created_at, last_activity)
           VALUES ($1, $2, $3, $4, $5, $6, $6)`,
          [room.id, room.name, room.passwordHash, room.description, room.type, now],
        )
      } catch (e) {
        if (isUniqueViolation(e)) throw new RoomNameRaceError()
        throw e
      }
      const posted = await insertMessage(tx, bot(room.id, notice, now))
      await insertAgent(tx, creator, posted.seq, now)
      return posted
    })
  }

  async roomById(id: string): Promise<RoomRecord | null> {
    const [r] = await this.db.query(`SELECT ${ROOM_COLS} FROM rooms WHERE id = $1`, [id])
    return r ? toRoom(r) : null
  }

  async roomsByName(name: string): Promise<RoomRecord[]> {
    if (name.includes('\u0000')) return [] // no room has one, and PostgreSQL text refuses it
    return (await this.db.query(`SELECT ${ROOM_COLS} FROM rooms WHERE name = $1 ORDER BY created_at`, [name])).map(toRoom)
  }

  async listRooms(opts: { search?: string; limit: number; offset: number }) {
    const pattern = opts.search ? `%${opts.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null
    const where = 'r.password_hash IS NULL AND ($1::text IS NULL OR r.name ILIKE $1 OR r.description ILIKE $1)'
    const rows = await this.db.query(
      `SELECT r.name, r.description, r.type, r.created_at,
              (SELECT count(*) FROM agents a WHERE a.room_id = r.id) AS agents
       FROM rooms r WHERE ${where} ORDER BY r.name LIMIT $2 OFFSET $3`,
      [pattern, opts.limit, opts.offset],
    )
    const [{ total }] = await this.db.query<{ total: string }>(`SELECT count(*) AS total FROM rooms r WHERE ${where}`, [pattern])
    const rooms: RoomSummary[] = rows.map((r) => ({
      name: r.name as string,
      description: r.description as string,
      type: r.type as RoomSummary['type'],
      agents: Number(r.agents),
      createdAt: r.created_at as Date,
    }))
    return { rooms, total: Number(total) }
  }

  async updateRoom(roomId: string, patch: { description?: string; type?: RoomRecord['type'] }, notice: Notice, now: Date) {
    return this.db.begin(async (tx) => {
      await tx.query(
        'UPDATE rooms SET description = COALESCE($2, description), type = COALESCE($3, type) WHERE id = $1',
        [roomId, patch.description ?? null, patch.type ?? null],
      )
      return insertMessage(tx, bot(roomId, notice, now))
    })
  }

  async agentByToken(tokenHash: string) {
    const [r] = await this.db.query(
      `SELECT a.id, a.room_id, a.name, a.token_hash, a.role, a.endpoint, a.cursor, a.joined_at,
              r.name AS r_name, r.password_hash, r.description, r.type, r.created_at, r.last_activity, r.last_seq
       FROM agents a JOIN rooms r ON r.id = a.room_id WHERE a.token_hash = $1`,
      [tokenHash],
    )
    if (!r) return null
    return { agent: toAgent(r), room: toRoom({ ...r, id: r.room_id, name: r.r_name }) }
  }

  async agentByName(roomId: string, name: string) {
    const [r] = await this.db.query(`SELECT ${AGENT_COLS} FROM agents WHERE room_id = $1 AND name = $2`, [roomId, name])
    return r ? toAgent(r) : null
  }

  async agents(roomId: string) {
    return (await this.db.query(`SELECT ${AGENT_COLS} FROM agents WHERE room_id = $1 ORDER BY joined_at, name`, [roomId])).map(
      toAgent,
    )
  }

  async existingAgents(ids: string[]) {
    if (ids.length === 0) return new Set<string>()
    const rows = await this.db.query<{ id: string }>('SELECT id FROM agents WHERE id = ANY($1::uuid[])', [ids])
    return new Set(rows.map((r) => r.id))
  }

  async addAgent(agent: NewAgent, notice: Notice, now: Date): Promise<Posted> {
    try {
      return await this.db.begin(async (tx) => {
        const posted = await insertMessage(tx, bot(agent.roomId, notice, now))
        await insertAgent(tx, agent, posted.seq, now)
        return posted
      })
    } catch (e) {
      if (isUniqueViolation(e)) throw new NameTakenError()
      throw e
    }
  }

  async setEndpoint(agentId: string, endpoint: string | null, now: Date) {
    await this.db.query(
      `WITH a AS (UPDATE agents SET endpoint = $2 WHERE id = $1 RETURNING room_id)
       UPDATE rooms SET last_activity = GREATEST(last_activity, $3) WHERE id IN (SELECT room_id FROM a)`,
      [agentId, endpoint, now],
    )
  }

  async removeAgent(roomId: string, agentId: string, notice: Notice, promotedNotice: (name: string) => Notice, now: Date) {
    return this.db.begin(async (tx) => {
      await tx.query('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [roomId])
      const [gone] = await tx.query<{ role: string }>('DELETE FROM agents WHERE id = $1 RETURNING role', [agentId])
      const posted = [await insertMessage(tx, bot(roomId, notice, now))]
      let promoted: string | null = null
      if (gone?.role === 'admin') {
        const [heir] = await tx.query<{ name: string }>(
          `UPDATE agents SET role = 'admin' WHERE id = (
             SELECT id FROM agents WHERE room_id = $1 ORDER BY joined_at, name LIMIT 1
           ) AND NOT EXISTS (SELECT 1 FROM agents WHERE room_id = $1 AND role = 'admin')
           RETURNING name`,
          [roomId],
        )
        if (heir) {
          promoted = heir.name
          posted.push(await insertMessage(tx, bot(roomId, promotedNotice(heir.name), now)))
        }
      }
      return { posted, promoted }
    })
  }

  async setRole(roomId: string, agentId: string, role: 'admin' | 'member', notice: Notice, now: Date) {
    return this.db.begin(async (tx) => {
      await tx.query('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [roomId])
      if (role === 'member') {
        const [{ admins }] = await tx.query<{ admins: string }>(
          `SELECT count(*) AS admins FROM agents WHERE room_id = $1 AND role = 'admin' AND id <> $2`,
          [roomId, agentId],
        )
        if (Number(admins) === 0) return null
      }
      await tx.query('UPDATE agents SET role = $2 WHERE id = $1', [agentId, role])
      return insertMessage(tx, bot(roomId, notice, now))
    })
  }

  postMessage(msg: NewMessage): Promise<Posted> {
    return insertMessage(this.db, msg)
  }

  async readUnread(agent: { id: string; roomId: string }, opts: ReadOptions) {
    const upTo = opts.upTo ?? null
    const page = `SELECT ${MSG_COLS.split(', ').map((c) => `m.${c}`).join(', ')}
      FROM messages m, prev
      WHERE m.room_id = $2 AND m.seq > COALESCE($5::bigint, prev.cursor) AND m.seq <= COALESCE($3, (SELECT last_seq FROM rooms WHERE id = $2))
        AND ${VISIBLE} AND m.sender_id IS DISTINCT FROM $1
      ORDER BY m.seq LIMIT $4`
    const params = [agent.id, agent.roomId, upTo, opts.limit, opts.after ?? null]
    let rows: Row[]
    if (!opts.move) {
      rows = await this.db.query(`WITH prev AS (SELECT cursor FROM agents WHERE id = $1) ${page}`, params)
    } else {
      // Locking the agent row serializes cursor moves, so two readers never both receive a message.
      rows = await this.db.query(
        `WITH prev AS (SELECT cursor FROM agents WHERE id = $1 FOR UPDATE),
              page AS (${page}),
              target AS (
                SELECT CASE WHEN (SELECT count(*) FROM page) < $4
                  THEN COALESCE($3, (SELECT last_seq FROM rooms WHERE id = $2))
                  ELSE (SELECT max(seq) FROM page) END AS seq
              ),
              moved AS (
                UPDATE agents SET cursor = GREATEST(agents.cursor, target.seq)
                FROM target WHERE agents.id = $1 AND target.seq IS NOT NULL
              )
         SELECT * FROM page ORDER BY seq`,
        params,
      )
    }
    return { messages: rows.map(toMessage), more: rows.length === opts.limit }
  }

  async rewindCursor(agentId: string, seq: number) {
    await this.db.query('UPDATE agents SET cursor = LEAST(cursor, $2) WHERE id = $1', [agentId, seq])
  }

  async readAfter(agent: { id: string; roomId: string } | null, roomId: string, afterSeq: number, limit: number) {
    const visible = agent ? VISIBLE : 'm.recipient_id IS NULL AND $1::uuid IS NULL'
    const rows = await this.db.query(
      `SELECT ${MSG_COLS} FROM messages m WHERE m.room_id = $2 AND m.seq > $3 AND ${visible} ORDER BY m.seq LIMIT $4`,
      [agent?.id ?? null, roomId, afterSeq, limit],
    )
    return rows.map(toMessage)
  }

  async readRoom(roomId: string, afterSeq: number, limit: number) {
    const rows = await this.db.query(
      `SELECT ${MSG_COLS} FROM messages WHERE room_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [roomId, afterSeq, limit],
    )
    return rows.map(toMessage)
  }

  async history(agent: { id: string; roomId: string }, limit: number, offset: number) {
    const rows = await this.db.query(
      `SELECT * FROM (
         SELECT ${MSG_COLS} FROM messages m WHERE m.room_id = $2 AND ${VISIBLE} ORDER BY m.seq DESC LIMIT $3 OFFSET $4
       ) t ORDER BY seq`,
      [agent.id, agent.roomId, limit, offset],
    )
    const [t] = await this.db.query<{ total: string }>(
      `SELECT r.public_count + a.dm_count AS total FROM rooms r JOIN agents a ON a.room_id = r.id WHERE a.id = $1`,
      [agent.id],
    )
    return { messages: rows.map(toMessage), total: Number(t?.total ?? 0) }
  }

  async lastSeqs(roomIds: string[]) {
    const rows = await this.db.query<{ id: string; last_seq: string }>('SELECT id, last_seq FROM rooms WHERE id = ANY($1::uuid[])', [roomIds])
    return new Map(rows.map((r) => [r.id, Number(r.last_seq)]))
  }

  async deleteIdleRooms(cutoff: Date): Promise<string[]> {
    const ids: string[] = []
    for (;;) {
      const rows = await this.db.query<{ id: string }>(
        `DELETE FROM rooms WHERE id IN (SELECT id FROM rooms WHERE last_activity < $1 LIMIT 100) RETURNING id`,
        [cutoff],
      )
      ids.push(...rows.map((r) => r.id))
      if (rows.length < 100) return ids
    }
  }

  async counts() {
    const [r] = await this.db.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM rooms) AS rooms, (SELECT count(*) FROM agents) AS agents,
              (SELECT COALESCE(sum(last_seq), 0) FROM rooms) AS messages`,
    )
    return { rooms: Number(r.rooms), agents: Number(r.agents), messages: Number(r.messages) }
  }

  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(key, () => this.db.withAdvisoryLock(key, fn))
  }

  async ping() {
    await this.db.query('SELECT 1')
  }

  close() {
    return this.db.close()
  }
}
