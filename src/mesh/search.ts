// search_messages: full-text search over subjects and payloads (FTS5, bm25 ranking), filtered.
import type { Store } from '../store/open.js';
import { isBusy } from '../store/errors.js';
import { SearchSyntaxError, type SearchFilter, type SearchHitRow } from '../store/search-query.js';
import { MeshError } from './errors.js';
import { MAX_SEARCH_QUERY_CHARS, MAX_SNIPPET_CHARS, quote } from './limits.js';

export interface SearchHit {
  messageId: string;
  fleetId: string;
  fromAgentId: string;
  toAgentId: string;
  type: string;
  subject: string | null;
  threadId: string | null;
  correlationId: string | null;
  sentAt: number;
  /** The best-matching passage, matched words in [brackets]. */
  snippet: string;
  /** bm25 relevance: higher is better. */
  score: number;
}

export interface SearchOptions extends Omit<SearchFilter, 'limit'> {
  limit: number;
  /** Treat the query as plain words (each quoted), not FTS5 syntax. */
  literal: boolean;
}

const HINT = 'Use words, "quoted phrases", AND / OR / NOT, prefix* and NEAR(a b); quote anything else '
  + '("src/store/open.ts"), or pass literal: true to search the words as written.';

/** How long a search waits for another process's write lock to index the queue before reading without it. */
const INDEX_BUSY_TIMEOUT_MS = 200;

/**
 * Ranked matches, and how many newest messages were left out because the queue could not be
 * indexed (another process held the write lock): 0 almost always.
 */
export function searchMessages(store: Store, query: string, options: SearchOptions): { hits: SearchHit[]; unindexed: number } {
  if (query.length > MAX_SEARCH_QUERY_CHARS) {
    throw new MeshError('too_large', `query is ${query.length} characters; the limit is ${MAX_SEARCH_QUERY_CHARS}.`, 'Search for a few distinctive words.');
  }
  const match = options.literal ? literalQuery(query) : query;
  if (match.trim() === '') throw new MeshError('invalid', 'query is empty.', 'Pass the words to search for.');
  // A search is a read: behind another process's long write it answers from what is indexed
  // rather than wait, and says how many messages that leaves out.
  let unindexed = 0;
  try {
    store.withBusyTimeout(INDEX_BUSY_TIMEOUT_MS, () => indexPendingMessages(store, Infinity));
  } catch (err) {
    if (!isBusy(err)) throw err;
    unindexed = store.search.pendingCount();
  }
  let rows: SearchHitRow[];
  try {
    rows = store.search.query(match, { ...options });
  } catch (err) {
    if (err instanceof SearchSyntaxError) {
      throw new MeshError('invalid', `query ${quote(query)} is not valid search syntax (${err.message}).`, HINT);
    }
    throw err;
  }
  const hits = rows.map((r) => ({
    messageId: r.id, fleetId: r.fleet_id, fromAgentId: r.from_agent_id, toAgentId: r.to_agent_id, type: r.type, subject: r.subject,
    threadId: r.thread_id, correlationId: r.correlation_id, sentAt: r.sent_at,
    snippet: cut(r.snippet),
    // bm25() is lower for better matches; turned around so that people read "higher is better".
    score: -r.score,
  }));
  return { hits, unindexed };
}

/** Queued messages indexed per write transaction: about 10 ms of the write lock each. */
export const INDEX_BATCH = 2_000;

/**
 * Indexes messages waiting in the full-text queue (migration 0011), at most `max`, in batches of
 * INDEX_BATCH, each its own write. The process that owns timers calls it every tick, so the
 * index trails sends by a tick at most; search_messages calls it for everything before reading.
 * Returns how many it indexed.
 */
export function indexPendingMessages(store: Store, max = INDEX_BATCH): number {
  let indexed = 0;
  while (indexed < max && store.search.hasPending()) {
    const batch = Math.min(INDEX_BATCH, max - indexed);
    indexed += store.write(() => store.search.indexPending(batch));
  }
  return indexed;
}

/** Each whitespace-separated word as an FTS5 string ("" inside doubled): all must appear. */
export function literalQuery(query: string): string {
  return query.split(/\s+/).filter((word) => word !== '').map((word) => `"${word.replaceAll('"', '""')}"`).join(' ');
}

/** At most MAX_SNIPPET_CHARS, not splitting a surrogate pair. */
function cut(text: string): string {
  if (text.length <= MAX_SNIPPET_CHARS) return text;
  const last = text.charCodeAt(MAX_SNIPPET_CHARS - 1);
  return `${text.slice(0, last >= 0xd800 && last <= 0xdbff ? MAX_SNIPPET_CHARS - 1 : MAX_SNIPPET_CHARS)}…`;
}
