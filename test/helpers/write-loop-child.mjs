// Writes in a loop, one short IMMEDIATE transaction at a time, as an agent's server would, until
// its stdin closes. Prints "ready" after its first commit, and at the end one JSON line:
// {"writes": n, "error": null | "<code>: <message>"}.
// Usage: node write-loop-child.mjs <db>
import BetterSqlite3 from 'better-sqlite3';

const [dbPath] = process.argv.slice(2);
const db = new BetterSqlite3(dbPath, { timeout: 10_000 });
const insert = db.prepare("INSERT INTO events (kind, recorded_at) VALUES ('from-child', ?)");
const write = db.transaction(() => insert.run(Date.now())).immediate;
let writes = 0;
let error = null;
let stopping = false;
process.stdin.on('end', () => { stopping = true; });
process.stdin.resume();

function loop() {
  try {
    write();
    writes += 1;
    if (writes === 1) process.stdout.write('ready\n');
  } catch (err) {
    error = `${err.code}: ${err.message}`;
    stopping = true;
  }
  if (stopping) {
    db.close();
    process.stdout.write(`${JSON.stringify({ writes, error })}\n`);
    return;
  }
  setImmediate(loop); // let the stdin 'end' event through between writes
}
loop();
