// Writes to a Meshfleet database as fast as it can, changing the schema version among 1-4,
// growing rows and the schema, and checkpointing often: a file busy in every way a reader of its
// bytes must cope with. Usage: node version-flipper.mjs <db> <writes>
import BetterSqlite3 from 'better-sqlite3';

const [dbPath, writes] = process.argv.slice(2);
const db = new BetterSqlite3(dbPath, { timeout: 10_000 });
db.pragma('wal_autocheckpoint = 20');
const insert = db.prepare('INSERT INTO events (kind, fleet_id, agent_id, data, recorded_at) VALUES (?, NULL, NULL, ?, ?)');
const setVersion = db.prepare("UPDATE meshfleet_meta SET value = ? WHERE key = 'schema_version'");
for (let i = 0; i < Number(writes); i += 1) {
  db.transaction(() => {
    insert.run('flip', 'x'.repeat((i * 997) % 6_000), i);
    setVersion.run(String(1 + (i % 4)));
    if (i % 100 === 0) db.exec(`CREATE TABLE flipper_${i} (x)`);
  }).immediate();
  if (i % 97 === 0) db.pragma('wal_checkpoint(TRUNCATE)');
}
db.close();
