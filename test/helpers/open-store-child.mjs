// A process that opens a Meshfleet database at an agreed moment, as a server starting beside
// others would. Usage: node open-store-child.mjs <db> <startAtEpochMs> [migrationsDir]
import { connectionOf } from '../../dist/src/store/connection.js';
import { openStore } from '../../dist/src/store/open.js';
import { loadMigrations } from '../../dist/src/store/migrator.js';

const [dbPath, startAt, migrationsDir] = process.argv.slice(2);
const migrations = migrationsDir ? loadMigrations(migrationsDir) : undefined;
while (Date.now() < Number(startAt)) { /* everyone leaves the gate together */ }
const store = openStore(dbPath, { migrations });
const version = store.first(store.sql.selectFrom('meshfleet_meta').select('value').where('key', '=', 'schema_version'))?.value;
const journal = connectionOf(store).pragma('journal_mode', { simple: true });
store.close();
process.stdout.write(JSON.stringify({ pid: process.pid, version: Number(version), journal }));
