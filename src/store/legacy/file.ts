import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LedgerError } from './ledger.js';

export interface LedgerFile {
  path: string;
  text: string;
  sha256: string;
}

/** Reads a ledger file; it is only ever read, never written. */
export function readLedgerFile(path: string): LedgerFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'there is no such file' : code === 'EISDIR' ? 'it is a folder' : `it cannot be read (${code ?? 'unknown error'})`;
    throw new LedgerError('', `cannot import ${path}: ${why}.`, 'Pass the path of an agent-mesh JSON ledger (usually ~/.config/opencode/agent-mesh.json).');
  }
  return { path, text: bytes.toString('utf8'), sha256: createHash('sha256').update(bytes).digest('hex') };
}
