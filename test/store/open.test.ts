import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/store/errors.js';
import { loadMigrations, MESHFLEET_APPLICATION_ID } from '../../src/store/migrator.js';
import { openStore } from '../../src/store/open.js';
import { packageRoot } from '../../src/store/package-root.js';
import { runCli, sha256, tempDir } from '../helpers/files.js';

const LATEST = loadMigrations().length;
let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

function refusal(open: () => unknown): StoreError {
  try {
    open();
  } catch (err) {
    if (err instanceof StoreError) return err;
    throw err;
  }
  throw new Error('expected the database to be refused');
}

describe('openStore', () => {
  it('creates a marked database in WAL mode with the pragmas set', () => {
    const path = join(dir, 'nested', 'folder', 'mesh.db');
    const store = openStore(path);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.db.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(5_000);
    expect(store.db.pragma('application_id', { simple: true })).toBe(MESHFLEET_APPLICATION_ID);
    expect(store.first(store.sql.selectFrom('meshfleet_meta').select('value').where('key', '=', 'schema_version')))
      .toEqual({ value: String(LATEST) });
    store.close();
  });

  it('uses synchronous=FULL when asked for full durability', () => {
    const store = openStore(join(dir, 'mesh.db'), { durability: 'full' });
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    store.close();
  });

  it('keeps data across reopen and does not run migrations again', () => {
    const path = join(dir, 'mesh.db');
    const first = openStore(path);
    first.write(() => first.run(first.sql.insertInto('fleets').values({ id: 'f1', status: 'running', created_at: 1, completed_at: null, timeout_ms: null })));
    first.close();
    const second = openStore(path);
    expect(second.all(second.sql.selectFrom('fleets').select('id'))).toEqual([{ id: 'f1' }]);
    expect(second.all(second.sql.selectFrom('meshfleet_migrations').select('version'))).toHaveLength(LATEST);
    second.close();
  });

  it('rolls back a write that throws, leaving nothing behind', () => {
    const store = openStore(join(dir, 'mesh.db'));
    expect(() => store.write(() => {
      store.run(store.sql.insertInto('fleets').values({ id: 'f1', status: 'running', created_at: 1, completed_at: null, timeout_ms: null }));
      throw new Error('half way');
    })).toThrow('half way');
    expect(store.all(store.sql.selectFrom('fleets').selectAll())).toEqual([]);
    store.close();
  });

  it('refuses a SQLite file of another program and leaves it byte for byte as it was', () => {
    const path = join(dir, 'other.db');
    const other = new BetterSqlite3(path);
    other.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER); INSERT INTO invoices (total) VALUES (42);");
    other.close();
    const before = sha256(path);
    const err = refusal(() => openStore(path));
    expect(err.code).toBe('not_meshfleet');
    expect(err.message).toContain('is not a Meshfleet database');
    expect(sha256(path)).toBe(before);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('refuses a file that is not SQLite at all (a JSON ledger passed as --db)', () => {
    const path = join(dir, 'agent-mesh.json');
    writeFileSync(path, '{"fleets": {}, "agents": {}}\n');
    const before = sha256(path);
    const err = refusal(() => openStore(path));
    expect(err.code).toBe('not_sqlite');
    expect(err.hint).toContain('meshfleet migrate');
    expect(sha256(path)).toBe(before);
  });

  it('refuses a database from a newer Meshfleet without touching it', () => {
    const path = join(dir, 'mesh.db');
    openStore(path).close();
    const db = new BetterSqlite3(path);
    db.prepare("UPDATE meshfleet_meta SET value = '99' WHERE key = 'schema_version'").run();
    db.close();
    const before = sha256(path);
    const err = refusal(() => openStore(path));
    expect(err.code).toBe('too_new');
    expect(err.message).toContain('schema version 99');
    expect(err.hint).toContain('Upgrade meshfleet');
    expect(sha256(path)).toBe(before);
  });

  it('the CLI reports a refused database in one message and exits 1, without a stack trace', () => {
    const path = join(dir, 'other.db');
    const other = new BetterSqlite3(path);
    other.exec('CREATE TABLE t (x)');
    other.close();
    const result = runCli(['migrate', join(packageRoot, 'fixtures', 'ledger-v1.json'), '--db', path]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^meshfleet: .*other\.db is not a Meshfleet database/);
    expect(result.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('a read-then-write transaction holds the write lock, so another process writing meanwhile waits instead of failing it', async () => {
    const path = join(dir, 'mesh.db');
    const store = openStore(path);
    const childWritesAt = Date.now() + 1_000;
    const child = spawn(process.execPath, [join(packageRoot, 'test', 'helpers', 'hold-write-child.mjs'), path, String(childWritesAt)]);
    let childOut = '';
    child.stdout.on('data', (chunk) => { childOut += chunk; });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, childWritesAt - 300 - Date.now()));

    // Read, then write 600 ms later; the other process tries to commit in between. A deferred
    // transaction would let it, and then fail here with SQLITE_BUSY.
    store.write(() => {
      const seen = store.all(store.sql.selectFrom('events').select('id')).length;
      while (Date.now() < childWritesAt + 300) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      store.run(store.sql.insertInto('events').values({ kind: 'from-parent', fleet_id: null, agent_id: null, data: String(seen), recorded_at: 1 }));
    });
    expect(await exited).toBe(0);
    expect(childOut).toBe('done');
    // Both writes landed: the parent's first (it held the lock), then the child's.
    expect(store.all(store.sql.selectFrom('events').select('kind').orderBy('id'))).toEqual([{ kind: 'from-parent' }, { kind: 'from-child' }]);
    store.close();
  }, 20_000);
});
