// Synonyms as data: stored as symmetric pairs, so "react" finds "jsx" and "jsx" finds "react".
import { MeshError } from '../mesh/errors.js';
import { MAX_SYNONYM_PAGE, MAX_SYNONYMS, MAX_TERM_CHARS, quote } from '../mesh/limits.js';
import type { Store } from '../store/open.js';
import { normalizeTerm } from '../store/terms.js';

/**
 * Makes `term` and each of `synonyms` synonyms of one another, replacing the synonyms `term` had.
 * An empty list removes the term's synonyms. No term ends up with more than MAX_SYNONYMS
 * synonyms, counting the groups it is in through other terms, so one term's entry in
 * listSynonyms stays small.
 */
export function setSynonyms(store: Store, term: string, synonyms: readonly string[]): { term: string; synonyms: string[] } {
  const head = normalizeTerm(term);
  if (head === '') throw new MeshError('invalid', 'term must not be empty.', 'Pass the word to give synonyms, e.g. "postgres".');
  if (head.length > MAX_TERM_CHARS) {
    throw new MeshError('too_large', `term is ${head.length} characters; the limit is ${MAX_TERM_CHARS}.`, 'A term is a word or two, as a task would say it.');
  }
  if (synonyms.length > MAX_SYNONYMS) {
    throw new MeshError('too_large', `synonyms has ${synonyms.length} items; the limit is ${MAX_SYNONYMS}.`, 'Keep the group to words that truly mean the same.');
  }
  const normalized = synonyms.map(normalizeTerm);
  normalized.forEach((synonym, i) => {
    if (synonym.length > MAX_TERM_CHARS) {
      throw new MeshError('too_large', `synonyms[${i}] is ${synonym.length} characters; the limit is ${MAX_TERM_CHARS}.`, 'A synonym is a word or two, as a task would say it.');
    }
  });
  const group = [...new Set(normalized.filter((s) => s !== '' && s !== head))];
  const statements = store.synonyms;
  store.write(() => {
    statements.forget(head);
    const members = [head, ...group];
    for (const a of members) for (const b of members) if (a !== b) statements.pair(a, b);
    // A word in several groups (set through different terms) has the synonyms of all of them.
    const crowded = statements.counts(members).find((c) => c.synonyms > MAX_SYNONYMS);
    if (crowded !== undefined) {
      throw new MeshError('too_large', `${quote(crowded.term)} would have ${crowded.synonyms} synonyms, counting the other groups it is in; the limit is ${MAX_SYNONYMS}.`,
        `list_synonyms shows its groups; shrink one of them (set_synonyms on its term), or leave ${quote(crowded.term)} out of this one.`);
    }
  });
  return { term: head, synonyms: group };
}

export interface SynonymPage {
  /** Terms in alphabetical order, each with its synonyms in alphabetical order. */
  synonyms: Record<string, string[]>;
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

/**
 * A page of terms with their synonyms, alphabetically: up to `limit` terms (at most
 * MAX_SYNONYM_PAGE, the default) after the term `after`.
 */
export function listSynonyms(store: Store, page: { limit?: number; after?: string | null } = {}): SynonymPage {
  const limit = page.limit ?? MAX_SYNONYM_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SYNONYM_PAGE) {
    throw new MeshError('invalid', `limit must be a whole number from 1 to ${MAX_SYNONYM_PAGE}; got ${quote(limit)}.`, `Leave it out for ${MAX_SYNONYM_PAGE} terms per page.`);
  }
  const statements = store.synonyms;
  // One more term than asked tells whether another page follows, without an empty last page.
  const terms = statements.termsAfter(page.after ?? null, limit + 1);
  const shown = terms.slice(0, limit);
  // A Map, then fromEntries: a term such as "__proto__" becomes a key like any other.
  const byTerm = new Map<string, string[]>();
  if (shown.length > 0) {
    for (const { term, synonym } of statements.pairsBetween(shown[0]!, shown.at(-1)!)) {
      const list = byTerm.get(term);
      if (list === undefined) byTerm.set(term, [synonym]);
      else list.push(synonym);
    }
  }
  return { synonyms: Object.fromEntries(byTerm), next: terms.length > limit ? shown.at(-1)! : null };
}
