// Receipts: what an agent did with a message beyond its delivery (seen, started, done, ...).
// One row per (message, agent, action), in the receipts table legacy v2 ledgers were imported
// into, so their receipts read the same way.
import type { Store } from '../store/open.js';
import { MeshError } from './errors.js';
import { MAX_NOTE_CHARS, MAX_RECEIPT_ACTION_CHARS, quote } from './limits.js';
import { requireAgent } from './messages.js';

/** A short label: letters or digits first, then also space . _ : - */
const ACTION = /^[\p{L}\p{N}][\p{L}\p{N} ._:-]*$/u;

export interface Receipt {
  messageId: string;
  agentId: string;
  action: string;
  note: string | null;
  recordedAt: number;
}

/**
 * Records that the agent did `action` with a message of its fleet. Idempotent: the same
 * (message, agent, action) again changes nothing and returns the first receipt.
 */
export function recordReceipt(store: Store, agentId: string, messageId: string, action: string, note: string | null, now: number = Date.now()): { receipt: Receipt; alreadyRecorded: boolean } {
  if (action.length === 0 || action.length > MAX_RECEIPT_ACTION_CHARS || !ACTION.test(action)) {
    throw new MeshError('invalid', `action ${quote(action)} must be 1 to ${MAX_RECEIPT_ACTION_CHARS} characters: letters or digits, then also space . _ : -.`, 'Use a short label such as "seen", "started" or "done".');
  }
  if (action === 'ack') throw new MeshError('invalid', 'action "ack" is what ack_message records.', 'Call ack_message to acknowledge; use receipt for other actions ("seen", "started", "done").');
  if (note !== null && note.length > MAX_NOTE_CHARS) {
    throw new MeshError('too_large', `note is ${note.length} characters; the limit is ${MAX_NOTE_CHARS}.`, 'Keep the note short; send details as a message.');
  }
  return store.write(() => {
    const agent = requireAgent(store, agentId);
    requireMessage(store, messageId, agent.fleet_id);
    const inserted = store.run(store.sql.insertInto('receipts')
      .values({ message_id: messageId, agent_id: agentId, action, note, recorded_at: now })
      .onConflict((oc) => oc.doNothing()));
    const row = store.first(store.sql.selectFrom('receipts').selectAll()
      .where('message_id', '=', messageId).where('agent_id', '=', agentId).where('action', '=', action))!;
    return { receipt: toReceipt(row), alreadyRecorded: inserted === 0 };
  });
}

/**
 * A message's receipts, oldest first, a page at a time. `fleetId` (an agent's own) limits it to
 * messages of that fleet; without it (the operator) receipts of a message the database no longer
 * holds (a legacy ledger's dangling ones) are listed too.
 */
export function getReceipts(store: Store, messageId: string, fleetId: string | null, offset: number, limit: number): { receipts: Receipt[]; hasMore: boolean } {
  const message = store.first(store.sql.selectFrom('messages').select('fleet_id').where('id', '=', messageId));
  if (fleetId !== null || message === undefined) requireMessage(store, messageId, fleetId, true);
  const rows = store.all(store.sql.selectFrom('receipts').selectAll().where('message_id', '=', messageId)
    .orderBy('recorded_at').orderBy('agent_id').orderBy('action').offset(offset).limit(limit + 1));
  return { receipts: rows.slice(0, limit).map(toReceipt), hasMore: rows.length > limit };
}

function requireMessage(store: Store, messageId: string, fleetId: string | null, receiptsWillDo = false): void {
  const message = store.first(store.sql.selectFrom('messages').select('fleet_id').where('id', '=', messageId));
  if (message !== undefined && (fleetId === null || message.fleet_id === fleetId)) return;
  if (message === undefined && fleetId === null && receiptsWillDo) {
    const any = store.first(store.sql.selectFrom('receipts').select('message_id').where('message_id', '=', messageId).limit(1));
    if (any !== undefined) return;
  }
  throw new MeshError('not_found', `No message ${quote(messageId)}${fleetId === null ? '' : ` in fleet ${quote(fleetId)}`}.`,
    'Pass a message id of your fleet (from get_inbox, get_thread or search_messages).');
}

const toReceipt = (r: { message_id: string; agent_id: string; action: string; note: string | null; recorded_at: number }): Receipt => ({
  messageId: r.message_id, agentId: r.agent_id, action: r.action, note: r.note, recordedAt: r.recorded_at,
});
