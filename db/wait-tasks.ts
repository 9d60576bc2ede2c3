/** Wait tasks: durable message.waits. Tasks are found by primary key; state changes are conditional on `working`. */
import type { WaitTaskRecord, WaitTaskStatus, WaitTaskStore } from '../lib/store.ts'
import type { Row, Sql } from './database.ts'
import { markDelivery } from './receipts.ts'

const COLS = 'id, agent_id, room_id, status, deadline, result::text AS result, error, mentions_only, created_at, updated_at'

const toTask = (r: Row): WaitTaskRecord => ({
  id: r.id as string,
  agentId: r.agent_id as string,
  roomId: r.room_id as string,
  status: r.status as WaitTaskStatus,
  deadline: r.deadline as Date,
  result: r.result === null || r.result === undefined ? null : JSON.parse(r.result as string),
  error: (r.error as string | null) ?? null,
  mentionsOnly: r.mentions_only === true,
  createdAt: r.created_at as Date,
  updatedAt: r.updated_at as Date,
})

export function waitTaskStore(db: Sql): WaitTaskStore {
  return {
    async createWaitTask(task, max, now) {
      return db.begin(async (tx) => {
        // The agent's row lock serializes its creations, so the cap holds across instances.
        const [agent] = await tx.query('SELECT id FROM agents WHERE id = $1 FOR UPDATE', [task.agentId])
        if (!agent) return 'gone'
        if (max > 0) {
          const [{ n }] = await tx.query<{ n: string }>(
            `SELECT count(*) AS n FROM wait_tasks WHERE agent_id = $1 AND status = 'working'`,
            [task.agentId],
          )
          if (Number(n) >= max) return 'full'
        }
        await tx.query(
          `INSERT INTO wait_tasks (id, agent_id, room_id, status, deadline, created_at, updated_at, mentions_only)
           VALUES ($1, $2, $3, 'working', $4, $5, $5, $6)`,
          [task.id, task.agentId, task.roomId, task.deadline, now, task.mentionsOnly === true],
        )
        return 'created'
      })
    },

    async waitTask(id) {
      const [r] = await db.query(`SELECT ${COLS} FROM wait_tasks WHERE id = $1`, [id])
      return r ? toTask(r) : null
    },

    async waitTasks(ids) {
      if (ids.length === 0) return []
      return (await db.query(`SELECT ${COLS} FROM wait_tasks WHERE id = ANY($1::text[])`, [ids])).map(toTask)
    },

    async workingWaitTasks(roomId) {
      const rows = await db.query(
        `SELECT ${COLS} FROM wait_tasks WHERE room_id = $1 AND status = 'working' ORDER BY created_at`,
        [roomId],
      )
      return rows.map(toTask)
    },

    async workingWaitTaskRooms() {
      const rows = await db.query<{ room_id: string }>(`SELECT DISTINCT room_id FROM wait_tasks WHERE status = 'working'`)
      return rows.map((r) => r.room_id)
    },

    async completeWaitTask(id, result, read, now) {
      return db.begin(async (tx) => {
        if (read) {
          // Locking the agent row first, as cursor moves do, so no other reader takes these messages meanwhile.
          const [agent] = await tx.query<{ cursor: string }>('SELECT cursor FROM agents WHERE id = $1 FOR UPDATE', [read.agentId])
          if (!agent) return 'gone'
          if (Number(agent.cursor) >= read.from) return 'stale'
        }
        const [r] = await tx.query(
          `UPDATE wait_tasks SET status = 'completed', result = $2::text::jsonb, updated_at = $3
           WHERE id = $1 AND status = 'working' RETURNING ${COLS}`,
          [id, JSON.stringify(result), now],
        )
        if (!r) return 'lost'
        if (read) {
          await tx.query('UPDATE agents SET cursor = GREATEST(cursor, $2), read_at = now() WHERE id = $1', [read.agentId, read.upTo])
          await markDelivery(tx, read.agentId, 'wait', read.upTo)
        }
        return toTask(r)
      })
    },

    async endWaitTask(id, status, error, now) {
      const [r] = await db.query(
        `UPDATE wait_tasks SET status = $2, error = $3, updated_at = $4 WHERE id = $1 AND status = 'working' RETURNING ${COLS}`,
        [id, status, error, now],
      )
      return r ? toTask(r) : null
    },

    async dueWaitTasks(now, limit) {
      const rows = await db.query(
        `SELECT ${COLS} FROM wait_tasks WHERE status = 'working' AND deadline <= $1 ORDER BY deadline LIMIT $2`,
        [now, limit],
      )
      return rows.map(toTask)
    },

    async deleteEndedWaitTasks(before) {
      const rows = await db.query(`DELETE FROM wait_tasks WHERE status <> 'working' AND updated_at < $1 RETURNING 1 AS x`, [before])
      return rows.length
    },
  }
}
