// The synonyms table (migration 0001): symmetric (term, synonym) pairs, primary key (term, synonym).
import type BetterSqlite3 from 'better-sqlite3';

export interface SynonymStatements {
  /** Removes every pair `term` is in, either side. */
  forget(term: string): void;
  /** Adds a pair one way (callers add both); an existing pair stays. */
  pair(term: string, synonym: string): void;
  /** How many synonyms each of `terms` has; only terms that have any. */
  counts(terms: readonly string[]): { term: string; synonyms: number }[];
  /** Up to `limit` distinct terms after `after` (all terms when null), in order. */
  termsAfter(after: string | null, limit: number): string[];
  /** Every pair whose term lies in [first, last], ordered by term then synonym. */
  pairsBetween(first: string, last: string): { term: string; synonym: string }[];
}

/** The synonym statements of one connection (the Store prepares them on first use, once). */
export function prepareSynonymStatements(db: BetterSqlite3.Database): SynonymStatements {
  const forget = db.prepare('DELETE FROM synonyms WHERE term = ? OR synonym = ?');
  const pair = db.prepare('INSERT OR IGNORE INTO synonyms (term, synonym) VALUES (?, ?)');
  // Each term is a range of the primary key.
  const counts = db.prepare(
    'SELECT term, count(*) AS synonyms FROM synonyms WHERE term IN (SELECT value FROM json_each(?)) GROUP BY term');
  // DISTINCT over the primary key's leading column, in its order: a range scan, no sort.
  const firstTerms = db.prepare('SELECT DISTINCT term FROM synonyms ORDER BY term LIMIT ?').pluck();
  const termsAfter = db.prepare('SELECT DISTINCT term FROM synonyms WHERE term > ? ORDER BY term LIMIT ?').pluck();
  const pairsBetween = db.prepare('SELECT term, synonym FROM synonyms WHERE term BETWEEN ? AND ? ORDER BY term, synonym');
  return {
    forget: (term) => {
      forget.run(term, term);
    },
    pair: (term, synonym) => {
      pair.run(term, synonym);
    },
    counts: (terms) => counts.all(JSON.stringify(terms)) as { term: string; synonyms: number }[],
    termsAfter: (after, limit) => (after === null ? firstTerms.all(limit) : termsAfter.all(after, limit)) as string[],
    pairsBetween: (first, last) => pairsBetween.all(first, last) as { term: string; synonym: string }[],
  };
}
