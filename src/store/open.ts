import { existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import {
  type Compilable, DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler,
} from 'kysely';
import { prepareAccessStatements, type AccessStatements } from './access-sql.js';
import { checkBeforeOpen } from './adoption.js';
import { holdOpen, isOpenHere } from './open-files.js';
import { prepareCapabilityTermStatements, type CapabilityTermStatements } from './capability-terms.js';
import { prepareTaxonomyStatements, type TaxonomyStatements } from './closure-table.js';
import { registerConnection } from './connection.js';
import { StoreError } from './errors.js';
import { prepareAuditStatements, type AuditStatements } from './ledger-audit.js';
import { loadMigrations, migrate, readSchemaState, type Migration } from './migrator.js';
import { prepareRetentionStatements, type RetentionStatements } from './retention-sql.js';
import { prepareRouteIndex, type RouteIndex } from './route-index.js';
import { prepareOutcomeStatements, type OutcomeStatements } from './routing-outcomes.js';
import type { Schema } from './schema.js';
import { lazy, prepareHotStatements, type HotStatements } from './statements.js';
import { prepareSearchStatements, type SearchStatements } from './search-query.js';
import { prepareSynonymStatements, type SynonymStatements } from './synonym-pairs.js';
import { prepareTaskStatements, type TaskStatements } from './task-statements.js';
import { prepareThreadStatements, type ThreadStatements } from './thread-query.js';
import { prepareVacuumStatements, type VacuumStatements } from './vacuum.js';

export type Durability = 'normal' | 'full';

export interface OpenOptions {
  /** synchronous=NORMAL (default: a crash may lose the last commits, never corrupt) or FULL. */
  durability?: Durability;
  /** How long a statement waits for another process's write lock before failing. */
  busyTimeoutMs?: number;
  /** Migrations to apply; the package's migrations/ by default. Tests pass their own. */
  migrations?: Migration[];
  /**
   * Create the database's folder when it is missing. Only for the default location
   * (~/.meshfleet): a path the user typed with a missing folder is more likely a typo.
   */
  createParentDir?: boolean;
}

/**
 * The database as the rest of Meshfleet sees it: one connection per process, every query run on
 * it synchronously. SQL that only SQLite understands lives in src/store, behind the statement
 * sets below, each prepared on the connection the first time it is used and then kept; the rest
 * is built with `sql` and run with all/first/run. The connection itself is not exposed.
 */
export interface Store {
  readonly path: string;
  /** Builds typed queries; it never executes them (run them with all/first/run). */
  readonly sql: Kysely<Schema>;
  /** Sends, inbox reads, acks: the hot path (statements.ts). */
  readonly hot: HotStatements;
  /** What route_work reads of the routing tables, kept between calls (route-index.ts). */
  readonly routing: RouteIndex;
  readonly capabilityTerms: CapabilityTermStatements;
  readonly outcomes: OutcomeStatements;
  readonly synonyms: SynonymStatements;
  readonly taxonomy: TaxonomyStatements;
  readonly retention: RetentionStatements;
  readonly vacuum: VacuumStatements;
  /** Bearer tokens of HTTP requests and the heartbeats they write (access-sql.ts). */
  readonly access: AccessStatements;
  /** `meshfleet verify`'s reads: consistency checks and the ledger chain (ledger-audit.ts). */
  readonly audit: AuditStatements;
  /** The task board (task-statements.ts). */
  readonly tasks: TaskStatements;
  /** get_thread and get_inbox's thread filter (thread-query.ts). */
  readonly threads: ThreadStatements;
  /** search_messages over the full-text index, and its indexing queue (search-query.ts). */
  readonly search: SearchStatements;
  /** Whether a write() is running on this connection (its callback is on the stack). */
  readonly inTransaction: boolean;
  /**
   * Runs fn in one write transaction begun IMMEDIATE, so it holds the write lock from its first
   * read. fn must be synchronous (an await would commit early); throw to roll back. Nested calls
   * become savepoints.
   */
  write<T>(fn: () => T): T;
  /**
   * Runs fn's reads in one read transaction, so they all see the database as of one commit
   * (another process's commit in between lands wholly before or wholly after). Synchronous, as write.
   */
  read<T>(fn: () => T): T;
  /**
   * Runs fn with the connection's busy timeout lowered to `busyTimeoutMs`: for background work
   * (heartbeats, supervisor records) that can try again later, so that while another process
   * holds the write lock it fails fast instead of blocking every call of this process.
   */
  withBusyTimeout<T>(busyTimeoutMs: number, fn: () => T): T;
  all<R>(query: Compilable<R>): R[];
  first<R>(query: Compilable<R>): R | undefined;
  run(query: Compilable<unknown>): number;
  close(): void;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

let defaultMigrations: Migration[] | undefined;

/**
 * Opens (or creates) a Meshfleet database and brings its schema up to date. A path that cannot
 * hold a database, or a file that is not SQLite, not Meshfleet's, or from a newer Meshfleet, is
 * refused with a StoreError before any SQLite connection opens it, so nothing about it changes:
 * not the main file, nor its -wal or -shm.
 */
export function openStore(path: string, options: OpenOptions = {}): Store {
  const migrations = options.migrations ?? (defaultMigrations ??= loadMigrations());
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  // A file this process has open already passed the check, and reading it again would drop that connection's locks (open-files.ts).
  if (path !== ':memory:' && !isOpenHere(path)) checkBeforeOpen(path, migrations.length, { createParentDir: options.createParentDir ?? false });
  const db = openConnection(path, { timeout: busyTimeoutMs });
  try {
    // Again through SQLite, under its locks: the file may have changed since it was read above.
    readSchemaState(db, path, migrations.length);
    enableWal(db, busyTimeoutMs);
    db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    migrate(db, path, migrations);
    const store = wrap(path, db);
    if (path !== ':memory:') {
      const release = holdOpen(path);
      const close = store.close;
      store.close = () => {
        try {
          close();
        } finally {
          release();
        }
      };
    }
    return store;
  } catch (err) {
    db.close();
    throw asStoreError(path, err);
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
  // A dry run creates nothing, so a missing file (or folder) is an empty database to it.
  const existing = existsSync(path) ? (isOpenHere(path) || checkBeforeOpen(path, migrations.length, { createParentDir: false }) !== undefined) : false;
  if (existing) {
    // Not readonly: a readonly connection cannot open a WAL file whose -shm is gone. Only reads
    // run on it, so the database itself is not changed.
    const file = openConnection(path, { fileMustExist: true, timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
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

/**
 * Opens the database so that nothing about the file changes, for dry runs: the file itself when
 * its schema is current (opening it then writes nothing), otherwise a private copy brought up to
 * date (openSnapshot), since opening it for real would migrate it.
 */
export function openUnchanged(path: string, options: OpenOptions = {}): Store {
  const migrations = options.migrations ?? (defaultMigrations ??= loadMigrations());
  // A folder, another program's file or a newer schema is refused before SQLite touches it.
  if (!isOpenHere(path)) checkBeforeOpen(path, migrations.length, { createParentDir: false });
  const db = openConnection(path, { fileMustExist: true, timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  let current: boolean;
  try {
    const state = readSchemaState(db, path, migrations.length);
    current = state.kind === 'meshfleet' && state.version === migrations.length;
  } finally {
    db.close();
  }
  return current ? openStore(path, { ...options, migrations }) : openSnapshot(path, { ...options, migrations });
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
  // Prepared on first use: a command that never touches a table prepares nothing for it, and a
  // store opened on an older schema in a test prepares nothing that schema lacks.
  const capabilityTerms = lazy(() => prepareCapabilityTermStatements(db));
  const outcomes = lazy(() => prepareOutcomeStatements(db));
  const synonyms = lazy(() => prepareSynonymStatements(db));
  const taxonomy = lazy(() => prepareTaxonomyStatements(db));
  const retention = lazy(() => prepareRetentionStatements(db));
  const vacuum = lazy(() => prepareVacuumStatements(db));
  const access = lazy(() => prepareAccessStatements(db));
  const audit = lazy(() => prepareAuditStatements(db));
  const tasks = lazy(() => prepareTaskStatements(db));
  const threads = lazy(() => prepareThreadStatements(db));
  const search = lazy(() => prepareSearchStatements(db));
  const routing = lazy(() => prepareRouteIndex(db));
  const store: Store = {
    path,
    sql,
    hot: prepareHotStatements(db),
    get capabilityTerms() { return capabilityTerms(); },
    get outcomes() { return outcomes(); },
    get synonyms() { return synonyms(); },
    get taxonomy() { return taxonomy(); },
    get retention() { return retention(); },
    get vacuum() { return vacuum(); },
    get access() { return access(); },
    get audit() { return audit(); },
    get tasks() { return tasks(); },
    get threads() { return threads(); },
    get search() { return search(); },
    get routing() { return routing(); },
    get inTransaction() { return db.inTransaction; },
    write: <T>(fn: () => T): T => transaction.immediate(fn) as T,
    read: <T>(fn: () => T): T => transaction.deferred(fn) as T,
    withBusyTimeout: <T>(busyTimeoutMs: number, fn: () => T): T => {
      const before = db.pragma('busy_timeout', { simple: true }) as number;
      if (before <= busyTimeoutMs) return fn();
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      try {
        return fn();
      } finally {
        db.pragma(`busy_timeout = ${before}`);
      }
    },
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
  registerConnection(store, db);
  return store;
}

function openConnection(path: string, options: BetterSqlite3.Options): BetterSqlite3.Database {
  try {
    return new BetterSqlite3(path, options);
  } catch (err) {
    throw asStoreError(path, err);
  }
}

/**
 * What the checks before opening cannot foresee (a disk that is full or failing, a file system
 * that refuses locks) is still the user's to fix, not a bug: say so in one line.
 */
function asStoreError(path: string, err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  if (err instanceof StoreError || typeof code !== 'string') return err;
  if (/^SQLITE_(CANTOPEN|READONLY|PERM|IOERR|FULL|NOLFS|AUTH)/.test(code)) {
    return new StoreError('unusable_path', `${path} cannot be used: ${(err as Error).message} (${code}).`,
      'Check the disk, the file and its folder, or point --db or MESHFLEET_DB at another path.', { cause: err });
  }
  if (/^SQLITE_(CORRUPT|NOTADB)/.test(code)) {
    return new StoreError('unreadable', `${path} cannot be read as a database: ${(err as Error).message} (${code}).`,
      'Restore it from a backup, or point --db or MESHFLEET_DB at another file.', { cause: err });
  }
  return err;
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
