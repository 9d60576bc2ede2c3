/** Push configs of A2A tasks (migration 012) and their delivery progress: leases, cursors and backoff as in db/push.ts. */
import type { PushConfigRecord, TaskPushStore } from '../lib/store.ts'
import type { Database, Row } from './database.ts'

const secs = (ms: number) => ms / 1000

/** Due work: a config of a working task, behind its room, not leased, not backing off. */
const DUE = `t.state = 'working' AND c.cursor < r.last_seq
  AND (c.lease_until IS NULL OR c.lease_until < now()) AND (c.due_at IS NULL OR c.due_at <= now())`

const toConfig = (r: Row): PushConfigRecord => ({
  taskId: r.task_id as string,
  id: r.id as string,
  url: r.url as string,
  token: (r.token as string | null) ?? null,
  authScheme: (r.auth_scheme as string | null) ?? null,
  authCredentials: (r.auth_credentials as string | null) ?? null,
  createdAt: r.created_at as Date,
})

const COLS = 'task_id, id, url, token, auth_scheme, auth_credentials, created_at'

export function taskPushQueries(db: Database): TaskPushStore {
  return {
    async putPushConfig(c, cursor, max, now) {
      return db.begin(async (tx) => {
        const [task] = await tx.query<{ room_id: string; agent_id: string; state: string }>(
          'SELECT room_id, agent_id, state FROM a2a_tasks WHERE id = $1 FOR UPDATE',
          [c.taskId],
        )
        if (!task || task.state !== 'working') return 'gone'
        const [n] = await tx.query<{ n: string }>('SELECT count(*) AS n FROM task_push_configs WHERE task_id = $1 AND id <> $2', [c.taskId, c.id])
        if (Number(n?.n ?? 0) >= max) return 'full'
        await tx.query(
          `INSERT INTO task_push_configs (task_id, id, room_id, agent_id, url, token, auth_scheme, auth_credentials, cursor, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (task_id, id) DO UPDATE SET url = excluded.url, token = excluded.token, auth_scheme = excluded.auth_scheme,
             auth_credentials = excluded.auth_credentials, failures = 0, due_at = NULL`,
          [c.taskId, c.id, task.room_id, task.agent_id, c.url, c.token, c.authScheme, c.authCredentials, cursor, now],
        )
        return 'ok'
      })
    },
    async pushConfig(taskId, id) {
      const [r] = await db.query(`SELECT ${COLS} FROM task_push_configs WHERE task_id = $1 AND id = $2`, [taskId, id])
      return r ? toConfig(r) : null
    },
    async pushConfigs(taskId) {
      return (await db.query(`SELECT ${COLS} FROM task_push_configs WHERE task_id = $1 ORDER BY created_at, id`, [taskId])).map(toConfig)
    },
    async pushConfigRooms() {
      const rows = await db.query<{ room_id: string }>(
        `SELECT DISTINCT c.room_id FROM task_push_configs c JOIN a2a_tasks t ON t.id = c.task_id WHERE t.state = 'working'`,
      )
      return rows.map((r) => r.room_id)
    },
    async deletePushConfig(taskId, id) {
      return (await db.query('DELETE FROM task_push_configs WHERE task_id = $1 AND id = $2 RETURNING id', [taskId, id])).length > 0
    },

    async claimTaskPush(owner, leaseMs, scope) {
      const params: unknown[] = [owner, secs(leaseMs)]
      let where = ''
      if (scope.key) {
        const [taskId, id] = scope.key.split(' ')
        params.push(taskId, id)
        where = 'AND c.task_id = $3 AND c.id = $4'
      } else if (scope.roomId) {
        params.push(scope.roomId)
        where = 'AND c.room_id = $3'
      }
      const rows = await db.query(
        `UPDATE task_push_configs c SET owner = $1, lease_until = now() + make_interval(secs => $2)
         WHERE (c.task_id, c.id) IN (
           SELECT c.task_id, c.id FROM task_push_configs c JOIN a2a_tasks t ON t.id = c.task_id JOIN rooms r ON r.id = c.room_id
           WHERE ${DUE} ${where} LIMIT 100
         ) AND (c.lease_until IS NULL OR c.lease_until < now())
         RETURNING c.task_id, c.id, c.room_id, c.agent_id, c.url, c.token, c.auth_scheme, c.auth_credentials, c.cursor, c.failures`,
        params,
      )
      return rows.map((r) => ({
        agentId: r.agent_id as string,
        roomId: r.room_id as string,
        endpoint: r.url as string,
        cursor: Number(r.cursor),
        failures: Number(r.failures),
        taskId: r.task_id as string,
        configId: r.id as string,
        token: (r.token as string | null) ?? null,
        authScheme: (r.auth_scheme as string | null) ?? null,
        authCredentials: (r.auth_credentials as string | null) ?? null,
      }))
    },
    async advanceTaskPush(taskId, id, owner, seq, leaseMs) {
      const rows = await db.query(
        `UPDATE task_push_configs SET cursor = GREATEST(cursor, $4), failures = 0, due_at = NULL, lease_until = now() + make_interval(secs => $5)
         WHERE task_id = $1 AND id = $2 AND owner = $3 RETURNING id`,
        [taskId, id, owner, seq, secs(leaseMs)],
      )
      return rows.length > 0
    },
    async finishTaskPush(taskId, id, owner, cursor) {
      const [row] = await db.query<{ more: boolean }>(
        `UPDATE task_push_configs c SET cursor = GREATEST(c.cursor, $4), owner = NULL, lease_until = NULL
         FROM rooms r WHERE c.task_id = $1 AND c.id = $2 AND c.owner = $3 AND r.id = c.room_id
         RETURNING c.cursor < r.last_seq AS more`,
        [taskId, id, owner, cursor],
      )
      return { more: row?.more === true }
    },
    async backoffTaskPush(taskId, id, owner, cursor, failures, delayMs) {
      await db.query(
        `UPDATE task_push_configs SET cursor = GREATEST(cursor, $4), failures = $5, due_at = now() + make_interval(secs => $6),
           owner = NULL, lease_until = NULL
         WHERE task_id = $1 AND id = $2 AND owner = $3`,
        [taskId, id, owner, cursor, failures, secs(delayMs)],
      )
    },
    async releaseTaskPushes(owner) {
      await db.query('UPDATE task_push_configs SET owner = NULL, lease_until = NULL WHERE owner = $1', [owner])
    },
  }
}
