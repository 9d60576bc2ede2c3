/** A2A Tasks (migration 011): room subscriptions, found by their unguessable id or listed by agent. */
import type { A2ATaskRecord, A2ATaskStore } from '../lib/store.ts'
import type { Database, Row } from './database.ts'

const COLS = 'id, agent_id, room_id, state, start_seq, cursor, reason, created_at, updated_at'

const toTask = (r: Row): A2ATaskRecord => ({
  id: r.id as string,
  agentId: r.agent_id as string,
  roomId: r.room_id as string,
  state: r.state as A2ATaskRecord['state'],
  startSeq: Number(r.start_seq),
  cursor: Number(r.cursor),
  reason: (r.reason as string | null) ?? null,
  createdAt: r.created_at as Date,
  updatedAt: r.updated_at as Date,
})

export function a2aTaskQueries(db: Database): A2ATaskStore {
  return {
    async createA2ATask(t, max, now) {
      // an agent's ended tasks are kept a day for GetTask, then go
      await db.query(`DELETE FROM a2a_tasks WHERE agent_id = $1 AND state <> 'working' AND updated_at < $2`, [t.agentId, new Date(now.getTime() - 86_400_000)])
      const [r] = await db.query(
        `INSERT INTO a2a_tasks (id, agent_id, room_id, state, start_seq, cursor, created_at, updated_at)
         SELECT $1, $2, $3, 'working', $4, $4, $5, $5
         WHERE (SELECT count(*) FROM a2a_tasks WHERE agent_id = $2 AND state = 'working') < $6
         RETURNING ${COLS}`,
        [t.id, t.agentId, t.roomId, t.startSeq, now, max],
      )
      return r ? toTask(r) : null
    },
    async a2aTask(id) {
      const [r] = await db.query(`SELECT ${COLS} FROM a2a_tasks WHERE id = $1`, [id])
      return r ? toTask(r) : null
    },
    async a2aTasks(agentId, limit, offset) {
      const rows = await db.query(`SELECT ${COLS} FROM a2a_tasks WHERE agent_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3`, [agentId, limit, offset])
      const [t] = await db.query<{ n: string }>('SELECT count(*) AS n FROM a2a_tasks WHERE agent_id = $1', [agentId])
      return { tasks: rows.map(toTask), total: Number(t?.n ?? 0) }
    },
    async advanceA2ATask(id, seq, now) {
      await db.query(`UPDATE a2a_tasks SET cursor = $2, updated_at = $3 WHERE id = $1 AND state = 'working' AND cursor < $2`, [id, seq, now])
    },
    async endA2ATask(id, state, reason, now) {
      const [r] = await db.query(
        `UPDATE a2a_tasks SET state = $2, reason = $3, updated_at = $4 WHERE id = $1 AND state = 'working' RETURNING ${COLS}`,
        [id, state, reason, now],
      )
      return r ? toTask(r) : null
    },
  }
}
