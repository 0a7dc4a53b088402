// The -wal of a SQLite file, read with plain reads: which pages its committed frames hold.
// Format: https://www.sqlite.org/fileformat2.html#the_write_ahead_log
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { isPageSize, readAt } from './sqlite-pages.js';

export interface Wal {
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
export function readWal(path: string): Wal | undefined {
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
export function walTouchedSince(path: string, wal: Wal | undefined, mainPages: Set<number>): boolean {
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
