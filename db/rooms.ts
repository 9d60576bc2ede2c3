/** Rooms: creating (with the creator and its notice), lookups, the public listing, idle expiry and counts. */
import { RoomNameRaceError, type RoomSummary, type Store } from '../lib/store.ts'
import { insertAgent } from './agents.ts'
import type { Database } from './database.ts'
import { insertNotice } from './messages.ts'
import { isUniqueViolation, ROOM_COLS, toRoom } from './rows.ts'

type RoomQueries = Pick<
  Store,
  'createRoom' | 'roomById' | 'roomsByName' | 'listRooms' | 'updateRoom' | 'lastSeqs' | 'deleteIdleRooms' | 'counts'
>

export function roomQueries(db: Database): RoomQueries {
  return {
    async createRoom(room, creator, notice, sameNameIds, now) {
      return db.begin(async (tx) => {
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
        const posted = await insertNotice(tx, room.id, notice, now)
        await insertAgent(tx, creator, posted.seq, now)
        return posted
      })
    },

    async roomById(id) {
      const [r] = await db.query(`SELECT ${ROOM_COLS} FROM rooms WHERE id = $1`, [id])
      return r ? toRoom(r) : null
    },

    async roomsByName(name) {
      if (name.includes('\u0000')) return [] // no room has one, and PostgreSQL text refuses it
      return (await db.query(`SELECT ${ROOM_COLS} FROM rooms WHERE name = $1 ORDER BY created_at`, [name])).map(toRoom)
    },

    async listRooms(opts) {
      const pattern = opts.search ? `%${opts.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null
      const where = 'r.password_hash IS NULL AND ($1::text IS NULL OR r.name ILIKE $1 OR r.description ILIKE $1)'
      const rows = await db.query(
        `SELECT r.name, r.description, r.type, r.created_at,
              (SELECT count(*) FROM agents a WHERE a.room_id = r.id) AS agents
       FROM rooms r WHERE ${where} ORDER BY r.name LIMIT $2 OFFSET $3`,
        [pattern, opts.limit, opts.offset],
      )
      const [{ total }] = await db.query<{ total: string }>(`SELECT count(*) AS total FROM rooms r WHERE ${where}`, [pattern])
      const rooms: RoomSummary[] = rows.map((r) => ({
        name: r.name as string,
        description: r.description as string,
        type: r.type as RoomSummary['type'],
        agents: Number(r.agents),
        createdAt: r.created_at as Date,
      }))
      return { rooms, total: Number(total) }
    },

    async updateRoom(roomId, patch, notice, now) {
      return db.begin(async (tx) => {
        await tx.query(
          'UPDATE rooms SET description = COALESCE($2, description), type = COALESCE($3, type) WHERE id = $1',
          [roomId, patch.description ?? null, patch.type ?? null],
        )
        return insertNotice(tx, roomId, notice, now)
      })
    },

    async lastSeqs(roomIds) {
      const rows = await db.query<{ id: string; last_seq: string }>('SELECT id, last_seq FROM rooms WHERE id = ANY($1::uuid[])', [roomIds])
      return new Map(rows.map((r) => [r.id, Number(r.last_seq)]))
    },

    async deleteIdleRooms(cutoff) {
      const ids: string[] = []
      for (;;) {
        const gone = await db.begin(async (tx) => {
          const rows = await tx.query<{ id: string }>(
            `DELETE FROM rooms WHERE id IN (SELECT id FROM rooms WHERE last_activity < $1 LIMIT 100) RETURNING id`,
            [cutoff],
          )
          // Messages have no foreign key to their room (migration 013). A statement of its own, after the rooms are
          // gone: it sees the messages of a send that held a room's lock until then, and no later send finds the room.
          if (rows.length) await tx.query('DELETE FROM messages WHERE room_id = ANY($1::uuid[])', [rows.map((r) => r.id)])
          return rows.map((r) => r.id)
        })
        ids.push(...gone)
        if (gone.length < 100) return ids
      }
    },

    async counts() {
      const [r] = await db.query<Record<string, string>>(
        `SELECT (SELECT count(*) FROM rooms) AS rooms, (SELECT count(*) FROM agents) AS agents,
              (SELECT COALESCE(sum(last_seq), 0) FROM rooms) AS messages`,
      )
      return { rooms: Number(r.rooms), agents: Number(r.agents), messages: Number(r.messages) }
    },
  }
}
