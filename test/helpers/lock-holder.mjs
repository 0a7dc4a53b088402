// Holds the database's write lock until its stdin closes; says "locked" once it has it.
// Usage: node lock-holder.mjs <db>
import BetterSqlite3 from 'better-sqlite3';

const db = new BetterSqlite3(process.argv[2], { timeout: 10_000 });
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\n');
process.stdin.resume();
process.stdin.on('end', () => {
  db.exec('ROLLBACK');
  db.close();
  process.exit(0);
});
