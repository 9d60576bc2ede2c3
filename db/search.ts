/** Full-text search over the messages an agent may see (migration 007: messages.search and its GIN index). */
import type { SearchStore } from '../lib/store.ts'
import type { Sql } from './database.ts'
import { MSG_COLS, toMessage, VISIBLE } from './rows.ts'

/** The same configuration as the indexed column; websearch_to_tsquery accepts any text without a syntax error. */
const QUERY = "websearch_to_tsquery('english', $3)"
const HEADLINE = "'StartSel=«, StopSel=», MaxWords=30, MinWords=12'"

/** Optional filters, each a fixed fragment: a statement per combination, each planned for what it filters on. */
const FILTERS = [
  { key: 'from', sql: 'm.sender = $#' },
  { key: 'since', sql: 'm.created_at >= $#' },
  { key: 'until', sql: 'm.created_at <= $#' },
  // a thread is its root (no thread_id of its own) and the replies that name it
  { key: 'threadId', sql: '(m.thread_id = $#::uuid OR (m.id = $#::uuid AND m.thread_id IS NULL))' },
] as const

/**
 * websearch_to_tsquery turns each `-` into a NOT pushed on a 32-deep stack until a word arrives: a run of them
 * ("- - - … word") fails with "tsquery stack too small". One NOT says what a run can.
 */
export const collapseNots = (text: string): string => text.replace(/-(?:[^\p{L}\p{N}"-]*-)+/gu, '-')

export function searchQueries(db: Sql): SearchStore {
  return {
    async searchMessages(q) {
      const params: unknown[] = [q.agent.id, q.agent.roomId, collapseNots(q.text), q.limit, q.offset]
      // a spectator (the web page) sees broadcasts only; $1 stays typed (null) as readAfter does
      const visible = q.agent.id === null ? '(m.recipient_id IS NULL AND $1::uuid IS NULL)' : VISIBLE
      let where = ''
      for (const f of FILTERS) {
        const value = q[f.key]
        if (value === undefined) continue
        params.push(value)
        where += ` AND ${f.sql.replaceAll('$#', `$${params.length}`)}`
      }
      // hits: every visible match with its rank (the total counts them); the page alone is fetched whole and headlined.
      // The room's lexeme (migration 007) keeps the index scan in the room; an empty query must not match the room alone.
      const rows = await db.query(
        `WITH hits AS (
           SELECT m.seq, ts_rank(m.search, ${QUERY}, 1) AS rank
           FROM messages m
           WHERE m.search @@ (${QUERY} && ('''room ' || $2::uuid || '''')::tsquery) AND numnode(${QUERY}) > 0
             AND ${visible}${where}
         ), page AS (
           SELECT seq, rank FROM hits ORDER BY rank DESC, seq DESC LIMIT $4 OFFSET $5
         )
         SELECT (SELECT count(*) FROM hits) AS total, p.rank, ${MSG_COLS.split(', ').map((c) => `m.${c}`).join(', ')},
           ts_headline('english', m.body, ${QUERY}, ${HEADLINE}) AS snippet
         FROM (SELECT 1) one
         LEFT JOIN (page p JOIN messages m ON m.room_id = $2 AND m.seq = p.seq) ON true
         ORDER BY p.rank DESC, p.seq DESC`,
        params,
      )
      const total = Number(rows[0]?.total ?? 0)
      const hits = rows
        .filter((r) => r.seq !== null && r.seq !== undefined)
        .map((r) => ({ message: toMessage(r), rank: Number(r.rank), snippet: r.snippet as string }))
      return { hits, total }
    },
  }
}
