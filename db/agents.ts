/** Room membership: agents joining, leaving, found by token or name, their roles and push endpoints. */
import { NameTakenError, type NewAgent, type Store } from '../lib/store.ts'
import type { Database, Sql } from './database.ts'
import { insertNotice } from './messages.ts'
import { AGENT_COLS, isUniqueViolation, toAgent, toRoom } from './rows.ts'

/** A new agent whose cursor starts at `cursor` (its own join notice). */
export async function insertAgent(q: Sql, a: NewAgent, cursor: number, now: Date): Promise<void> {
  await q.query(
    `INSERT INTO agents (id, room_id, name, token_hash, role, endpoint, cursor, joined_at, joined_seq, kind)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $9)`,
    [a.id, a.roomId, a.name, a.tokenHash, a.role, a.endpoint, cursor, now, a.kind ?? 'agent'],
  )
}

type AgentQueries = Pick<
  Store,
  'agentByToken' | 'agentByName' | 'agents' | 'existingAgents' | 'addAgent' | 'setEndpoint' | 'removeAgent' | 'setRole'
>

export function agentQueries(db: Database): AgentQueries {
  return {
    async agentByToken(tokenHash) {
      const [r] = await db.query(
        `SELECT a.id, a.room_id, a.name, a.token_hash, a.role, a.endpoint, a.cursor, a.joined_at, a.joined_seq, a.kind,
              r.name AS r_name, r.password_hash, r.description, r.type, r.created_at, r.last_activity, r.last_seq
       FROM agents a JOIN rooms r ON r.id = a.room_id WHERE a.token_hash = $1`,
        [tokenHash],
      )
      if (!r) return null
      return { agent: toAgent(r), room: toRoom({ ...r, id: r.room_id, name: r.r_name }) }
    },

    async agentByName(roomId, name) {
      const [r] = await db.query(`SELECT ${AGENT_COLS} FROM agents WHERE room_id = $1 AND name = $2`, [roomId, name])
      return r ? toAgent(r) : null
    },

    async agents(roomId) {
      return (await db.query(`SELECT ${AGENT_COLS} FROM agents WHERE room_id = $1 ORDER BY joined_at, name`, [roomId])).map(toAgent)
    },

    async existingAgents(ids) {
      if (ids.length === 0) return new Set<string>()
      const rows = await db.query<{ id: string }>('SELECT id FROM agents WHERE id = ANY($1::uuid[])', [ids])
      return new Set(rows.map((r) => r.id))
    },

    async addAgent(agent, notice, now) {
      try {
        return await db.begin(async (tx) => {
          const posted = await insertNotice(tx, agent.roomId, notice, now)
          await insertAgent(tx, agent, posted.seq, now)
          return posted
        })
      } catch (e) {
        if (isUniqueViolation(e)) throw new NameTakenError()
        throw e
      }
    },

    async setEndpoint(agentId, endpoint, now) {
      await db.query(
        `WITH a AS (UPDATE agents SET endpoint = $2 WHERE id = $1 RETURNING room_id)
       UPDATE rooms SET last_activity = GREATEST(last_activity, $3) WHERE id IN (SELECT room_id FROM a)`,
        [agentId, endpoint, now],
      )
    },

    async removeAgent(roomId, agentId, notice, promotedNotice, now) {
      return db.begin(async (tx) => {
        await tx.query('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [roomId])
        const [gone] = await tx.query<{ role: string }>('DELETE FROM agents WHERE id = $1 RETURNING role', [agentId])
        const posted = [await insertNotice(tx, roomId, notice, now)]
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
            posted.push(await insertNotice(tx, roomId, promotedNotice(heir.name), now))
          }
        }
        return { posted, promoted }
      })
    },

    async setRole(roomId, agentId, role, notice, now) {
      return db.begin(async (tx) => {
        await tx.query('SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE', [roomId])
        if (role === 'member') {
          const [{ admins }] = await tx.query<{ admins: string }>(
            `SELECT count(*) AS admins FROM agents WHERE room_id = $1 AND role = 'admin' AND id <> $2`,
            [roomId, agentId],
          )
          if (Number(admins) === 0) return null
        }
        await tx.query('UPDATE agents SET role = $2 WHERE id = $1', [agentId, role])
        return insertNotice(tx, roomId, notice, now)
      })
    },
  }
}
