import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { StoreError } from './errors.js';
import { judgeSchema, notSqlite, readSchemaState, type SchemaState } from './migrator.js';
import { readSchemaFacts, type FileReading } from './sqlite-file.js';

export interface AdoptionOptions {
  /** Create the folder holding the database when it is missing (the default location only). */
  createParentDir: boolean;
}

const ELSEWHERE = 'or point --db or MESHFLEET_DB at another path';

/**
 * Everything decided before a SQLite connection touches `path`, because opening one may change
 * the file even when it is only read. Throws StoreError, having changed nothing, when the path
 * cannot hold a database or the file there is not one to open: not SQLite, another program's, or
 * from a newer Meshfleet. Returns the state read, or undefined when there is no file yet (its
 * folder exists, or was created as asked).
 */
export function checkBeforeOpen(path: string, latestVersion: number, options: AdoptionOptions): SchemaState | undefined {
  const stats = statOrMissing(path);
  if (stats === undefined) {
    prepareFolder(path, options.createParentDir);
    return undefined;
  }
  if (stats.isDirectory()) {
    throw new StoreError('unusable_path', `${path} is a folder, not a database file.`,
      `Point --db or MESHFLEET_DB at a file, for example ${join(path, 'mesh.db')}.`);
  }
  if (!stats.isFile()) {
    throw new StoreError('unusable_path', `${path} is not a regular file (it is a ${fileKind(stats)}).`,
      'Point --db or MESHFLEET_DB at a database file, or at a path in an existing folder where a new one may be created.');
  }
  if (!isAllowed(path, constants.R_OK)) {
    throw new StoreError('unusable_path', `${path} cannot be read: permission denied.`,
      `Give this user read and write access to it, ${ELSEWHERE}.`);
  }
  const state = inspect(path, latestVersion);
  if (!isAllowed(path, constants.W_OK)) {
    throw new StoreError('unusable_path', `${path} is read-only for this user, and Meshfleet writes to its database. Nothing was changed.`,
      `Give this user write access to it, ${ELSEWHERE}.`);
  }
  // SQLite keeps -wal and -shm beside the database and creates them when they are missing.
  const folder = dirname(path);
  if ((!existsSync(`${path}-wal`) || !existsSync(`${path}-shm`)) && !isAllowed(folder, constants.W_OK | constants.X_OK)) {
    throw new StoreError('unusable_path', `${path} cannot be opened: its folder ${folder} is not writable, and SQLite needs to create ${path}-wal and -shm beside it. Nothing was changed.`,
      `Give this user write access to ${folder}, ${ELSEWHERE}.`);
  }
  return state;
}

/** How many times a file being written meanwhile is read again before a private copy is judged. */
const READ_ATTEMPTS = 5;

function inspect(path: string, latestVersion: number): SchemaState {
  for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt += 1) {
    let reading: FileReading;
    try {
      reading = readSchemaFacts(path);
    } catch (err) {
      // The file or its -wal cannot be read (permissions, a folder named *-wal…); anything else is a bug.
      if (typeof (err as NodeJS.ErrnoException).syscall === 'string') throw pathError(path, err);
      throw err;
    }
    if (reading.kind === 'not_sqlite') throw notSqlite(path);
    if (reading.kind === 'facts') return judgeSchema(path, reading.facts, latestVersion);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5 * attempt + Math.random() * 10);
  }
  return inspectCopy(path, latestVersion);
}

/**
 * The slow way, for a file the plain reader cannot make sense of (damaged, or written all the
 * while): SQLite judges a private copy of the main file and its -wal, and only the copy is
 * touched. Our own database never comes here in normal use, so its size does not matter.
 */
function inspectCopy(path: string, latestVersion: number): SchemaState {
  const dir = mkdtempSync(join(tmpdir(), 'meshfleet-check-'));
  try {
    const copy = join(dir, 'copy.db');
    copyFileSync(path, copy);
    if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`);
    const db = new BetterSqlite3(copy, { fileMustExist: true });
    try {
      return readSchemaState(db, path, latestVersion);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function prepareFolder(path: string, create: boolean): void {
  const folder = dirname(path);
  const stats = statOrMissing(folder);
  if (stats === undefined) {
    if (!create) {
      throw new StoreError('unusable_path', `${path} cannot be created: the folder ${folder} does not exist.`,
        `Create it (mkdir -p ${folder}), ${ELSEWHERE} in an existing folder.`);
    }
    try {
      mkdirSync(folder, { recursive: true });
    } catch (err) {
      throw pathError(folder, err);
    }
    return;
  }
  if (!stats.isDirectory()) {
    throw new StoreError('unusable_path', `${path} cannot be created: ${folder} is a file, not a folder.`, `Point --db or MESHFLEET_DB at a path in a folder.`);
  }
  if (!isAllowed(folder, constants.W_OK | constants.X_OK)) {
    throw new StoreError('unusable_path', `${path} cannot be created: the folder ${folder} is not writable for this user.`,
      `Give this user write access to ${folder}, ${ELSEWHERE}.`);
  }
}

function statOrMissing(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw pathError(path, err);
  }
}

function pathError(path: string, err: unknown): StoreError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOTDIR' ? 'a part of it is a file, not a folder'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
      : code === 'EROFS' ? 'the file system is read-only'
        : (err as Error).message;
  return new StoreError('unusable_path', `${path} cannot be used: ${why}.`, `Fix the path or its permissions, ${ELSEWHERE}.`, { cause: err });
}

function isAllowed(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

function fileKind(stats: Stats): string {
  if (stats.isCharacterDevice()) return 'character device';
  if (stats.isBlockDevice()) return 'block device';
  if (stats.isFIFO()) return 'named pipe';
  if (stats.isSocket()) return 'socket';
  return 'special file';
}
