// The better-sqlite3 connection behind a Store, kept out of the Store's interface on purpose: code
// above src/store reaches the database through the Store's named statement sets and kysely
// queries, so SQLite-only SQL cannot leak into the domain (DESIGN.md, "Beyond one machine").
import type BetterSqlite3 from 'better-sqlite3';
import type { Store } from './open.js';

const connections = new WeakMap<Store, BetterSqlite3.Database>();

/** For open.ts: every Store it makes is registered with its connection. */
export function registerConnection(store: Store, db: BetterSqlite3.Database): void {
  connections.set(store, db);
}

/**
 * The connection a Store runs on. Only for src/store's own modules (the legacy import builds its
 * statements per table), and for tests and benches that check what only this connection knows,
 * such as its pragmas. Tests that look at rows use a second connection on the file instead.
 */
export function connectionOf(store: Store): BetterSqlite3.Database {
  const db = connections.get(store);
  if (db === undefined) throw new Error('connectionOf() takes a Store made by openStore() or openSnapshot()');
  return db;
}
