/** A2A push progress (leases and delivery cursors) in the agents table. */
import type { PushClaim, PushStore } from '../lib/store.ts'
import type { Sql } from './database.ts'
import { UPSERT_MARK } from './receipts.ts'

/** Due work: an agent with an endpoint, behind its room, not leased, not backing off. */
const DUE = `a.endpoint IS NOT NULL
  AND COALESCE(a.push_cursor, a.cursor) < r.last_seq
  AND (a.push_lease_until IS NULL OR a.push_lease_until < now())
  AND (a.push_due_at IS NULL OR a.push_due_at <= now())`

const secs = (ms: number) => ms / 1000

/**
 * Push progress in the agents table. Leases use the database clock, so instances agree on expiry; a claim
 * re-checks the lease after the row lock, so of two concurrent claimers only one wins.
 */
export function pushStore(db: Sql): PushStore {
  return {
    async claimPush(owner, leaseMs, scope) {
      const [where, extra] = scope.agentId
        ? ['AND a.id = $3', [scope.agentId]]
        : scope.roomId
          ? ['AND a.room_id = $3', [scope.roomId]]
          : ['', []]
      const rows = await db.query(
        `UPDATE agents a SET push_owner = $1, push_lease_until = now() + make_interval(secs => $2),
           push_cursor = COALESCE(a.push_cursor, a.cursor)
         WHERE a.id IN (SELECT a.id FROM agents a JOIN rooms r ON r.id = a.room_id WHERE ${DUE} ${where} LIMIT 100)
           AND (a.push_lease_until IS NULL OR a.push_lease_until < now())
         RETURNING a.id, a.room_id, a.endpoint, a.push_cursor, a.push_failures`,
        [owner, secs(leaseMs), ...extra],
      )
      return rows.map(
        (r): PushClaim => ({
          agentId: r.id as string,
          roomId: r.room_id as string,
          endpoint: r.endpoint as string,
          cursor: Number(r.push_cursor),
          failures: Number(r.push_failures),
        }),
      )
    },

    async advancePush(agentId, owner, seq, leaseMs) {
      const rows = await db.query(
        `WITH up AS (
           UPDATE agents SET push_cursor = GREATEST(push_cursor, $3::bigint), cursor = GREATEST(cursor, $3::bigint),
             read_at = CASE WHEN $3::bigint > cursor THEN now() ELSE read_at END,
             push_failures = 0, push_due_at = NULL, push_lease_until = now() + make_interval(secs => $4)
           WHERE id = $1 AND push_owner = $2 RETURNING id
         ), mark AS (
           INSERT INTO delivery_marks (agent_id, surface, seq, at) SELECT id, 'push', $3::bigint, now() FROM up ${UPSERT_MARK}
         )
         SELECT id FROM up`,
        [agentId, owner, seq, secs(leaseMs)],
      )
      return rows.length > 0
    },

    async finishPush(agentId, owner, cursor) {
      const [row] = await db.query<{ more: boolean }>(
        `UPDATE agents a SET push_cursor = GREATEST(a.push_cursor, $3), push_owner = NULL, push_lease_until = NULL
         FROM rooms r WHERE a.id = $1 AND a.push_owner = $2 AND r.id = a.room_id
         RETURNING a.push_cursor < r.last_seq AS more`,
        [agentId, owner, cursor],
      )
      return { more: row?.more === true }
    },

    async backoffPush(agentId, owner, cursor, failures, delayMs) {
      await db.query(
        `UPDATE agents SET push_cursor = GREATEST(push_cursor, $3), push_failures = $4,
           push_due_at = now() + make_interval(secs => $5), push_owner = NULL, push_lease_until = NULL
         WHERE id = $1 AND push_owner = $2`,
        [agentId, owner, cursor, failures, secs(delayMs)],
      )
    },

    async endpointRooms() {
      return (await db.query<{ room_id: string }>('SELECT DISTINCT room_id FROM agents WHERE endpoint IS NOT NULL')).map((r) => r.room_id)
    },

    async releasePushes(owner) {
      await db.query('UPDATE agents SET push_owner = NULL, push_lease_until = NULL WHERE push_owner = $1', [owner])
    },
  }
}
