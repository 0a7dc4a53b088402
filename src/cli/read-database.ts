import { existsSync } from 'node:fs';
import { MeshError } from '../mesh/errors.js';
import { openUnchanged, type Store } from '../store/open.js';
import type { Context } from './context.js';

/**
 * The database for a command that only looks (inspect, dashboard): it must exist, since looking
 * never creates one. The file itself when its schema is current (opening it then writes nothing);
 * an older schema is read from a private copy brought up to date, so looking never migrates.
 */
export function openForReading(ctx: Context, dbFlag: string | undefined, command: string): Store {
  const dbPath = ctx.config.database(dbFlag).path;
  if (!existsSync(dbPath)) {
    throw new MeshError('not_found', `No database at ${dbPath}; ${command} never creates one.`,
      'Pass --db PATH, or set MESHFLEET_DB, to an existing Meshfleet database (`meshfleet demo` makes one to look at).');
  }
  return openUnchanged(dbPath);
}
