// One starting mesh for every subject: a fleet of ten agents and `size` messages among them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Store } from '../src/store/open.js';

export const AGENT_IDS = Array.from({ length: 10 }, (_, i) => `agent-${i}`);
export const FLEET_ID = 'fleet-bench';
export const PAYLOAD = 'Please review the diff in src/store/open.ts and reply with findings.';

export interface BenchMessage {
  id: string;
  from: string;
  to: string;
  payload: string;
  sentAt: number;
}

let counter = 0;
/** The n-th message of the mesh: agents hand work around the ring. */
export function nextMessage(): BenchMessage {
  const n = counter++;
  return { id: `msg-${n}-${process.pid}`, from: AGENT_IDS[n % 10]!, to: AGENT_IDS[(n + 1) % 10]!, payload: PAYLOAD, sentAt: 1_700_000_000_000 + n };
}

/** A v1 ledger as the old server wrote it, holding `size` messages (every other one acknowledged). */
export function legacyLedger(size: number): Record<string, unknown> {
  const agents = Object.fromEntries(AGENT_IDS.map((id, i) => [id, {
    id, fleet_id: FLEET_ID, role: `role-${i}`, prompt: 'work', status: 'running', started_at: 1_700_000_000_000,
  }]));
  const messages: Record<string, unknown> = {};
  const inboxes: Record<string, string[]> = Object.fromEntries(AGENT_IDS.map((id) => [id, []]));
  for (let i = 0; i < size; i++) {
    const m = nextMessage();
    const acknowledged = i % 2 === 0;
    messages[m.id] = { id: m.id, from_agent_id: m.from, to_agent_id: m.to, fleet_id: FLEET_ID, type: 'handoff', payload: m.payload, timestamp: m.sentAt, acknowledged };
    if (!acknowledged) inboxes[m.to]!.push(m.id);
  }
  return {
    schema_version: 1,
    fleets: { [FLEET_ID]: { id: FLEET_ID, status: 'running', created_at: 1_700_000_000_000 } },
    agents, messages, inboxes, capabilities: {},
  };
}

export function scratchDir(): { dir: string; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'meshfleet-bench-'));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Stores `count` acknowledged messages between two agents straight through SQL (a million sends
 * through the tools would take minutes), on a second connection as a script would, then
 * checkpoints the WAL empty, as a long-running mesh would have it. A server that is still closing
 * may hold a read for a moment: retry until empty.
 */
export function bulkAcknowledgedMessages(store: Store, count: number, fleetId: string, a: string, b: string): void {
  bulkWrite(store, (db) => {
    db.prepare(`
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
        INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, type, payload, sent_at)
        SELECT 'bulk-' || i, ?, CASE i % 2 WHEN 0 THEN ? ELSE ? END, CASE i % 2 WHEN 0 THEN ? ELSE ? END, 'handoff', 'bulk message ' || i, 1700000000000 + i FROM n`)
        .run(count, fleetId, a, b, b, a);
    db.prepare("INSERT INTO deliveries (message_seq, agent_id, acked, acked_at) SELECT seq, to_agent_id, 1, sent_at FROM messages WHERE id LIKE 'bulk-%'").run();
  });
}

/** Runs `insert` in one IMMEDIATE transaction on a second connection, then checkpoints the WAL empty. */
function bulkWrite(store: Store, insert: (db: BetterSqlite3.Database) => void): void {
  const db = new BetterSqlite3(store.path, { fileMustExist: true, timeout: 10_000 });
  try {
    db.transaction(() => insert(db)).immediate();
    checkpointEmpty(db);
  } finally {
    db.close();
  }
}

/**
 * Stores `count` unacknowledged messages from `from` to `to`, each with a `payloadBytes` payload,
 * the way bulkAcknowledgedMessages does (second connection, one transaction, WAL checkpointed
 * empty). Sent long ago (sent_at from 1,700,000,000,001 ms on), so `since=now` wants none of them.
 * The message ids are `pending-<n>`, n from 1, in send order.
 */
export function bulkPendingMessages(store: Store, count: number, fleetId: string, from: string, to: string, payloadBytes = 200): void {
  bulkWrite(store, (db) => {
    db.prepare(`
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
        INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, type, payload, sent_at)
        SELECT 'pending-' || i, ?, ?, ?, 'handoff', printf('%-' || ? || 's', 'pending message ' || i), 1700000000000 + i FROM n`)
        .run(count, fleetId, from, to, payloadBytes);
    db.prepare("INSERT INTO deliveries (message_seq, agent_id) SELECT seq, to_agent_id FROM messages WHERE id LIKE 'pending-%'").run();
  });
}

function checkpointEmpty(db: BetterSqlite3.Database): void {
  for (let tries = 0; tries < 100; tries++) {
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number }[];
    if (result!.busy === 0 && result!.log === 0) return;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

/**
 * Marks every pending agent complete. The benches' agents are rows, not processes: left pending, the
 * hub a served store starts would try to run each one, loading the machine and changing their
 * status under the measurement.
 */
export function settleAgents(store: Store): void {
  bulkWrite(store, (db) => db.prepare("UPDATE agents SET status = 'complete', completed_at = ? WHERE status = 'pending'").run(Date.now()));
}
