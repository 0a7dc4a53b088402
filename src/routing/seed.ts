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
  const isSeeded = () => store.first(store.sql.selectFrom('meshfleet_meta').select('key').where('key', '=', SEEDED)) !== undefined;
  if (isSeeded()) return false;
  const taxonomy = JSON.parse(readFileSync(join(fixturesDir, 'taxonomy.json'), 'utf8')) as unknown;
  const groups = JSON.parse(readFileSync(join(fixturesDir, 'synonyms.json'), 'utf8')) as string[][];
  return store.write(() => {
    if (isSeeded()) return false; // another process seeded it while we read the files
    // Data already there (written by a script, or a legacy tool) is the user's: keep it.
    if (store.first(store.sql.selectFrom('skills').select('id').limit(1)) === undefined) setTaxonomy(store, taxonomy);
    if (store.first(store.sql.selectFrom('synonyms').select('term').limit(1)) === undefined) {
      for (const [term, ...synonyms] of groups) setSynonyms(store, term!, synonyms);
    }
    store.run(store.sql.insertInto('meshfleet_meta').values({ key: SEEDED, value: String(Date.now()) }));
    return true;
  });
}
