// Looking at (or setting up) rows below the tools, on a second connection to the store's file,
// the way a person with `sqlite3` would. WAL lets it read and write beside the store's own
// connection: it sees what the store committed, and its writes wait for the store's lock like
// any other process's. Never call it inside the store's write(): that would wait on itself.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach } from 'vitest';
import { loadMigrations, type Migration } from '../../src/store/migrator.js';
import { packageRoot } from '../../src/store/package-root.js';
import { type CliResult, runCli, tempDir } from './files.js';

/** Opens a connection on the file, runs `use`, closes it. */
export function withRawDatabase<T>(path: string, use: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(path, { fileMustExist: true, timeout: 10_000 });
  try {
    db.pragma('foreign_keys = ON');
    return use(db);
  } finally {
    db.close();
  }
}

export interface RawDatabase {
  rows<R = Record<string, unknown>>(sql: string, ...params: unknown[]): R[];
  row<R = Record<string, unknown>>(sql: string, ...params: unknown[]): R | undefined;
  /** The first column of the first row. */
  value<V = unknown>(sql: string, ...params: unknown[]): V;
  /** The first column of every row. */
  values<V = unknown>(sql: string, ...params: unknown[]): V[];
  /** Runs one statement; returns the rows it changed. */
  run(sql: string, ...params: unknown[]): number;
  /** Runs several statements in one transaction. */
  exec(sql: string): void;
}

/** The file at `path` through short-lived second connections: each call opens and closes one. */
export function rawDatabase(path: string): RawDatabase {
  const on = <T>(use: (db: BetterSqlite3.Database) => T): T => withRawDatabase(path, use);
  return {
    rows: <R>(sql: string, ...params: unknown[]) => on((db) => db.prepare(sql).all(...params) as R[]),
    row: <R>(sql: string, ...params: unknown[]) => on((db) => db.prepare(sql).get(...params) as R | undefined),
    value: <V>(sql: string, ...params: unknown[]) => on((db) => db.prepare(sql).pluck().get(...params) as V),
    values: <V>(sql: string, ...params: unknown[]) => on((db) => db.prepare(sql).pluck().all(...params) as V[]),
    run: (sql, ...params) => on((db) => db.prepare(sql).run(...params).changes),
    exec: (sql) => on((db) => db.transaction(() => db.exec(sql)).immediate()),
  };
}

/** Gives each test of the file a fresh folder and a database path in it (not created); removed after. */
export function databasePerTest(take: (paths: { dir: string; db: string }) => void): void {
  let cleanup = (): void => {};
  beforeEach(() => {
    const made = tempDir();
    cleanup = made.cleanup;
    take({ dir: made.dir, db: join(made.dir, 'mesh.db') });
  });
  afterEach(() => cleanup());
}

/** `meshfleet migrate` as a user runs it. */
export function migrate(...args: string[]): CliResult {
  return runCli(['migrate', ...args]);
}

/** Rows of one query. */
export function queryDb<T = Record<string, unknown>>(dbPath: string, sql: string, ...params: unknown[]): T[] {
  return rawDatabase(dbPath).rows<T>(sql, ...params);
}

/**
 * The migrations of schema 1 to `version` only, copied into a folder under `dir`: open a store
 * with them to make a file as the release of that schema left it.
 */
export function migrationsUpTo(dir: string, version: number): Migration[] {
  const folder = join(dir, `migrations-${version}`);
  mkdirSync(folder, { recursive: true });
  for (const m of loadMigrations().slice(0, version)) copyFileSync(join(packageRoot, 'migrations', m.name), join(folder, m.name));
  return loadMigrations(folder);
}
