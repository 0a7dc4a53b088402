import { closeSync, fstatSync, openSync } from 'node:fs';
import { forEachEntry, isPageSize, PageSource, readAt, Unsure } from './sqlite-pages.js';
import { readWal, walTouchedSince } from './sqlite-wal.js';

/*
 * Reads what the adoption check needs from a SQLite file and its -wal with plain reads: no
 * SQLite connection, no lock, no -shm, so nothing on disk changes. A SQLite connection would
 * not do: even a read-only one writes read marks into the -shm (and creates it), and the last
 * connection to close checkpoints the WAL into the main file and deletes -wal and -shm.
 *
 * In WAL mode the main file alone may be stale: page 1 (application_id, the schema) and the
 * meshfleet_meta pages may sit in the -wal, uncheckpointed. So pages are taken from the last
 * committed frame of the WAL that holds them, as SQLite's own recovery would find them
 * (salts and cumulative checksums checked), else from the main file.
 * Format: https://www.sqlite.org/fileformat2.html
 */

/** What the adoption check needs to know of a database, however it was read. */
export interface SchemaFacts {
  /** PRAGMA application_id, as SQLite reports it (signed 32-bit). */
  applicationId: number;
  /** Rows of sqlite_schema: tables, indexes, views, triggers. */
  objectCount: number;
  /** meshfleet_meta's schema_version; undefined when that table or row is missing. */
  schemaVersion: string | undefined;
}

export type FileReading =
  | { kind: 'facts'; facts: SchemaFacts }
  | { kind: 'not_sqlite' }
  /** The file could not be read consistently (written meanwhile, damaged, or unusual). */
  | { kind: 'unsure'; reason: string };


const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const META_TABLE = 'meshfleet_meta';

export function readSchemaFacts(path: string): FileReading {
  const fd = openSync(path, 'r');
  try {
    const mainSize = fstatSync(fd).size;
    // SQLite takes an empty file for an empty database and ignores (deletes) a -wal beside it.
    if (mainSize === 0) return { kind: 'facts', facts: { applicationId: 0, objectCount: 0, schemaVersion: undefined } };
    const mainHeader = readAt(fd, 0, 100);
    // SQLite itself would read page 1 from a -wal left beside any file; a file that is not
    // SQLite is refused whatever lies beside it.
    if (!isSqliteHeader(mainHeader)) return { kind: 'not_sqlite' };
    const wal = readWal(`${path}-wal`);
    const walPage1 = wal?.pages.get(1);
    const header = walPage1 === undefined ? mainHeader : wal!.bytes.subarray(walPage1, walPage1 + 100);
    if (!isSqliteHeader(header)) return { kind: 'not_sqlite' };
    const pageSize = header.readUInt16BE(16) === 1 ? 65_536 : header.readUInt16BE(16);
    if (!isPageSize(pageSize)) return { kind: 'not_sqlite' };
    if (wal !== undefined && wal.pages.size > 0 && wal.pageSize !== pageSize) throw new Unsure('the -wal and the database disagree on the page size');
    const pages = new PageSource(fd, mainSize, pageSize, header[20]!, header.readUInt32BE(56), wal);
    const facts = readFacts(pages, header.readInt32BE(68));
    // A writer busy meanwhile may have mixed two states into what was read: in rollback-journal
    // mode every commit changes page 1; in WAL mode a checkpoint may rewrite main pages.
    if ((walPage1 === undefined && !readAt(fd, 0, 100).equals(mainHeader)) || walTouchedSince(`${path}-wal`, wal, pages.fromMain)) {
      throw new Unsure('the file changed while it was read');
    }
    return { kind: 'facts', facts };
  } catch (err) {
    if (err instanceof Unsure) return { kind: 'unsure', reason: err.message };
    throw err;
  } finally {
    closeSync(fd);
  }
}

function readFacts(pages: PageSource, applicationId: number): SchemaFacts {
  let objectCount = 0;
  let metaRoot: number | undefined;
  forEachEntry(pages, 1, (record) => {
    objectCount += 1;
    // sqlite_schema columns: type, name, tbl_name, rootpage, sql. Names compare without case.
    if (record.text(0) !== 'table' || record.byteLength(1) > 4 * META_TABLE.length) return;
    if (record.text(1)?.toLowerCase() === META_TABLE) metaRoot = record.integer(3);
  });
  let schemaVersion: string | undefined;
  if (metaRoot !== undefined && metaRoot > 0) {
    forEachEntry(pages, metaRoot, (record) => {
      if (record.byteLength(0) > 64 || record.text(0) !== 'schema_version') return;
      const value = record.value(1);
      schemaVersion = value === null ? undefined : String(value);
    });
  }
  return { applicationId, objectCount, schemaVersion };
}

function isSqliteHeader(header: Buffer): boolean {
  return header.length === 100 && header.subarray(0, 16).equals(MAGIC);
}
