import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { endianness } from 'node:os';

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

class Unsure extends Error {}

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

// ---- WAL ----------------------------------------------------------------------------------

interface Wal {
  bytes: Buffer;
  /** Page number → offset in `bytes` of its content in the last committed frame holding it. */
  pages: Map<number, number>;
  /** 0 when the header is not valid: then no frame counts, as for SQLite. */
  pageSize: number;
  /** Just past the last committed frame; what follows was not committed when read. */
  committedEnd: number;
}

const WAL_MAGIC = 0x377f0682;
const WAL_VERSION = 3_007_000;

/** The -wal as it is now, undefined when there is none. */
function readWal(path: string): Wal | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const pages = new Map<number, number>();
  const none = { bytes, pages, pageSize: 0, committedEnd: 0 };
  if (bytes.length < 32 || (bytes.readUInt32BE(0) & ~1) >>> 0 !== WAL_MAGIC || bytes.readUInt32BE(4) !== WAL_VERSION) return none;
  const pageSize = bytes.readUInt32BE(8);
  if (!isPageSize(pageSize)) return none;
  // The magic's low bit says in which byte order the checksums read the file's 32-bit words.
  const words = wordsOf(bytes, (bytes.readUInt32BE(0) & 1) === 1);
  let sum = checksum(words, 0, 6, 0, 0);
  if (sum[0] !== bytes.readUInt32BE(24) || sum[1] !== bytes.readUInt32BE(28)) return none;
  const salts = bytes.subarray(16, 24);
  const pending = new Map<number, number>();
  const frameSize = 24 + pageSize;
  let committedEnd = 32;
  for (let at = 32; at + frameSize <= bytes.length; at += frameSize) {
    const page = bytes.readUInt32BE(at);
    if (page === 0 || !bytes.subarray(at + 8, at + 16).equals(salts)) break;
    sum = checksum(words, at / 4, 2, sum[0], sum[1]);
    sum = checksum(words, (at + 24) / 4, pageSize / 4, sum[0], sum[1]);
    if (sum[0] !== bytes.readUInt32BE(at + 16) || sum[1] !== bytes.readUInt32BE(at + 20)) break;
    pending.set(page, at + 24);
    // Frames count only up to the last commit frame (one with the database size after commit).
    if (bytes.readUInt32BE(at + 4) !== 0) {
      for (const [p, offset] of pending) pages.set(p, offset);
      pending.clear();
      committedEnd = at + frameSize;
    }
  }
  return { bytes, pages, pageSize, committedEnd };
}

/**
 * Whether pages read from the main file may have been overwritten meanwhile. Only a checkpoint
 * writes main pages in WAL mode, and it copies committed frames: those read with the -wal were
 * taken from it anyway, so look for frames committed since that hold one of those pages. A -wal
 * restarted, truncated or deleted meanwhile had its frames checkpointed: that counts as touched.
 */
function walTouchedSince(path: string, wal: Wal | undefined, mainPages: Set<number>): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return wal !== undefined && wal.bytes.length > 0;
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    const header = readAt(fd, 0, 32);
    let from = 32; // a -wal absent or invalid when read counted for nothing: all of it is new
    if (wal !== undefined && wal.pageSize > 0) {
      if (!header.equals(wal.bytes.subarray(0, 32)) || size < wal.committedEnd) return true;
      from = wal.committedEnd;
    }
    if (header.length < 32 || !isPageSize(header.readUInt32BE(8))) return false;
    const frameSize = 24 + header.readUInt32BE(8);
    const salts = header.subarray(16, 24);
    for (let at = from; at + 24 <= size; at += frameSize) {
      const frameHeader = readAt(fd, at, 24);
      if (frameHeader.length < 24 || !frameHeader.subarray(8, 16).equals(salts)) break;
      if (mainPages.has(frameHeader.readUInt32BE(0))) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** The file's bytes as 32-bit words in the given byte order (a view when it is the machine's). */
function wordsOf(bytes: Buffer, bigEndian: boolean): Uint32Array {
  const native = bigEndian === (endianness() === 'BE');
  const aligned = native && bytes.byteOffset % 4 === 0 ? bytes : Buffer.from(bytes);
  if (!native) aligned.swap32();
  return new Uint32Array(aligned.buffer, aligned.byteOffset, Math.floor(aligned.length / 4));
}

function checksum(words: Uint32Array, from: number, count: number, s0: number, s1: number): [number, number] {
  for (let i = from; i < from + count; i += 2) {
    s0 = (s0 + words[i]! + s1) >>> 0;
    s1 = (s1 + words[i + 1]! + s0) >>> 0;
  }
  return [s0, s1];
}

// ---- pages and b-trees --------------------------------------------------------------------

class PageSource {
  readonly usable: number;
  readonly encoding: BufferEncoding | 'utf16be';
  /** Pages read from the main file rather than the -wal. */
  readonly fromMain = new Set<number>();
  private readonly seen = new Set<number>();

  constructor(
    private readonly fd: number,
    private readonly mainSize: number,
    readonly pageSize: number,
    reservedBytes: number,
    textEncoding: number,
    private readonly wal: Wal | undefined,
  ) {
    this.usable = pageSize - reservedBytes;
    if (this.usable < 480) throw new Unsure('page header is damaged');
    // 0: no text stored yet, so nothing to decode either way.
    if (textEncoding > 3) throw new Unsure(`text encoding ${textEncoding} is unknown`);
    this.encoding = textEncoding === 2 ? 'utf16le' : textEncoding === 3 ? 'utf16be' : 'utf8';
  }

  /** Each b-tree page once: a page met twice means a damaged (looping) tree. */
  treePage(number: number): Buffer {
    if (this.seen.has(number)) throw new Unsure(`page ${number} is reached twice`);
    this.seen.add(number);
    return this.page(number);
  }

  page(number: number): Buffer {
    const inWal = this.wal?.pages.get(number);
    if (inWal !== undefined) return this.wal!.bytes.subarray(inWal, inWal + this.pageSize);
    const start = (number - 1) * this.pageSize;
    if (number < 1 || start + this.pageSize > this.mainSize) throw new Unsure(`page ${number} is past the end of the file`);
    this.fromMain.add(number);
    return readAt(this.fd, start, this.pageSize);
  }
}

const TABLE_INTERIOR = 5;
const TABLE_LEAF = 13;
const INDEX_INTERIOR = 2;
const INDEX_LEAF = 10;

/**
 * Calls visit with the record of every row of the b-tree at `root`: a rowid table (sqlite_schema)
 * or an index b-tree (a WITHOUT ROWID table such as meshfleet_meta, whose interior cells are rows too).
 */
function forEachEntry(pages: PageSource, root: number, visit: (record: RecordView) => void): void {
  const stack = [root];
  while (stack.length > 0) {
    const number = stack.pop()!;
    const page = pages.treePage(number);
    const start = number === 1 ? 100 : 0;
    const type = page[start]!;
    if (type !== TABLE_INTERIOR && type !== TABLE_LEAF && type !== INDEX_INTERIOR && type !== INDEX_LEAF) {
      throw new Unsure(`page ${number} is not a b-tree page`);
    }
    const interior = type === TABLE_INTERIOR || type === INDEX_INTERIOR;
    const cells = page.readUInt16BE(start + 3);
    const pointers = start + (interior ? 12 : 8);
    if (pointers + 2 * cells > pages.usable) throw new Unsure(`page ${number} is damaged`);
    if (interior) stack.push(page.readUInt32BE(start + 8));
    for (let i = 0; i < cells; i += 1) {
      let at = page.readUInt16BE(pointers + 2 * i);
      if (at < pointers || at + 4 > pages.usable) throw new Unsure(`page ${number} is damaged`);
      if (interior) {
        stack.push(page.readUInt32BE(at));
        at += 4;
      }
      if (type === TABLE_INTERIOR) continue; // a rowid key only
      const [size, afterSize] = varint(page, at);
      const payloadAt = type === TABLE_LEAF ? varint(page, afterSize)[1] : afterSize;
      const local = localPayload(size, pages.usable, type === TABLE_LEAF);
      if (payloadAt + local + (local < size ? 4 : 0) > pages.usable) throw new Unsure(`page ${number} is damaged`);
      const overflow = local < size ? page.readUInt32BE(payloadAt + local) : 0;
      visit(new RecordView(new Payload(pages, page.subarray(payloadAt, payloadAt + local), size, overflow)));
    }
  }
}

/** Bytes of a cell's payload stored on its page; the rest lives on overflow pages. */
function localPayload(size: number, usable: number, tableLeaf: boolean): number {
  const max = tableLeaf ? usable - 35 : Math.floor(((usable - 12) * 64) / 255) - 23;
  if (size <= max) return size;
  const min = Math.floor(((usable - 12) * 32) / 255) - 23;
  const k = min + ((size - min) % (usable - 4));
  return k <= max ? k : min;
}

/** A cell's payload: the part on its page, then a chain of overflow pages read only when needed. */
class Payload {
  private bytes: Buffer;

  constructor(readonly pages: PageSource, local: Buffer, readonly size: number, private nextOverflow: number) {
    this.bytes = local;
  }

  /** Bytes [start, end) of the payload; reading far past the page is left to SQLite itself. */
  slice(start: number, end: number): Buffer {
    if (end > this.size) throw new Unsure('a record is longer than its cell');
    if (end > 65_536) throw new Unsure('a record is too long to read here');
    while (this.bytes.length < end) {
      if (this.nextOverflow === 0) throw new Unsure('an overflow chain ends early');
      const page = this.pages.page(this.nextOverflow);
      this.nextOverflow = page.readUInt32BE(0);
      this.bytes = Buffer.concat([this.bytes, page.subarray(4, this.pages.usable)]);
    }
    return this.bytes.subarray(start, end);
  }
}

/** The columns of one record, decoded on demand. */
class RecordView {
  private readonly columns: { type: number; at: number; length: number }[] = [];

  constructor(private readonly payload: Payload) {
    const [headerSize] = varint(payload.slice(0, Math.min(9, payload.size)), 0);
    const header = payload.slice(0, headerSize);
    let body = headerSize;
    for (let at = varint(header, 0)[1]; at < headerSize;) {
      const [type, next] = varint(header, at);
      const length = type >= 12 ? Math.floor((type - 12) / 2) : ([0, 1, 2, 3, 4, 6, 8, 8, 0, 0] as const)[type] ?? 0;
      this.columns.push({ type, at: body, length });
      body += length;
      at = next;
    }
  }

  byteLength(index: number): number {
    return this.columns[index]?.length ?? 0;
  }

  text(index: number): string | undefined {
    const value = this.value(index);
    return typeof value === 'string' ? value : undefined;
  }

  integer(index: number): number | undefined {
    const value = this.value(index);
    return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
  }

  value(index: number): string | number | Buffer | null {
    const column = this.columns[index];
    if (column === undefined || column.type === 0) return null; // missing trailing columns are NULL
    const raw = this.payload.slice(column.at, column.at + column.length);
    switch (column.type) {
      case 1: case 2: case 3: case 4: return raw.readIntBE(0, column.length);
      case 5: return raw.readIntBE(0, 6);
      case 6: return Number(raw.readBigInt64BE(0));
      case 7: return raw.readDoubleBE(0);
      case 8: return 0;
      case 9: return 1;
      case 10: case 11: throw new Unsure('a record uses a reserved type');
      default: {
        if (column.type % 2 === 0) return raw;
        const encoding = this.payload.pages.encoding;
        if (encoding !== 'utf8' && raw.length % 2 !== 0) throw new Unsure('a UTF-16 text has an odd length');
        return encoding === 'utf16be' ? Buffer.from(raw).swap16().toString('utf16le') : raw.toString(encoding);
      }
    }
  }
}

/** SQLite's variable-length integer: 7 bits a byte, high bit set on all but the last; a ninth byte counts 8. */
function varint(bytes: Buffer, at: number): [number, number] {
  let value = 0;
  for (let i = 0; i < 9; i += 1) {
    if (at + i >= bytes.length) throw new Unsure('a record is cut short');
    const byte = bytes[at + i]!;
    if (i === 8) return [value * 256 + byte, at + 9];
    value = value * 128 + (byte & 0x7f);
    if (byte < 0x80) return [value, at + i + 1];
  }
  throw new Unsure('unreachable');
}

function isSqliteHeader(header: Buffer): boolean {
  return header.length === 100 && header.subarray(0, 16).equals(MAGIC);
}

function isPageSize(size: number): boolean {
  return size >= 512 && size <= 65_536 && (size & (size - 1)) === 0;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const n = readSync(fd, buffer, filled, length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return buffer.subarray(0, filled);
}
