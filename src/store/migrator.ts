import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { deriveCapabilityTermsIfAsked } from './capability-terms.js';
import { StoreError } from './errors.js';
import { packageRoot } from './package-root.js';
import type { SchemaFacts } from './sqlite-file.js';

/** "MSHF": marks a SQLite file as Meshfleet's (PRAGMA application_id). */
export const MESHFLEET_APPLICATION_ID = 0x4d534846;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export type SchemaState = { kind: 'empty' } | { kind: 'meshfleet'; version: number };

const MIGRATION_FILE = /^(\d{4})-([a-z0-9-]+)\.sql$/;

/** Reads migrations/NNNN-slug.sql in order; numbering must run 1, 2, 3… without gaps. */
export function loadMigrations(dir: string = join(packageRoot, 'migrations')): Migration[] {
  const migrations = readdirSync(dir)
    .map((file) => ({ file, match: MIGRATION_FILE.exec(file) }))
    .filter((entry): entry is { file: string; match: RegExpExecArray } => entry.match !== null)
    .map(({ file, match }) => ({ version: Number(match[1]), name: file, sql: readFileSync(join(dir, file), 'utf8') }))
    .sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migrations in ${dir} must be numbered 1, 2, 3… without gaps; found ${migration.name} at position ${index + 1}`);
    }
  });
  return migrations;
}

/**
 * What the file holds, read without writing anything. Throws StoreError for a file that is not
 * SQLite or not Meshfleet's, or whose schema is newer than `latestVersion`.
 */
export function readSchemaState(db: BetterSqlite3.Database, path: string, latestVersion: number): SchemaState {
  // One read transaction (a savepoint inside the migrator's), so every read below sees the same
  // snapshot even while another process commits the schema between two of them.
  return db.transaction(() => readSchemaSnapshot(db, path, latestVersion))();
}

function readSchemaSnapshot(db: BetterSqlite3.Database, path: string, latestVersion: number): SchemaState {
  let facts: SchemaFacts;
  try {
    facts = readFacts(db);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_NOTADB') throw notSqlite(path, err);
    throw new StoreError('unreadable', `${path} cannot be read as a database (${code ?? 'unknown error'}).`,
      'Check that the file is readable and whole; restore it from a backup, or point --db or MESHFLEET_DB at another file.', { cause: err });
  }
  return judgeSchema(path, facts, latestVersion);
}

function readFacts(db: BetterSqlite3.Database): SchemaFacts {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const objectCount = (db.prepare('SELECT count(*) AS n FROM sqlite_schema').get() as { n: number }).n;
  if (applicationId !== MESHFLEET_APPLICATION_ID) return { applicationId, objectCount, schemaVersion: undefined };
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meshfleet_meta'").get() !== undefined;
  const row = hasMeta
    ? (db.prepare("SELECT value FROM meshfleet_meta WHERE key = 'schema_version'").get() as { value: unknown } | undefined)
    : undefined;
  return { applicationId, objectCount, schemaVersion: row === undefined || row.value === null ? undefined : String(row.value) };
}

export function notSqlite(path: string, cause?: unknown): StoreError {
  return new StoreError('not_sqlite', `${path} is not a SQLite database. Nothing was changed.`,
    'Point --db or MESHFLEET_DB at a Meshfleet database, or at a path where a new one may be created. (A legacy JSON ledger is imported with `meshfleet migrate <ledger.json>`.)', { cause });
}

/**
 * Decides from what a file holds, however it was read (by SQLite, or from the bytes on disk):
 * empty (ours to claim), Meshfleet's at a version this build can open, or refused.
 */
export function judgeSchema(path: string, facts: SchemaFacts, latestVersion: number): SchemaState {
  const { applicationId, objectCount, schemaVersion } = facts;
  if (applicationId === 0 && objectCount === 0) return { kind: 'empty' };
  if (applicationId !== MESHFLEET_APPLICATION_ID) {
    throw new StoreError('not_meshfleet',
      `${path} is not a Meshfleet database: it is a SQLite file of another program (application_id ${applicationId}, ${objectCount} schema objects). Nothing was changed.`,
      'Point --db or MESHFLEET_DB at a Meshfleet database, or at a path where a new one may be created.');
  }
  if (schemaVersion === undefined) {
    throw new StoreError('not_meshfleet',
      `${path} carries Meshfleet's mark but has no schema version in meshfleet_meta. Nothing was changed.`,
      'The file was altered outside Meshfleet; restore it from a backup or point --db at a new file.');
  }
  const version = Number(schemaVersion);
  if (!Number.isInteger(version) || version < 1) {
    throw new StoreError('not_meshfleet',
      `${path} carries Meshfleet's mark but its schema version is ${JSON.stringify(schemaVersion)}, not a version number. Nothing was changed.`,
      'The file was altered outside Meshfleet; restore it from a backup or point --db at a new file.');
  }
  if (version > latestVersion) {
    throw new StoreError('too_new',
      `${path} has schema version ${version}, written by a newer Meshfleet; this build knows up to version ${latestVersion}. Nothing was changed.`,
      'Upgrade meshfleet (npm install -g meshfleet@latest) to open this database.');
  }
  return { kind: 'meshfleet', version };
}

/**
 * Applies pending migrations in one IMMEDIATE transaction. Many processes may open one file at
 * the same moment: each takes the write lock in turn and re-reads the version once it holds it,
 * so every migration runs exactly once and the others find nothing left to do.
 */
export function migrate(db: BetterSqlite3.Database, path: string, migrations: Migration[], now: number = Date.now()): number[] {
  const latest = migrations.length;
  const before = readSchemaState(db, path, latest);
  if (before.kind === 'meshfleet' && before.version === latest) return [];

  db.exec('BEGIN IMMEDIATE');
  try {
    const state = readSchemaState(db, path, latest);
    const current = state.kind === 'empty' ? 0 : state.version;
    if (state.kind === 'empty') db.pragma(`application_id = ${MESHFLEET_APPLICATION_ID}`);
    const applied: number[] = [];
    for (const migration of migrations.slice(current)) {
      db.exec(migration.sql);
      db.prepare('INSERT INTO meshfleet_migrations (version, name, applied_at) VALUES (?, ?, ?)')
        .run(migration.version, migration.name, now);
      applied.push(migration.version);
    }
    deriveCapabilityTermsIfAsked(db);
    if (applied.length > 0) {
      const upsert = db.prepare(
        'INSERT INTO meshfleet_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
      upsert.run('schema_version', String(latest));
      if (current === 0) upsert.run('created_at', String(now));
    }
    db.exec('COMMIT');
    return applied;
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
}
