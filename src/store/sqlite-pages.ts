// Pages of a SQLite file (from its -wal when a committed frame holds them, else from the main
// file), its b-trees and records, read with plain reads. Format: https://www.sqlite.org/fileformat2.html
import { readSync } from 'node:fs';
import type { Wal } from './sqlite-wal.js';

/** What was read may mix two states of a file another process is writing: read again. */
export class Unsure extends Error {}

export class PageSource {
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
export function forEachEntry(pages: PageSource, root: number, visit: (record: RecordView) => void): void {
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
export class RecordView {
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

export function isPageSize(size: number): boolean {
  return size >= 512 && size <= 65_536 && (size & (size - 1)) === 0;
}

export function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const n = readSync(fd, buffer, filled, length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return buffer.subarray(0, filled);
}

