import { statSync } from 'node:fs';
import type { Store } from '../store/open.js';

export interface Health {
  status: 'ok';
  uptimeMs: number;
  database: { path: string; sizeBytes: number; walBytes: number; schemaVersion: number };
  counts: { fleets: number; fleetsRunning: number; agents: number; agentsRunning: number; messages: number; pendingDeliveries: number; templates: number };
}

const fileSize = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

export function getHealth(store: Store, startedAt: number, now: number = Date.now()): Health {
  const count = (sql: string): number => store.db.prepare(sql).pluck().get() as number;
  return {
    status: 'ok',
    uptimeMs: now - startedAt,
    database: {
      path: store.path,
      sizeBytes: fileSize(store.path),
      walBytes: fileSize(`${store.path}-wal`),
      schemaVersion: Number(store.first(store.sql.selectFrom('meshfleet_meta').select('value').where('key', '=', 'schema_version'))?.value ?? 0),
    },
    counts: {
      fleets: count('SELECT count(*) FROM fleets'),
      fleetsRunning: count("SELECT count(*) FROM fleets WHERE status = 'running'"),
      agents: count('SELECT count(*) FROM agents'),
      agentsRunning: count("SELECT count(*) FROM agents WHERE status = 'running'"),
      messages: count('SELECT count(*) FROM messages'),
      pendingDeliveries: count('SELECT count(*) FROM deliveries WHERE acked = 0'),
      templates: count('SELECT count(DISTINCT name) FROM templates'),
    },
  };
}
