import type BetterSqlite3 from 'better-sqlite3';

export interface NewMessage {
  id: string;
  fleetId: string;
  fromAgentId: string;
  toAgentId: string;
  type: string;
  payload: string;
  correlationId: string | null;
  sentAt: number;
}

export interface NewDelivery {
  messageSeq: number;
  agentId: string;
  acked: boolean;
  readAt: number | null;
  ackedAt: number | null;
}

/**
 * Statements on the hot path, prepared once per connection and run synchronously
 * (DESIGN.md, "The write path"): building or preparing per call costs more than the insert.
 */
export interface HotStatements {
  /** Inserts one message; returns its seq (send order). */
  insertMessage(message: NewMessage): number;
  insertDelivery(delivery: NewDelivery): void;
}

export function prepareHotStatements(db: BetterSqlite3.Database): HotStatements {
  const insertMessage = db.prepare(
    `INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, type, payload, correlation_id, sent_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertDelivery = db.prepare(
    'INSERT INTO deliveries (message_seq, agent_id, acked, read_at, acked_at) VALUES (?, ?, ?, ?, ?)');
  return {
    insertMessage: (m) => Number(insertMessage.run(
      m.id, m.fleetId, m.fromAgentId, m.toAgentId, m.type, m.payload, m.correlationId, m.sentAt).lastInsertRowid),
    insertDelivery: (d) => {
      insertDelivery.run(d.messageSeq, d.agentId, d.acked ? 1 : 0, d.readAt, d.ackedAt);
    },
  };
}
