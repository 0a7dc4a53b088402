import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/store/package-root.js';
import { openStore } from '../../src/store/open.js';
import { loadMigrations } from '../../src/store/migrator.js';
import { tempDir } from '../helpers/files.js';
import { runAtGate, type GatedRun } from '../helpers/gate.js';

const CHILD = join(packageRoot, 'test', 'helpers', 'open-store-child.mjs');
const LATEST = loadMigrations().length;

/** Starts `count` processes that open the database together (test/helpers/gate.ts). */
function openAtOnce(count: number, dbPath: string, migrationsDir?: string): Promise<GatedRun[]> {
  return runAtGate(Array.from({ length: count }, () => [CHILD, dbPath, ...(migrationsDir ? [migrationsDir] : [])]));
}

describe('eight processes opening one database at the same moment', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('all come up on a fresh file, and the schema is created exactly once', async () => {
    const dbPath = join(dir, 'mesh.db');
    const results = await openAtOnce(8, dbPath);
    for (const r of results) {
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ version: LATEST, journal: 'wal' });
    }
    const db = new BetterSqlite3(dbPath, { readonly: true });
    expect(db.prepare('SELECT version FROM meshfleet_migrations ORDER BY version').pluck().all()).toEqual(Array.from({ length: LATEST }, (_, i) => i + 1));
    db.close();
  });

  it('all come up on an older file, and the pending migration runs exactly once', async () => {
    const migrations = join(dir, 'migrations');
    mkdirSync(migrations);
    for (const file of readdirSync(join(packageRoot, 'migrations'))) copyFileSync(join(packageRoot, 'migrations', file), join(migrations, file));
    const dbPath = join(dir, 'mesh.db');
    openStore(dbPath, { migrations: loadMigrations(migrations) }).close(); // an install of today's schema

    // A next release adds a table and a row; run twice, the CREATE fails and the row doubles.
    writeFileSync(join(migrations, `${String(LATEST + 1).padStart(4, '0')}-test-notes.sql`),
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL) STRICT;\nINSERT INTO notes (body) VALUES ('added by 0002');\n");
    const results = await openAtOnce(8, dbPath, migrations);
    for (const r of results) {
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ version: LATEST + 1 });
    }
    const db = new BetterSqlite3(dbPath, { readonly: true });
    expect(db.prepare('SELECT version FROM meshfleet_migrations ORDER BY version').pluck().all()).toEqual(Array.from({ length: LATEST + 1 }, (_, i) => i + 1));
    expect(db.prepare('SELECT body FROM notes').pluck().all()).toEqual(['added by 0002']);
    db.close();
  });
});
