// Synonyms as data: stored as symmetric pairs, so "react" finds "jsx" and "jsx" finds "react".
import { MeshError } from '../mesh/errors.js';
import type { Store } from '../store/open.js';
import { normalizeTerm } from '../store/terms.js';

export const MAX_SYNONYMS = 64;

/**
 * Makes `term` and each of `synonyms` synonyms of one another, replacing the synonyms `term` had.
 * An empty list removes the term's synonyms.
 */
export function setSynonyms(store: Store, term: string, synonyms: readonly string[]): { term: string; synonyms: string[] } {
  const head = normalizeTerm(term);
  if (head === '') throw new MeshError('invalid', 'term must not be empty.', 'Pass the word to give synonyms, e.g. "postgres".');
  const group = [...new Set(synonyms.map(normalizeTerm).filter((s) => s !== '' && s !== head))];
  if (group.length > MAX_SYNONYMS) throw new MeshError('too_large', `At most ${MAX_SYNONYMS} synonyms per term; got ${group.length}.`, 'Keep the group to words that truly mean the same.');
  store.write(() => {
    store.db.prepare('DELETE FROM synonyms WHERE term = ? OR synonym = ?').run(head, head);
    const insert = store.db.prepare('INSERT OR IGNORE INTO synonyms (term, synonym) VALUES (?, ?)');
    const members = [head, ...group];
    for (const a of members) for (const b of members) if (a !== b) insert.run(a, b);
  });
  return { term: head, synonyms: group };
}

/** Every term with its synonyms, alphabetically. */
export function listSynonyms(store: Store): Record<string, string[]> {
  const rows = store.db.prepare('SELECT term, synonym FROM synonyms ORDER BY term, synonym').all() as { term: string; synonym: string }[];
  const out: Record<string, string[]> = {};
  for (const { term, synonym } of rows) (out[term] ??= []).push(synonym);
  return out;
}
