import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  type Compilable, DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler,
} from 'kysely';
import { loadMigrations, migrate, readSchemaState, type Migration } from './migrator.js';
import type { Schema } from './schema.js';
import { prepareHotStatements, type HotStatements } from './statements.js';

export type Durability = 'normal' | 'full';

export interface OpenOptions {
  /** synchronous=NORMAL (default: a crash may lose the last commits, never corrupt) or FULL. */
  durability?: Durability;
  /** How long a statement waits for another process's write lock before failing. */
  busyTimeoutMs?: number;
  /** Migrations to apply; the package's migrations/ by default. Tests pass their own. */
  migrations?: Migration[];
}

export interface Store {
  readonly path: string;
  /** The one connection of this process. Every query runs on it, synchronously. */
  readonly db: BetterSqlite3.Database;
  /** Builds typed queries; it never executes them (run them with all/first/run). */
  readonly sql: Kysely<Schema>;
  readonly hot: HotStatements;
  /**
   * Runs fn in one write transaction begun IMMEDIATE, so it holds the write lock from its first
   * read. fn must be synchronous (an await would commit early); throw to roll back. Nested calls
   * become savepoints.
   */
  write<T>(fn: () => T): T;
  all<R>(query: Compilable<R>): R[];
  first<R>(query: Compilable<R>): R | undefined;
  run(query: Compilable<unknown>): number;
  close(): void;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

let defaultMigrations: Migration[] | undefined;

/**
 * Opens (or creates) a Meshfleet database and brings its schema up to date. A file that is not
 * SQLite, not Meshfleet's, or from a newer Meshfleet is refused with a StoreError before anything
 * is written to it.
 */
export function openStore(path: string, options: OpenOptions = {}): Store {
  const migrations = options.migrations ?? (defaultMigrations ??= loadMigrations());
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (path !== ':memory:' && !existsSync(dirname(path))) mkdirSync(dirname(path), { recursive: true });
  const db = new BetterSqlite3(path, { timeout: busyTimeoutMs });
  try {
    readSchemaState(db, path, migrations.length); // refuse foreign or newer files before any write
    enableWal(db, busyTimeoutMs);
    db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    migrate(db, path, migrations);
    return wrap(path, db);
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Opens a private in-memory copy of the database at `path` (or an empty one when there is no
 * file), with its schema brought up to date in the copy only. For dry runs: whatever is done to
 * the copy never reaches the file.
 */
export function openSnapshot(path: string, options: OpenOptions = {}): Store {
  const migrations = options.migrations ?? (defaultMigrations ??= loadMigrations());
  let db: BetterSqlite3.Database;
  if (existsSync(path)) {
    // Not readonly: a readonly connection cannot open a WAL file whose -shm is gone. Only reads
    // run on it, so the database itself is not changed.
    const file = new BetterSqlite3(path, { fileMustExist: true, timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    try {
      readSchemaState(file, path, migrations.length);
      const image = file.serialize();
      // Header bytes 18-19 say "WAL"; an in-memory copy cannot use a WAL, and SQLite refuses to
      // read such an image (SQLITE_CANTOPEN) unless it is marked as a rollback-journal file.
      if (image.length >= 20) image[18] = image[19] = 1;
      db = new BetterSqlite3(image);
    } finally {
      file.close();
    }
  } else {
    db = new BetterSqlite3(':memory:');
  }
  db.pragma('foreign_keys = ON');
  migrate(db, path, migrations);
  return wrap(path, db);
}

function wrap(path: string, db: BetterSqlite3.Database): Store {
  const transaction = db.transaction((fn: () => unknown) => fn());
  const sql = new Kysely<Schema>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (k) => new SqliteIntrospector(k),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  });
  const prepare = (query: Compilable<unknown>) => {
    const compiled = query.compile();
    return { statement: db.prepare(compiled.sql), parameters: compiled.parameters as unknown[] };
  };
  return {
    path,
    db,
    sql,
    hot: prepareHotStatements(db),
    write: <T>(fn: () => T): T => transaction.immediate(fn) as T,
    all: <R>(query: Compilable<R>): R[] => {
      const { statement, parameters } = prepare(query);
      return statement.all(...parameters) as R[];
    },
    first: <R>(query: Compilable<R>): R | undefined => {
      const { statement, parameters } = prepare(query);
      return statement.get(...parameters) as R | undefined;
    },
    run: (query: Compilable<unknown>): number => {
      const { statement, parameters } = prepare(query);
      return statement.run(...parameters).changes;
    },
    close: () => db.close(),
  };
}

/**
 * Switching to WAL needs a moment of exclusive access. When several processes open a fresh file
 * at once, SQLite may answer SQLITE_BUSY here without consulting the busy handler, so retry
 * until the busy timeout runs out.
 */
function enableWal(db: BetterSqlite3.Database, busyTimeoutMs: number): void {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5 + Math.random() * 20);
    }
  }
}
