import type BetterSqlite3 from 'better-sqlite3';
import { prepareInboxQuery, type InboxRow } from './inbox-query.js';
import { prepareChainStatements } from './ledger-chain.js';
import type { AgentStatus, FleetStatus } from './schema.js';

export type { InboxRow };

export interface NewMessage {
  id: string;
  fleetId: string;
  fromAgentId: string;
  toAgentId: string;
  type: string;
  payload: string;
  correlationId: string | null;
  sentAt: number;
  subject?: string | null;
  /** Left out, the database works it out from correlation_id (migration 0011's trigger). */
  threadId?: string | null;
}

export interface NewDelivery {
  messageSeq: number;
  agentId: string;
  acked: boolean;
  readAt: number | null;
  ackedAt: number | null;
  /** The message's sent_at; omitted, the database copies it from the message (migration 0005). */
  sentAt?: number;
}

export interface AgentRef {
  id: string;
  fleet_id: string;
  status: AgentStatus;
}

/** Makes a value on the first call and returns that same value from then on. */
export const lazy = <T>(make: () => T): (() => T) => {
  let made: T | undefined;
  return () => (made ??= make());
};

/**
 * Statements on the hot path, prepared once per connection and run synchronously
 * (DESIGN.md, "The write path"): building or preparing per call costs more than the work.
 */
export interface HotStatements {
  /** Inserts one message and its link of the ledger chain; returns its seq (send order). */
  insertMessage(message: NewMessage): number;
  insertDelivery(delivery: NewDelivery): void;
  agent(agentId: string): AgentRef | undefined;
  /** The thread of a message of the fleet: what a reply to it joins. */
  threadOf(messageId: string, fleetId: string): string | undefined;
  fleetStatus(fleetId: string): FleetStatus | undefined;
  /** Every agent of the fleet but one, in id order: a broadcast's recipients. */
  otherAgentIds(fleetId: string, exceptAgentId: string): string[];
  /**
   * Unacknowledged deliveries of one agent after `afterSeq`, in send order; with `sinceMs`, only
   * those sent strictly after it (inbox-query.ts).
   */
  inbox(agentId: string, sinceMs: number | null, afterSeq: number, limit: number): InboxRow[];
  hasPending(agentId: string): boolean;
  markRead(agentId: string, messageSeq: number, readAt: number): void;
  /** Acknowledges one delivery; returns false when it was not pending. */
  ack(agentId: string, messageId: string, ackedAt: number): boolean;
  /** The delivery of a message to an agent, pending or not. */
  delivery(agentId: string, messageId: string): { acked: 0 | 1 } | undefined;
  /** Inserts one event and its link of the ledger chain. */
  insertEvent(kind: string, fleetId: string | null, agentId: string | null, data: string | null, recordedAt: number): void;
  /** Changes whenever another connection commits (PRAGMA data_version): cheap, no disk read. */
  dataVersion(): number;
}

export function prepareHotStatements(db: BetterSqlite3.Database): HotStatements {
  // Each is prepared on first use, then kept: a store opened on an older schema in a test, or
  // a command that never sends, prepares nothing it does not run.
  const insertMessage = lazy(() => db.prepare(
    `INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, type, payload, correlation_id, sent_at, subject, thread_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`));
  const insertDelivery = lazy(() => db.prepare(
    'INSERT INTO deliveries (message_seq, agent_id, acked, read_at, acked_at, sent_at) VALUES (?, ?, ?, ?, ?, ?)'));
  const agent = lazy(() => db.prepare('SELECT id, fleet_id, status FROM agents WHERE id = ?'));
  const threadOf = lazy(() => db.prepare('SELECT thread_id FROM messages WHERE id = ? AND fleet_id = ?').pluck());
  const fleetStatus = lazy(() => db.prepare('SELECT status FROM fleets WHERE id = ?').pluck());
  const otherAgentIds = lazy(() => db.prepare('SELECT id FROM agents WHERE fleet_id = ? AND id <> ? ORDER BY id').pluck());
  const inbox = lazy(() => prepareInboxQuery(db));
  const hasPending = lazy(() => db.prepare('SELECT 1 FROM deliveries WHERE agent_id = ? AND acked = 0 LIMIT 1').pluck());
  const markRead = lazy(() => db.prepare('UPDATE deliveries SET read_at = ? WHERE message_seq = ? AND agent_id = ? AND read_at IS NULL'));
  const ack = lazy(() => db.prepare(
    `UPDATE deliveries SET acked = 1, acked_at = ?
      WHERE message_seq = (SELECT seq FROM messages WHERE id = ?) AND agent_id = ? AND acked = 0`));
  const delivery = lazy(() => db.prepare(
    'SELECT acked FROM deliveries WHERE message_seq = (SELECT seq FROM messages WHERE id = ?) AND agent_id = ?'));
  const insertEvent = lazy(() => db.prepare('INSERT INTO events (kind, fleet_id, agent_id, data, recorded_at) VALUES (?, ?, ?, ?, ?)'));
  const dataVersion = lazy(() => db.prepare('PRAGMA data_version').pluck());
  const chain = lazy(() => prepareChainStatements(db));
  // A row and its link commit together; the link reads the chain's end, so it must hold the write
  // lock from that read on. Callers are inside store.write(); one that is not gets its own.
  const inWrite = <T>(fn: () => T): T => (db.inTransaction ? fn() : db.transaction(fn).immediate());
  return {
    insertMessage: (m) => inWrite(() => {
      const seq = Number(insertMessage().run(
        m.id, m.fleetId, m.fromAgentId, m.toAgentId, m.type, m.payload, m.correlationId, m.sentAt, m.subject ?? null, m.threadId ?? null).lastInsertRowid);
      // thread_id is derived (a trigger fills it for other writers), so only the subject is chained.
      chain().append('messages', seq, m.fleetId,
        [seq, m.id, m.fleetId, m.fromAgentId, m.toAgentId, m.type, m.payload, m.correlationId, m.sentAt, m.subject ?? null]);
      return seq;
    }),
    insertDelivery: (d) => {
      insertDelivery().run(d.messageSeq, d.agentId, d.acked ? 1 : 0, d.readAt, d.ackedAt, d.sentAt ?? null);
    },
    agent: (agentId) => agent().get(agentId) as AgentRef | undefined,
    threadOf: (messageId, fleetId) => (threadOf().get(messageId, fleetId) as string | null | undefined) ?? undefined,
    fleetStatus: (fleetId) => fleetStatus().get(fleetId) as FleetStatus | undefined,
    otherAgentIds: (fleetId, exceptAgentId) => otherAgentIds().all(fleetId, exceptAgentId) as string[],
    inbox: (agentId, sinceMs, afterSeq, limit) => inbox()(agentId, sinceMs, afterSeq, limit),
    hasPending: (agentId) => hasPending().get(agentId) !== undefined,
    markRead: (agentId, messageSeq, readAt) => {
      markRead().run(readAt, messageSeq, agentId);
    },
    ack: (agentId, messageId, ackedAt) => ack().run(ackedAt, messageId, agentId).changes === 1,
    delivery: (agentId, messageId) => delivery().get(messageId, agentId) as { acked: 0 | 1 } | undefined,
    insertEvent: (kind, fleetId, agentId, data, recordedAt) => inWrite(() => {
      const id = Number(insertEvent().run(kind, fleetId, agentId, data, recordedAt).lastInsertRowid);
      chain().append('events', id, fleetId, [id, kind, fleetId, agentId, data, recordedAt]);
    }),
    dataVersion: () => dataVersion().get() as number,
  };
}
