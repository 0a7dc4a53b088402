// Inserts one event at an agreed moment, waiting for the write lock as long as it must.
// Usage: node hold-write-child.mjs <db> <atEpochMs>
import BetterSqlite3 from 'better-sqlite3';

const [dbPath, at] = process.argv.slice(2);
const db = new BetterSqlite3(dbPath, { timeout: 10_000 });
while (Date.now() < Number(at)) { /* wait for the moment */ }
db.prepare("INSERT INTO events (kind, recorded_at) VALUES ('from-child', ?)").run(Date.now());
db.close();
process.stdout.write('done');
