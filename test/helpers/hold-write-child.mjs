// Inserts one event as soon as it can, after the parent says "go" on stdin.
// Usage: node hold-write-child.mjs <db>
import BetterSqlite3 from 'better-sqlite3';

const db = new BetterSqlite3(process.argv[2], { timeout: 10_000 });
process.stdin.once('data', () => {
  db.prepare("INSERT INTO events (kind, recorded_at) VALUES ('from-child', ?)").run(Date.now());
  db.close();
  process.stdout.write('done');
});
process.stdout.write('ready');
