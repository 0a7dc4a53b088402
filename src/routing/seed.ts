import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/open.js';
import { packageRoot } from '../store/package-root.js';
import { setSynonyms } from './synonyms.js';
import { setTaxonomy } from './taxonomy.js';

const SEEDED = 'routing_seeded';

/**
 * Gives a database the default taxonomy and synonyms (fixtures/taxonomy.json, synonyms.json)
 * once, the first time a server opens it, where the tables are still empty. A user's later
 * edits, even emptying them, stay.
 */
export function seedRoutingDefaults(store: Store, fixturesDir: string = join(packageRoot, 'fixtures')): boolean {
  const isSeeded = () => store.db.prepare('SELECT 1 FROM meshfleet_meta WHERE key = ?').get(SEEDED) !== undefined;
  if (isSeeded()) return false;
  const taxonomy = JSON.parse(readFileSync(join(fixturesDir, 'taxonomy.json'), 'utf8')) as unknown;
  const groups = JSON.parse(readFileSync(join(fixturesDir, 'synonyms.json'), 'utf8')) as string[][];
  return store.write(() => {
    if (isSeeded()) return false; // another process seeded it while we read the files
    const isEmpty = (table: 'skills' | 'synonyms') => store.db.prepare(`SELECT 1 FROM ${table} LIMIT 1`).get() === undefined;
    // Data already there (written by a script, or a legacy tool) is the user's: keep it.
    if (isEmpty('skills')) setTaxonomy(store, taxonomy);
    if (isEmpty('synonyms')) for (const [term, ...synonyms] of groups) setSynonyms(store, term!, synonyms);
    store.db.prepare('INSERT INTO meshfleet_meta (key, value) VALUES (?, ?)').run(SEEDED, String(Date.now()));
    return true;
  });
}
