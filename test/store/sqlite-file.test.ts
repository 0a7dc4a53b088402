import { spawn } from 'node:child_process';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMigrations, MESHFLEET_APPLICATION_ID } from '../../src/store/migrator.js';
import { openStore } from '../../src/store/open.js';
import { packageRoot } from '../../src/store/package-root.js';
import { readSchemaFacts, type SchemaFacts } from '../../src/store/sqlite-file.js';
import { tempDir } from '../helpers/files.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

/** The same facts, asked of SQLite through a connection. */
function factsBySqlite(db: BetterSqlite3.Database): SchemaFacts {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const objectCount = db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number;
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'meshfleet_meta'").get() !== undefined;
  const version = hasMeta ? db.prepare("SELECT value FROM meshfleet_meta WHERE key = 'schema_version'").pluck().get() : undefined;
  return { applicationId, objectCount, schemaVersion: version === undefined ? undefined : String(version) };
}

describe('reading a database from its files, without SQLite', () => {
  it.each([
    [512, 'UTF-8'],
    [4096, 'UTF-16le'],
    [65_536, 'UTF-16be'],
  ])('agrees with SQLite on a %i-byte-page %s file whose newest pages are in the -wal', (pageSize, encoding) => {
    const path = join(dir, 'mesh.db');
    const db = new BetterSqlite3(path);
    db.pragma(`page_size = ${pageSize}`);
    db.pragma(`encoding = '${encoding}'`);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.pragma(`application_id = ${MESHFLEET_APPLICATION_ID}`);
    // Enough objects and rows for interior pages, and names and values long enough to overflow.
    for (let i = 0; i < 300; i += 1) db.exec(`CREATE TABLE t${i}_${'x'.repeat(i % 40)} (a, b); CREATE INDEX i${i} ON t${i}_${'x'.repeat(i % 40)} (a);`);
    db.exec('CREATE TABLE meshfleet_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID');
    const insert = db.prepare('INSERT INTO meshfleet_meta (key, value) VALUES (?, ?)');
    for (let i = 0; i < 1_000; i += 1) insert.run(`k${i}${'y'.repeat(i % 200)}`, 'v'.repeat(i % 700));
    insert.run('schema_version', '3');
    try {
      expect(readSchemaFacts(path)).toEqual({ kind: 'facts', facts: factsBySqlite(db) });
      db.pragma('wal_checkpoint(PASSIVE)'); // now in both files
      db.prepare("UPDATE meshfleet_meta SET value = '9' WHERE key = 'schema_version'").run();
      expect(readSchemaFacts(path)).toEqual({ kind: 'facts', facts: factsBySqlite(db) });
      db.pragma('wal_checkpoint(TRUNCATE)'); // only in the main file
      expect(readSchemaFacts(path)).toEqual({ kind: 'facts', facts: factsBySqlite(db) });
    } finally {
      db.close();
    }
  });

  it('while another process writes and checkpoints, reads only states it committed', async () => {
    const path = join(dir, 'mesh.db');
    openStore(path).close();
    const writer = spawn(process.execPath, [join(packageRoot, 'test', 'helpers', 'version-flipper.mjs'), path, '1500']);
    let stderr = '';
    writer.stderr.on('data', (chunk) => { stderr += chunk; });
    const exited = new Promise<number | null>((resolve) => writer.on('close', resolve));
    let running = true;
    void exited.then(() => { running = false; });
    const seen = new Set<string>();
    while (running) {
      const reading = readSchemaFacts(path);
      // Unsure is allowed (the caller reads again); a wrong answer is not.
      if (reading.kind !== 'unsure') {
        expect(reading).toMatchObject({ kind: 'facts', facts: { applicationId: MESHFLEET_APPLICATION_ID } });
        seen.add((reading as { facts: SchemaFacts }).facts.schemaVersion!);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await exited, stderr).toBe(0);
    expect(seen.size).toBeGreaterThan(0);
    // The flipper writes 1-4; before its first commit the file is at the version openStore made.
    const committed = ['1', '2', '3', '4', String(loadMigrations().length)];
    expect([...seen].every((version) => committed.includes(version))).toBe(true);
  }, 60_000);
});
