// get_inbox's query. Without `since` it is one range of deliveries_pending in send order. With
// `since` the answer is the first `limit` pending deliveries, in send order, whose message was
// sent strictly after `since`; sent_at need not grow with seq (processes' clocks disagree, and a
// legacy import writes old times late), so neither index alone both finds and orders them:
//   by time  deliveries_pending_by_time (agent_id, sent_at, message_seq): the matching rows are
//            one range, but in time order, so they must all be read and sorted by seq. Cheap
//            when few match (since=now, the usual poll).
//   by seq   deliveries_pending (agent_id, message_seq, sent_at): reads in send order and skips
//            rows sent at or before `since` inside the index. Cheap when the first rows match.
// Neither cost is known up front, so both are run in rounds with a row budget that doubles: the
// time plan counts its matches up to the budget (and answers once they fit), the seq plan reads
// the next `budget` pending rows. Either answer is the exact set, and the work done is within a
// small factor of the cheaper plan's.
import type BetterSqlite3 from 'better-sqlite3';
import type { Selectable } from 'kysely';
import type { MessageTable } from './schema.js';

/** An unacknowledged delivery joined with its message, as get_inbox returns it. */
export type InboxRow = Selectable<MessageTable> & { read_at: number | null };

export type InboxQuery = (agentId: string, sinceMs: number | null, afterSeq: number, limit: number) => InboxRow[];

/** The first round's budget: small enough to be noise, large enough that a page is one round. */
const FIRST_BUDGET = 256;
export const INBOX_COLUMNS = 'm.seq, m.id, m.fleet_id, m.from_agent_id, m.to_agent_id, m.type, m.payload, m.correlation_id, m.sent_at, m.subject, m.thread_id, d.read_at';

/** The statements, by name: tests read their EXPLAIN QUERY PLAN. */
export const INBOX_SQL = {
  inSeqOrder: `SELECT ${INBOX_COLUMNS}
       FROM deliveries AS d INDEXED BY deliveries_pending JOIN messages AS m ON m.seq = d.message_seq
      WHERE d.agent_id = ? AND d.acked = 0 AND d.message_seq > ?
      ORDER BY d.message_seq LIMIT ?`,
  // Matches after a seq, counted up to a cap: a covering range of deliveries_pending_by_time.
  countSince: `SELECT count(*) FROM (SELECT 1 FROM deliveries INDEXED BY deliveries_pending_by_time
      WHERE agent_id = ? AND acked = 0 AND sent_at > ? AND message_seq > ? LIMIT ?)`,
  // All matches after a seq, sorted by seq: run only once countSince has found them few.
  byTime: `SELECT ${INBOX_COLUMNS}
       FROM deliveries AS d INDEXED BY deliveries_pending_by_time JOIN messages AS m ON m.seq = d.message_seq
      WHERE d.agent_id = ? AND d.acked = 0 AND d.sent_at > ? AND d.message_seq > ?
      ORDER BY d.message_seq LIMIT ?`,
  // The seq of the n-th pending delivery after a seq (OFFSET n - 1): where a round of the seq plan ends.
  nthPending: `SELECT message_seq FROM deliveries INDEXED BY deliveries_pending
      WHERE agent_id = ? AND acked = 0 AND message_seq > ? ORDER BY message_seq LIMIT 1 OFFSET ?`,
  // Matches within (afterSeq, throughSeq] in send order; sent_at is tested in the index, so a
  // skipped row never reads the table.
  bySeq: `SELECT ${INBOX_COLUMNS}
       FROM deliveries AS d INDEXED BY deliveries_pending JOIN messages AS m ON m.seq = d.message_seq
      WHERE d.agent_id = ? AND d.acked = 0 AND d.message_seq > ? AND d.message_seq <= ? AND d.sent_at > ?
      ORDER BY d.message_seq LIMIT ?`,
};

/** A row of INBOX_COLUMNS as an array, in their order. */
type RawRow = [number, string, string, string, string, string, string, string | null, number, string | null, string | null, number | null];

// better-sqlite3 builds a row with named columns about twice as slowly as an array (measured on a
// 1,000-message page: 2.5 → 1.6 ms for the read), so the pages come as arrays, named here.
export const named = (rows: unknown[]): InboxRow[] => (rows as RawRow[]).map((r) => ({
  seq: r[0], id: r[1], fleet_id: r[2], from_agent_id: r[3], to_agent_id: r[4], type: r[5], payload: r[6], correlation_id: r[7], sent_at: r[8], subject: r[9], thread_id: r[10], read_at: r[11],
}));

export function prepareInboxQuery(db: BetterSqlite3.Database): InboxQuery {
  const inSeqOrder = db.prepare(INBOX_SQL.inSeqOrder).raw(true);
  const countSince = db.prepare(INBOX_SQL.countSince).pluck();
  const byTime = db.prepare(INBOX_SQL.byTime).raw(true);
  const nthPending = db.prepare(INBOX_SQL.nthPending).pluck();
  const bySeq = db.prepare(INBOX_SQL.bySeq).raw(true);

  return (agentId, sinceMs, afterSeq, limit) => {
    if (sinceMs === null) return named(inSeqOrder.all(agentId, afterSeq, limit));
    const rows: InboxRow[] = [];
    let cursor = afterSeq;
    for (let budget = Math.max(FIRST_BUDGET, limit); ; budget *= 2) {
      const want = limit - rows.length;
      const matches = countSince.get(agentId, sinceMs, cursor, budget + 1) as number;
      if (matches <= budget) {
        // None is the usual poll (since=now): skip byTime, whose sorter costs more than the count.
        if (matches > 0) for (const row of named(byTime.all(agentId, sinceMs, cursor, want))) rows.push(row);
        return rows;
      }
      const end = nthPending.get(agentId, cursor, budget - 1) as number | undefined;
      for (const row of named(bySeq.all(agentId, cursor, end ?? Number.MAX_SAFE_INTEGER, sinceMs, want))) rows.push(row);
      if (rows.length >= limit || end === undefined) return rows;
      cursor = end;
    }
  };
}
