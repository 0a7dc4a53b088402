import { statSync } from 'node:fs';
import type { Compilable } from 'kysely';
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
  const { sql } = store;
  const rows = sql.fn.countAll<number>().as('n');
  const count = (query: Compilable<{ n: number }>): number => store.first(query)?.n ?? 0;
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
      fleets: count(sql.selectFrom('fleets').select(rows)),
      fleetsRunning: count(sql.selectFrom('fleets').select(rows).where('status', '=', 'running')),
      agents: count(sql.selectFrom('agents').select(rows)),
      agentsRunning: count(sql.selectFrom('agents').select(rows).where('status', '=', 'running')),
      messages: count(sql.selectFrom('messages').select(rows)),
      pendingDeliveries: count(sql.selectFrom('deliveries').select(rows).where('acked', '=', 0)),
      templates: count(sql.selectFrom('templates').select((eb) => eb.fn.count<number>('name').distinct().as('n'))),
    },
  };
}
