// A thread's messages in send order, and one agent's pending messages of a thread. Both read the
// thread as two index lookups: its root by id (a message that starts a thread is not in
// messages_by_thread, see migration 0011) and the rest as a range of messages_by_thread.
import type BetterSqlite3 from 'better-sqlite3';
import { INBOX_COLUMNS, named, type InboxRow } from './inbox-query.js';

/** The seqs of one thread of one fleet. @thread, in fleet @fleet. */
const THREAD_SEQS = `SELECT seq FROM messages WHERE thread_id = @thread AND thread_id <> id AND fleet_id = @fleet
       UNION ALL SELECT seq FROM messages WHERE id = @thread AND thread_id = id AND fleet_id = @fleet`;

export const THREAD_SQL = {
  // A page of the thread after a seq. read_at is NULL: a thread is read by anyone of the fleet.
  messages: `SELECT ${INBOX_COLUMNS.replace('d.read_at', 'NULL AS read_at')}
       FROM messages AS m WHERE m.seq IN (${THREAD_SEQS}) AND m.seq > @after ORDER BY m.seq LIMIT @limit`,
  // get_inbox's thread filter: the agent's pending deliveries (primary key lookups) of the thread.
  inbox: `SELECT ${INBOX_COLUMNS}
       FROM messages AS m JOIN deliveries AS d ON d.message_seq = m.seq AND d.agent_id = @agent AND d.acked = 0
      WHERE m.seq IN (${THREAD_SEQS}) AND (@since IS NULL OR d.sent_at > @since) ORDER BY m.seq LIMIT @limit`,
  // What an id names, in a fleet (@fleet, or any when NULL): the thread of the message with that id,
  // else the thread of that id. A free-form correlation id may be used in several fleets.
  threadOf: `SELECT thread_id, fleet_id FROM messages WHERE id = @thread AND (@fleet IS NULL OR fleet_id = @fleet)
      UNION ALL SELECT * FROM (SELECT thread_id, fleet_id FROM messages
       WHERE thread_id = @thread AND thread_id <> id AND (@fleet IS NULL OR fleet_id = @fleet) LIMIT 1)
      LIMIT 1`,
};

export interface ThreadStatements {
  /** Messages of the thread after `afterSeq`, in send order. */
  messages(threadId: string, fleetId: string, afterSeq: number, limit: number): InboxRow[];
  /** The agent's unacknowledged messages of the thread, sent after `sinceMs` when given. */
  inbox(threadId: string, fleetId: string, agentId: string, sinceMs: number | null, limit: number): InboxRow[];
  /** The thread a message id is in, or else the thread of that id; with its fleet. */
  find(id: string, fleetId: string | null): { threadId: string; fleetId: string } | undefined;
}

export function prepareThreadStatements(db: BetterSqlite3.Database): ThreadStatements {
  const messages = db.prepare(THREAD_SQL.messages).raw(true);
  const inbox = db.prepare(THREAD_SQL.inbox).raw(true);
  const find = db.prepare(THREAD_SQL.threadOf);
  return {
    messages: (thread, fleet, after, limit) => named(messages.all({ thread, fleet, after, limit })),
    inbox: (thread, fleet, agent, since, limit) => named(inbox.all({ thread, fleet, agent, since, limit })),
    find: (id, fleetId) => {
      const row = find.get({ thread: id, fleet: fleetId }) as { thread_id: string | null; fleet_id: string } | undefined;
      return row === undefined || row.thread_id === null ? undefined : { threadId: row.thread_id, fleetId: row.fleet_id };
    },
  };
}
