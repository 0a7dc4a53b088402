// A process that opens a Meshfleet database when told to, as a server starting beside others
// would. Usage: node open-store-child.mjs <db> [migrationsDir]
// Prints "at-gate" once loaded and ready, blocks until a line arrives on stdin (the parent sends
// it only when every child is at the gate), opens the store, then prints one line of JSON.
import BetterSqlite3 from 'better-sqlite3';
import { openStore } from '../../dist/src/store/open.js';
import { loadMigrations } from '../../dist/src/store/migrator.js';
import { waitAtGate } from './gate-child.mjs';

const [dbPath, migrationsDir] = process.argv.slice(2);
const migrations = migrationsDir ? loadMigrations(migrationsDir) : undefined;

waitAtGate();
const store = openStore(dbPath, { migrations });
store.close();

// Read back through a connection of its own: what the file holds once this process opened it.
const db = new BetterSqlite3(dbPath, { readonly: true });
const version = db.prepare("SELECT value FROM meshfleet_meta WHERE key = 'schema_version'").pluck().get();
const journal = db.pragma('journal_mode', { simple: true });
db.close();
process.stdout.write(`${JSON.stringify({ pid: process.pid, version: Number(version), journal })}\n`);
