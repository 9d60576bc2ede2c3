/** Path leases (migration 009): taken, renewed, released and expired, each change with its room-bot notice. */
import type { LeaseRecord, LeaseStore } from '../lib/store.ts'
import type { Database, Row } from './database.ts'
import { insertNotice } from './messages.ts'

const toLease = (r: Row): LeaseRecord => ({
  agentId: r.agent_id as string,
  agent: r.name as string,
  path: r.path as string,
  exclusive: r.exclusive === true,
  reason: r.reason as string,
  expiresAt: r.expires_at as Date,
})

export function leaseQueries(db: Database): LeaseStore {
  return {
    async activeLeases(roomId, now) {
      const rows = await db.query(
        `SELECT l.agent_id, a.name, l.path, l.exclusive, l.reason, l.expires_at
         FROM leases l JOIN agents a ON a.id = l.agent_id
         WHERE l.room_id = $1 AND l.expires_at > $2 ORDER BY a.name, l.path`,
        [roomId, now],
      )
      return rows.map(toLease)
    },

    putLeases(roomId, agentId, leases, notice, now) {
      return db.begin(async (tx) => {
        await tx.query(
          `INSERT INTO leases (room_id, agent_id, path, exclusive, reason, expires_at, created_at)
           SELECT $1, $2, l.path, l.exclusive, l.reason, l.expires_at, $7
           FROM unnest($3::text[], $4::boolean[], $5::text[], $6::timestamptz[]) AS l (path, exclusive, reason, expires_at)
           ON CONFLICT (room_id, agent_id, path) DO UPDATE
             SET exclusive = excluded.exclusive, reason = excluded.reason, expires_at = excluded.expires_at`,
          [
            roomId, agentId,
            leases.map((l) => l.path), leases.map((l) => l.exclusive), leases.map((l) => l.reason), leases.map((l) => l.expiresAt.toISOString()),
            now,
          ],
        )
        return insertNotice(tx, roomId, notice, now)
      })
    },

    async renewLeases(roomId, agentId, paths, expiresAt, now) {
      const rows = await db.query<{ path: string }>(
        `UPDATE leases SET expires_at = $4
         WHERE room_id = $1 AND agent_id = $2 AND expires_at > $5 AND ($3::text[] IS NULL OR path = ANY($3::text[]))
         RETURNING path`,
        [roomId, agentId, paths, expiresAt, now],
      )
      return rows.map((r) => r.path).sort()
    },

    releaseLeases(roomId, agentId, paths, notice, now) {
      return db.begin(async (tx) => {
        const rows = await tx.query<{ path: string }>(
          `DELETE FROM leases WHERE room_id = $1 AND agent_id = $2 AND expires_at > $4 AND ($3::text[] IS NULL OR path = ANY($3::text[]))
           RETURNING path`,
          [roomId, agentId, paths, now],
        )
        const released = rows.map((r) => r.path).sort()
        return { released, posted: released.length ? await insertNotice(tx, roomId, notice(released), now) : null }
      })
    },

    expireLeases(now, notice, limit) {
      return db.begin(async (tx) => {
        // SKIP LOCKED: instances sweeping at once each take other rows, so every expiry is announced once
        const rows = await tx.query<{ room_id: string; name: string; path: string }>(
          `WITH gone AS (
             DELETE FROM leases WHERE ctid IN (
               SELECT ctid FROM leases WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
             ) RETURNING room_id, agent_id, path
           )
           SELECT g.room_id, a.name, g.path FROM gone g JOIN agents a ON a.id = g.agent_id ORDER BY g.room_id, a.name, g.path`,
          [now, limit],
        )
        const groups = new Map<string, { roomId: string; agent: string; paths: string[] }>()
        for (const r of rows) {
          const key = `${r.room_id} ${r.name}`
          const g = groups.get(key) ?? { roomId: r.room_id, agent: r.name, paths: [] }
          g.paths.push(r.path)
          groups.set(key, g)
        }
        const out = []
        for (const g of groups.values()) out.push({ roomId: g.roomId, posted: await insertNotice(tx, g.roomId, notice(g.agent, g.paths), now) })
        return out
      })
    },
  }
}
