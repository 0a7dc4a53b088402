// search_messages' query: FTS5 over subjects and payloads (migration 0011), ranked by bm25 with a
// subject match worth twice a payload match, then filtered by fleet, sender, recipient and time.
// The MATCH is the only constraint the index can use, so the filters are checked on the joined
// message row of each match (a primary-key lookup).
import type BetterSqlite3 from 'better-sqlite3';

export interface SearchFilter {
  fleetId: string | null;
  fromAgentId: string | null;
  /** A recipient: the message's to_agent_id, or one of its deliveries (a broadcast's). */
  toAgentId: string | null;
  /** Strictly after, epoch ms. */
  sinceMs: number | null;
  limit: number;
}

export interface SearchHitRow {
  seq: number;
  id: string;
  fleet_id: string;
  from_agent_id: string;
  to_agent_id: string;
  type: string;
  subject: string | null;
  thread_id: string | null;
  correlation_id: string | null;
  sent_at: number;
  snippet: string;
  score: number;
}

/** The query text was not FTS5 syntax; `detail` is SQLite's own words. */
export class SearchSyntaxError extends Error {
  override name = 'SearchSyntaxError';
}

/** Marks around matched words in snippets, and the ellipsis where text was cut. */
export const SNIPPET_MARKS = { open: '[', close: ']', cut: '…' };
/** Words around the match in a snippet (FTS5's limit is 64). */
const SNIPPET_TOKENS = 24;

export const SEARCH_SQL = `SELECT m.seq, m.id, m.fleet_id, m.from_agent_id, m.to_agent_id, m.type, m.subject, m.thread_id, m.correlation_id, m.sent_at,
       snippet(messages_fts, -1, '${SNIPPET_MARKS.open}', '${SNIPPET_MARKS.close}', '${SNIPPET_MARKS.cut}', ${SNIPPET_TOKENS}) AS snippet,
       bm25(messages_fts, 2.0, 1.0) AS score
  FROM messages_fts JOIN messages AS m ON m.seq = messages_fts.rowid
 WHERE messages_fts MATCH @match
   AND (@fleet IS NULL OR m.fleet_id = @fleet)
   AND (@sender IS NULL OR m.from_agent_id = @sender)
   AND (@recipient IS NULL OR m.to_agent_id = @recipient OR EXISTS (SELECT 1 FROM deliveries AS d WHERE d.message_seq = m.seq AND d.agent_id = @recipient))
   AND (@since IS NULL OR m.sent_at > @since)
 ORDER BY score, m.seq
 LIMIT @limit`;

export interface SearchStatements {
  /** Ranked matches; a query FTS5 cannot parse throws SearchSyntaxError. */
  query(match: string, filter: SearchFilter): SearchHitRow[];
  /** Whether messages wait to be indexed (migration 0011's queue). */
  hasPending(): boolean;
  pendingCount(): number;
  /** Indexes up to `max` queued messages, oldest first, as one batch. Call inside a write. */
  indexPending(max: number): number;
}

// The queue's oldest `max` seqs are indexed, then removed from it; both statements read the same
// rows because they run in one write transaction.
const INDEX_PENDING = `INSERT INTO messages_fts (rowid, subject, payload)
  SELECT m.seq, m.subject, m.payload FROM messages_fts_pending AS p JOIN messages AS m ON m.seq = p.seq ORDER BY p.seq LIMIT ?`;
const UNQUEUE = 'DELETE FROM messages_fts_pending WHERE seq IN (SELECT seq FROM messages_fts_pending ORDER BY seq LIMIT ?)';

export function prepareSearchStatements(db: BetterSqlite3.Database): SearchStatements {
  const search = db.prepare(SEARCH_SQL);
  const hasPending = db.prepare('SELECT 1 FROM messages_fts_pending LIMIT 1').pluck();
  const pendingCount = db.prepare('SELECT count(*) FROM messages_fts_pending').pluck();
  const index = db.prepare(INDEX_PENDING);
  const unqueue = db.prepare(UNQUEUE);
  return {
    hasPending: () => hasPending.get() !== undefined,
    pendingCount: () => pendingCount.get() as number,
    indexPending: (max) => {
      index.run(max);
      return unqueue.run(max).changes;
    },
    query: (match, f) => runSearch(search, match, f),
  };
}

function runSearch(search: BetterSqlite3.Statement, match: string, f: SearchFilter): SearchHitRow[] {
  try {
    return search.all({ match, fleet: f.fleetId, sender: f.fromAgentId, recipient: f.toAgentId, since: f.sinceMs, limit: f.limit }) as SearchHitRow[];
  } catch (err) {
    // FTS5 parses the query when the statement runs, and every complaint of its parser is a
    // plain SQLITE_ERROR ("fts5: syntax error near ...", "unterminated string", "no such
    // column: x" for a column filter, "unknown special query: ..."). The statement itself was
    // prepared above, so an SQLITE_ERROR here is the query's; busy, corrupt and the like carry
    // other codes and stay errors of ours.
    if ((err as { code?: unknown }).code === 'SQLITE_ERROR') {
      throw new SearchSyntaxError((err as Error).message.replace(/^fts5: /, ''), { cause: err });
    }
    throw err;
  }
}
