// The floor: hand-written better-sqlite3, one prepared insert per transaction, same pragmas as
// the store (WAL, synchronous NORMAL), no schema checks, no delivery rows.
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { FLEET_ID, nextMessage, scratchDir, type BenchMessage } from '../fixtures.js';

export function rawSqlite(size: number) {
  const scratch = scratchDir();
  const db = new BetterSqlite3(join(scratch.dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE messages (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, fleet_id TEXT NOT NULL, from_agent_id TEXT NOT NULL,
           to_agent_id TEXT NOT NULL, payload TEXT NOT NULL, sent_at INTEGER NOT NULL)`);
  const insert = db.prepare('INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, payload, sent_at) VALUES (?, ?, ?, ?, ?, ?)');
  const put = (m: BenchMessage) => insert.run(m.id, FLEET_ID, m.from, m.to, m.payload, m.sentAt);
  const many = db.transaction((batch: BenchMessage[]) => { for (const m of batch) put(m); });
  many(Array.from({ length: size }, nextMessage));
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  return {
    label: 'raw better-sqlite3 (floor)',
    sendOne(m: BenchMessage): void {
      begin.run();
      put(m);
      commit.run();
    },
    sendBatch(batch: BenchMessage[]): void {
      many.immediate(batch);
    },
    dispose: () => {
      db.close();
      scratch.dispose();
    },
  };
}
