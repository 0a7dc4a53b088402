import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/store/package-root.js';
import { openStore } from '../../src/store/open.js';
import { loadMigrations } from '../../src/store/migrator.js';
import { tempDir } from '../helpers/files.js';

const CHILD = join(packageRoot, 'test', 'helpers', 'open-store-child.mjs');
const LATEST = loadMigrations().length;

interface Opened { code: number | null; out: string; err: string }

/**
 * Starts `count` processes and lets them open the database together: each reports "at-gate"
 * once loaded, and the gate (a line on every stdin) opens only when all have reported, so none
 * is still booting when the others open.
 */
async function openAtOnce(count: number, dbPath: string, migrationsDir?: string): Promise<Opened[]> {
  const children = Array.from({ length: count }, () => {
    const child = spawn(process.execPath, [CHILD, dbPath, ...(migrationsDir ? [migrationsDir] : [])]);
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk) => { err += chunk; });
    const atGate = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        out += chunk;
        if (out.startsWith('at-gate\n')) resolve();
      });
      child.on('close', (code) => reject(new Error(`a child ended (code ${code}) before reaching the gate: ${err}`)));
    });
    const done = new Promise<Opened>((resolve) => child.on('close', (code) => resolve({ code, out: out.replace(/^at-gate\n/, ''), err })));
    return { child, atGate, done };
  });
  try {
    await Promise.all(children.map((c) => c.atGate));
  } catch (err) {
    for (const { child } of children) child.kill();
    throw err;
  }
  for (const { child } of children) child.stdin.write('go\n');
  return Promise.all(children.map((c) => c.done));
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
