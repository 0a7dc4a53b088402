// Holds the write lock of a database (BEGIN IMMEDIATE) until its stdin ends, as another
// process's long transaction would. Prints "locked" once it holds the lock.
// Usage: node hold-lock-child.mjs <db>
import BetterSqlite3 from 'better-sqlite3';

const db = new BetterSqlite3(process.argv[2], { timeout: 60_000 });
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\n');
process.stdin.resume();
process.stdin.on('end', () => {
  db.exec('COMMIT');
  db.close();
  process.stdout.write('released\n');
});
