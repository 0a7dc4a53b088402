import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectionOf } from '../../src/store/connection.js';
import { StoreError } from '../../src/store/errors.js';
import { loadMigrations, MESHFLEET_APPLICATION_ID } from '../../src/store/migrator.js';
import { openStore } from '../../src/store/open.js';
import { packageRoot } from '../../src/store/package-root.js';
import { runCli, sha256, tempDir } from '../helpers/files.js';

const LATEST = loadMigrations().length;
const LEDGER = join(packageRoot, 'fixtures', 'ledger-v1.json');
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
    const store = openStore(path, { createParentDir: true });
    // Most of these are settings of the store's own connection: no second connection would see them.
    const db = connectionOf(store);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(5_000);
    expect(db.pragma('application_id', { simple: true })).toBe(MESHFLEET_APPLICATION_ID);
    expect(store.first(store.sql.selectFrom('meshfleet_meta').select('value').where('key', '=', 'schema_version')))
      .toEqual({ value: String(LATEST) });
    store.close();
  });

  it('uses synchronous=FULL when asked for full durability', () => {
    const store = openStore(join(dir, 'mesh.db'), { durability: 'full' });
    expect(connectionOf(store).pragma('synchronous', { simple: true })).toBe(2); // FULL
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

  it('does not create a missing folder unless asked to', () => {
    const path = join(dir, 'typo', 'mesh.db');
    const err = refusal(() => openStore(path));
    expect(err.code).toBe('unusable_path');
    expect(err.message).toBe(`${path} cannot be created: the folder ${join(dir, 'typo')} does not exist.`);
    expect(err.hint).toContain(`mkdir -p ${join(dir, 'typo')}`);
    expect(existsSync(join(dir, 'typo'))).toBe(false);
  });

  it.each([
    ['a folder', () => { mkdirSync(join(dir, 'mesh.db')); return join(dir, 'mesh.db'); }, 'is a folder, not a database file'],
    ['/dev/null', () => '/dev/null', 'is not a regular file (it is a character device)'],
  ])('refuses %s as the database path', (_, makePath, message) => {
    const err = refusal(() => openStore(makePath()));
    expect(err.code).toBe('unusable_path');
    expect(err.message).toContain(message);
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

const SIDES = ['', '-wal', '-shm'] as const;

/** sha256 of the database, its -wal and its -shm ('absent' for a missing one). */
function fingerprint(path: string): string[] {
  return SIDES.map((side) => (existsSync(path + side) ? sha256(path + side) : 'absent'));
}

/**
 * Builds a database in WAL mode with pages left in its -wal (checkpoints off). 'live' keeps the
 * building connection open, as a program still using the file would; 'copied' leaves a copy of
 * main file, -wal and -shm taken while it was open, which no process holds: the first
 * connection to close it would checkpoint the -wal into the main file and delete both.
 */
function walDatabase(path: string, how: 'live' | 'copied', build: (db: BetterSqlite3.Database) => void): () => void {
  const livePath = how === 'live' ? path : join(dir, `building-${Math.random().toString(36).slice(2)}.db`);
  const db = new BetterSqlite3(livePath);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  build(db);
  if (how === 'live') return () => db.close();
  for (const side of SIDES) copyFileSync(livePath + side, path + side);
  db.close();
  return () => undefined;
}

/** What migrate() leaves in a fresh file, written on the given connection. */
function ourSchema(db: BetterSqlite3.Database, version = LATEST): void {
  db.pragma(`application_id = ${MESHFLEET_APPLICATION_ID}`);
  for (const migration of loadMigrations().slice(0, version)) {
    db.exec(migration.sql);
    db.prepare('INSERT INTO meshfleet_migrations (version, name, applied_at) VALUES (?, ?, 1)').run(migration.version, migration.name);
  }
  db.prepare("INSERT INTO meshfleet_meta (key, value) VALUES ('schema_version', ?)").run(String(version));
}

/** A Meshfleet database whose schema version is above this build's, as a newer Meshfleet leaves it. */
function newerMeshfleet(where: 'wal only' | 'main file marked'): (db: BetterSqlite3.Database) => void {
  return (db) => {
    ourSchema(db);
    // 'main file marked': application_id and schema are in the main file, only the new version
    // sits in the -wal; 'wal only': even page 1 of the main file still says application_id 0.
    if (where === 'main file marked') db.pragma('wal_checkpoint(TRUNCATE)');
    db.prepare("UPDATE meshfleet_meta SET value = ? WHERE key = 'schema_version'").run(String(LATEST + 1));
  };
}

const REFUSED: [string, (db: BetterSqlite3.Database) => void, string][] = [
  ['another program\'s database (application_id 0)', (db) => {
    db.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER); INSERT INTO invoices (total) VALUES (42);');
  }, 'not_meshfleet'],
  ['another program\'s database (its own application_id)', (db) => {
    db.pragma('application_id = 0x12345678');
    db.exec('CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES (\'keep me\');');
  }, 'not_meshfleet'],
  ['a newer Meshfleet\'s database, application_id still only in the -wal', newerMeshfleet('wal only'), 'too_new'],
  ['a newer Meshfleet\'s database, new version only in the -wal', newerMeshfleet('main file marked'), 'too_new'],
];

describe('our own database in WAL mode', () => {
  for (const how of ['live', 'copied'] as const) {
    it(`opens with its newest pages, application_id included, still in the -wal (${how})`, () => {
      const path = join(dir, 'mesh.db');
      const release = walDatabase(path, how, (db) => {
        ourSchema(db, LATEST - 1);
        db.prepare("INSERT INTO fleets (id, status, created_at) VALUES ('f1', 'running', 1)").run();
      });
      try {
        expect(readFileSync(path).readInt32BE(68)).toBe(0); // the main file alone says "not marked"
        const store = openStore(path);
        expect(store.all(store.sql.selectFrom('fleets').select('id'))).toEqual([{ id: 'f1' }]);
        expect(store.first(store.sql.selectFrom('meshfleet_meta').select('value').where('key', '=', 'schema_version'))).toEqual({ value: String(LATEST) });
        store.close();
      } finally {
        release();
      }
    });
  }
});

describe('a refused database in WAL mode is left byte for byte as it was, -wal and -shm included', () => {
  for (const how of ['live', 'copied'] as const) {
    it.each(REFUSED)(`%s (${how === 'live' ? 'still open in another connection' : 'copied while open'})`, (_, build, code) => {
      const path = join(dir, 'mesh.db');
      const release = walDatabase(path, how, build);
      try {
        const before = fingerprint(path);
        expect(before.filter((hash) => hash === 'absent')).toEqual([]);
        expect(refusal(() => openStore(path)).code).toBe(code);
        expect(fingerprint(path)).toEqual(before);
        for (const args of [['serve', '--db', path], ['migrate', LEDGER, '--db', path], ['migrate', LEDGER, '--db', path, '--dry-run']]) {
          const result = runCli(args);
          expect(result.code, result.stderr).toBe(1);
          expect(result.stderr).toMatch(/^meshfleet: .*Nothing was changed\.\n {2}\S.*\n$/);
          expect(fingerprint(path)).toEqual(before);
        }
      } finally {
        release();
      }
    }, 60_000);
  }

  it('a damaged Meshfleet database is refused as unreadable, and left as it was', () => {
    const path = join(dir, 'mesh.db');
    let metaRoot = 0;
    walDatabase(path, 'copied', (db) => {
      ourSchema(db);
      db.pragma('wal_checkpoint(TRUNCATE)');
      metaRoot = db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'meshfleet_meta'").pluck().get() as number;
      db.exec('CREATE TABLE later (x); INSERT INTO later VALUES (1);'); // page 1 in the -wal again
    });
    const bytes = readFileSync(path);
    bytes[(metaRoot - 1) * 4096] = 0x42; // meshfleet_meta's root page is no b-tree page any more
    writeFileSync(path, bytes);
    const before = fingerprint(path);
    const err = refusal(() => openStore(path));
    expect(err.code).toBe('unreadable');
    expect(err.message).toContain('cannot be read as a database');
    expect(fingerprint(path)).toEqual(before);
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith('meshfleet-check-'))).toEqual([]);
  });
});

describe('a file that is not SQLite', () => {
  it('is refused untouched, and no -wal or -shm appears beside it', () => {
    const path = join(dir, 'agent-mesh.json');
    writeFileSync(path, '{"fleets": {}, "agents": {}}\n');
    const before = fingerprint(path);
    expect(refusal(() => openStore(path)).code).toBe('not_sqlite');
    for (const args of [['serve', '--db', path], ['migrate', LEDGER, '--db', path]]) {
      const result = runCli(args);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^meshfleet: .*agent-mesh\.json is not a SQLite database\. Nothing was changed\.\n/);
    }
    expect(fingerprint(path)).toEqual(before);
    expect(before.slice(1)).toEqual(['absent', 'absent']);
  }, 60_000);

  it('is refused untouched even with another database\'s -wal and -shm left beside it', () => {
    // SQLite reads page 1 from a -wal beside any file, and the first connection to close would
    // checkpoint that -wal over the file: here, over someone's JSON.
    const path = join(dir, 'agent-mesh.json');
    walDatabase(path, 'copied', (db) => db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1);'));
    writeFileSync(path, '{"fleets": {}, "agents": {}}\n'.repeat(500));
    const before = fingerprint(path);
    expect(refusal(() => openStore(path)).code).toBe('not_sqlite');
    const result = runCli(['migrate', LEDGER, '--db', path]);
    expect(result.code).toBe(1);
    expect(fingerprint(path)).toEqual(before);
  }, 60_000);
});
