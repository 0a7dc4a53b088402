// Adds messages to one fleet in a loop, one short IMMEDIATE transaction each, as a busy fleet's
// servers would, until its stdin closes. Prints "ready" after its first commit.
// Usage: node message-loop-child.mjs <db> <fleetId> <fromAgentId> <toAgentId>
import BetterSqlite3 from 'better-sqlite3';

const [dbPath, fleetId, from, to] = process.argv.slice(2);
const db = new BetterSqlite3(dbPath, { timeout: 10_000 });
const insert = db.prepare("INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, type, payload, sent_at) VALUES (?, ?, ?, ?, 'result', 'busy', ?)");
let n = 0;
const write = db.transaction(() => insert.run(`loop-${process.pid}-${n++}`, fleetId, from, to, Date.now())).immediate;
let stopping = false;
process.stdin.on('end', () => { stopping = true; });
process.stdin.resume();
function loop() {
  try {
    write();
  } catch (err) {
    // Busy past the timeout on a loaded machine: try again, as a server would.
    if (err.code !== 'SQLITE_BUSY') throw err;
  }
  if (n === 1) process.stdout.write('ready\n');
  if (stopping) {
    db.close();
    return;
  }
  setImmediate(loop);
}
loop();
