import { createHash } from 'node:crypto';
import type { Store } from '../store/open.js';
import type { AgentRef, InboxRow, NewMessage } from '../store/statements.js';
import { MeshError } from './errors.js';
import { recordEvent } from './events.js';
import { newId } from './ids.js';
import {
  IDEMPOTENCY_TTL_MS, MAX_BATCH_DELIVERIES, MAX_BATCH_MESSAGES, MAX_BATCH_PAYLOAD_BYTES, MAX_ID_CHARS, MAX_PAYLOAD_BYTES, MAX_REPLY_BYTES, MAX_SUBJECT_CHARS, MESSAGE_TYPES,
  quote, type MessageType,
} from './limits.js';

export { MAX_BATCH_MESSAGES, MAX_PAYLOAD_BYTES, MESSAGE_TYPES, type MessageType };
export const DEFAULT_INBOX_LIMIT = 1_000;
export const BROADCAST = '*';

export interface OutgoingMessage {
  fleetId: string;
  fromAgentId: string;
  /** An agent of the fleet, or "*" for every other agent of the fleet. */
  toAgentId: string;
  type: MessageType;
  payload: string;
  correlationId?: string | null;
  /** Optional subject: searched with the payload, and the thread's title. */
  subject?: string | null;
}

/** A pending delivery as the recipient sees it: the stored message, its send order and read time. */
export type InboxMessage = Required<NewMessage> & { seq: number; readAt: number | null };

/**
 * A send may carry an idempotency key: repeating it (same fleet, same key, within
 * IDEMPOTENCY_TTL_MS) returns the first call's answer and stores nothing new, so a client that
 * lost the reply to a committed send can safely try again.
 */
export interface SendOptions {
  idempotencyKey?: string;
}

/** Sends one message: one message row, one delivery per recipient, one transaction. */
export function sendMessage(store: Store, msg: OutgoingMessage, now: number = Date.now(), options: SendOptions = {}): { messageId: string; recipients: string[]; replayed: boolean } {
  checkContent(msg, '');
  return store.write(() => once(store, msg.fleetId, options.idempotencyKey, ['one', msg], now,
    () => insert(store, msg, now, lookup(store), '')));
}

/** Sends up to 10,000 messages in one transaction: all of them, or none. */
export function sendMessages(store: Store, messages: OutgoingMessage[], now: number = Date.now(), options: SendOptions = {}): { messageIds: string[]; replayed: boolean } {
  if (messages.length === 0) throw new MeshError('invalid', '`messages` was empty.', 'Pass at least one message.');
  if (messages.length > MAX_BATCH_MESSAGES) {
    throw new MeshError('too_large', `A batch holds at most ${MAX_BATCH_MESSAGES} messages; got ${messages.length}.`, 'Split it into several send_messages calls.');
  }
  let total = 0;
  messages.forEach((msg, index) => {
    checkContent(msg, `messages[${index}]: `);
    total += msg.payload.length;
  });
  if (total * 3 > MAX_BATCH_PAYLOAD_BYTES) {
    const bytes = messages.reduce((sum, m) => sum + Buffer.byteLength(m.payload, 'utf8'), 0);
    if (bytes > MAX_BATCH_PAYLOAD_BYTES) {
      throw new MeshError('too_large', `The batch's payloads add up to ${bytes} bytes; the limit is ${MAX_BATCH_PAYLOAD_BYTES}.`, 'Split it into several send_messages calls.');
    }
  }
  return store.write(() => once(store, messages[0]!.fleetId, options.idempotencyKey, ['batch', messages], now, () => {
    const agents = cachedLookup(store);
    let deliveries = 0;
    const messageIds = messages.map((msg, index) => {
      const sent = insert(store, msg, now, agents, `messages[${index}]: `);
      deliveries += sent.recipients.length;
      if (deliveries > MAX_BATCH_DELIVERIES) {
        throw new MeshError('too_large', `messages[${index}]: the batch would deliver more than ${MAX_BATCH_DELIVERIES} copies (a broadcast makes one per other agent); nothing was sent.`,
          'Split it into several send_messages calls, or send fewer broadcasts.');
      }
      return sent.messageId;
    });
    const fleets = [...new Set(messages.map((m) => m.fleetId))];
    for (const fleetId of fleets) {
      recordEvent(store, { kind: 'messages_sent', fleetId, data: { count: messages.filter((m) => m.fleetId === fleetId).length } }, now);
    }
    return { messageIds };
  }));
}

/** Runs `send` once per (fleet, key); a repeat returns the stored answer. Call inside a write. */
function once<T extends object>(store: Store, fleetId: string, key: string | undefined, request: unknown, now: number, send: () => T): T & { replayed: boolean } {
  if (key === undefined) return { ...send(), replayed: false };
  if (key.length === 0 || key.length > MAX_ID_CHARS) {
    throw new MeshError('invalid', `idempotency_key must be 1 to ${MAX_ID_CHARS} characters; got ${key.length}.`, 'Use a short unique string per logical send, e.g. a UUID.');
  }
  const requestSha256 = createHash('sha256').update(JSON.stringify(request)).digest('hex');
  const keys = store.sql.selectFrom('send_keys').where('fleet_id', '=', fleetId).where('idempotency_key', '=', key);
  const earlier = store.first(keys.select(['request_sha256', 'result', 'created_at']));
  if (earlier !== undefined && earlier.created_at > now - IDEMPOTENCY_TTL_MS) {
    if (earlier.request_sha256 !== requestSha256) {
      throw new MeshError('conflict', `idempotency_key ${quote(key)} was used in fleet ${quote(fleetId)} for a different send; nothing was sent.`,
        'Use a new key for a new send; repeat a key only with exactly the same messages.');
    }
    return { ...(JSON.parse(earlier.result) as T), replayed: true };
  }
  // Forget a bounded number of expired keys on the way, so the table stays small without a sweeper.
  const cutoff = now - IDEMPOTENCY_TTL_MS;
  store.run(store.sql.deleteFrom('send_keys').where((eb) => eb(eb.refTuple('fleet_id', 'idempotency_key'), 'in',
    eb.selectFrom('send_keys').select(['fleet_id', 'idempotency_key']).where('created_at', '<=', cutoff).limit(100).$asTuple('fleet_id', 'idempotency_key'))));
  if (earlier !== undefined) store.run(store.sql.deleteFrom('send_keys').where('fleet_id', '=', fleetId).where('idempotency_key', '=', key));
  const result = send();
  store.run(store.sql.insertInto('send_keys').values({
    fleet_id: fleetId, idempotency_key: key, request_sha256: requestSha256, result: JSON.stringify(result), created_at: now,
  }));
  return { ...result, replayed: false };
}

function checkContent(msg: OutgoingMessage, where: string): void {
  if (msg.subject != null && msg.subject.length > MAX_SUBJECT_CHARS) {
    throw new MeshError('too_large', `${where}subject is ${msg.subject.length} characters; the limit is ${MAX_SUBJECT_CHARS}.`, 'Use a short title; put the details in the payload.');
  }
  if (!(MESSAGE_TYPES as readonly string[]).includes(msg.type)) {
    throw new MeshError('invalid', `${where}type ${quote(msg.type)} is not a message type.`, `Use one of: ${MESSAGE_TYPES.join(', ')}.`);
  }
  // Every UTF-16 unit is at most 3 UTF-8 bytes, so short payloads need no count.
  if (msg.payload.length * 3 > MAX_PAYLOAD_BYTES) {
    const bytes = Buffer.byteLength(msg.payload, 'utf8');
    if (bytes > MAX_PAYLOAD_BYTES) {
      throw new MeshError('too_large', `${where}payload is ${bytes} bytes of UTF-8; the limit is ${MAX_PAYLOAD_BYTES}.`,
        'Send less, or write it to a file and send the path.');
    }
  }
}

export type Lookup = (agentId: string) => AgentRef | undefined;
export const lookup = (store: Store): Lookup => (agentId) => store.hot.agent(agentId);

function cachedLookup(store: Store): Lookup {
  const cache = new Map<string, AgentRef | undefined>();
  return (agentId) => {
    if (!cache.has(agentId)) cache.set(agentId, store.hot.agent(agentId));
    return cache.get(agentId);
  };
}

function insert(store: Store, msg: OutgoingMessage, now: number, agentOf: Lookup, where: string): { messageId: string; recipients: string[] } {
  requireMember(store, agentOf, msg.fleetId, msg.fromAgentId, 'from_agent_id', where);
  let recipients: string[];
  if (msg.toAgentId === BROADCAST) {
    recipients = store.hot.otherAgentIds(msg.fleetId, msg.fromAgentId);
    if (recipients.length === 0) {
      throw new MeshError('conflict', `${where}to_agent_id "*": fleet ${quote(msg.fleetId)} has no other agent to receive a broadcast.`, 'Attach an agent first, or send to a specific agent.');
    }
  } else {
    requireMember(store, agentOf, msg.fleetId, msg.toAgentId, 'to_agent_id', where);
    recipients = [msg.toAgentId];
  }
  return { messageId: writeMessage(store, msg, recipients, now), recipients };
}

/**
 * Writes a message and one pending delivery per recipient, checked by the caller already. Call
 * inside a write. Returns the message id (`messageId`, or a new one).
 */
export function writeMessage(store: Store, msg: OutgoingMessage, recipients: readonly string[], now: number, messageId: string = newId('msg')): string {
  const correlationId = msg.correlationId ?? null;
  // A reply joins the thread of the message it names; a free-form correlation id is a thread of
  // its own; anything else starts a thread (migration 0011 does the same for other writers).
  const threadId = correlationId === null ? messageId : store.hot.threadOf(correlationId, msg.fleetId) ?? correlationId;
  const messageSeq = store.hot.insertMessage({
    id: messageId, fleetId: msg.fleetId, fromAgentId: msg.fromAgentId, toAgentId: msg.toAgentId, type: msg.type,
    payload: msg.payload, correlationId, sentAt: now, subject: msg.subject ?? null, threadId,
  });
  for (const agentId of recipients) store.hot.insertDelivery({ messageSeq, agentId, acked: false, readAt: null, ackedAt: null, sentAt: now });
  return messageId;
}

export function requireMember(store: Store, agentOf: Lookup, fleetId: string, agentId: string, field: string, where: string): void {
  const agent = agentOf(agentId);
  if (agent !== undefined && agent.fleet_id === fleetId) return;
  if (store.hot.fleetStatus(fleetId) === undefined) {
    throw new MeshError('not_found', `${where}fleet_id: no fleet ${quote(fleetId)}.`, 'Use a fleet_id returned by spawn_fleet, or call list_fleets.');
  }
  if (agent === undefined) {
    throw new MeshError('not_found', `${where}${field}: no agent ${quote(agentId)}.`, `Use an agent id of fleet ${quote(fleetId)} (see fleet_status)${field === 'to_agent_id' ? ', or "*" for every other agent' : ''}.`);
  }
  throw new MeshError('refused', `${where}${field}: agent ${quote(agentId)} belongs to fleet ${quote(agent.fleet_id)}, not ${quote(fleetId)}.`,
    'Messages stay within one fleet: use an agent of the same fleet.');
}

/**
 * An agent's unacknowledged messages in send order (an index range scan), marking them read.
 * `sinceMs` keeps only messages sent strictly after it. A page stops at `limit` messages or
 * before its JSON would pass MAX_REPLY_BYTES, whichever comes first; `hasMore` says so.
 */
export function getInbox(store: Store, agentId: string, options: { sinceMs?: number; limit?: number; threadId?: string } = {}, now: number = Date.now()): { messages: InboxMessage[]; hasMore: boolean } {
  const agent = requireAgent(store, agentId);
  const limit = options.limit ?? DEFAULT_INBOX_LIMIT;
  const rows = options.threadId === undefined
    ? store.hot.inbox(agentId, options.sinceMs ?? null, 0, limit + 1)
    : store.threads.inbox(requireThread(store, options.threadId, agent.fleet_id), agent.fleet_id, agentId, options.sinceMs ?? null, limit + 1);
  const fitting = Math.min(limit, countWithinBudget(rows));
  const hasMore = rows.length > fitting;
  rows.length = fitting;
  const unread = rows.filter((row) => row.read_at === null);
  if (unread.length > 0) {
    store.write(() => { for (const row of unread) store.hot.markRead(agentId, row.seq, now); });
  }
  return { messages: rows.map(toInboxMessage), hasMore };
}

/** Pending messages of an agent after a seq, without marking them read (for push streams). */
export function pendingAfter(store: Store, agentId: string, afterSeq: number, limit: number): InboxMessage[] {
  return store.hot.inbox(agentId, null, afterSeq, limit).map(toInboxMessage);
}

export function hasPendingMessages(store: Store, agentId: string): boolean {
  return store.hot.hasPending(agentId);
}

/** Acknowledges the agent's own delivery of a message; other recipients keep theirs. */
export function ackMessage(store: Store, agentId: string, messageId: string, now: number = Date.now()): { alreadyAcknowledged: boolean } {
  return store.write(() => {
    if (store.hot.ack(agentId, messageId, now)) return { alreadyAcknowledged: false };
    const delivery = store.hot.delivery(agentId, messageId);
    if (delivery !== undefined) return { alreadyAcknowledged: true };
    requireAgent(store, agentId);
    throw new MeshError('not_found', `Message ${quote(messageId)} was not delivered to agent ${quote(agentId)}.`,
      'Acknowledge message ids from this agent\'s own get_inbox.');
  });
}

/** The thread an id names in the fleet: the thread of that message, or the thread of that id. */
export function requireThread(store: Store, id: string, fleetId: string): string {
  const found = store.threads.find(id, fleetId);
  if (found === undefined) {
    throw new MeshError('not_found', `No message or thread ${quote(id)} in fleet ${quote(fleetId)}.`,
      'Pass a message id (from get_inbox or search_messages) or a thread_id those return.');
  }
  return found.threadId;
}

export function requireAgent(store: Store, agentId: string): AgentRef {
  const agent = store.hot.agent(agentId);
  if (agent === undefined) {
    throw new MeshError('not_found', `No agent ${quote(agentId)}.`, 'Use an agent id returned by spawn_fleet or attach_agent (see fleet_status).');
  }
  return agent;
}

/** Fixed part of a message's JSON as tools return it (field names, ids, numbers), generously. */
const MESSAGE_JSON_OVERHEAD = 1_024;

/**
 * How many of the rows fit in MAX_REPLY_BYTES of JSON. A string's JSON is at most 6 bytes per
 * UTF-16 unit (a control character becomes \u00XX), so most pages are settled by that bound
 * alone; only pages near the budget pay for measuring exactly.
 */
export function countWithinBudget(rows: InboxRow[]): number {
  let bound = 0;
  let count = 0;
  for (; count < rows.length; count++) {
    const row = rows[count]!;
    bound += MESSAGE_JSON_OVERHEAD + 6 * (row.payload.length + (row.correlation_id?.length ?? 0) + row.type.length + (row.subject?.length ?? 0) + (row.thread_id?.length ?? 0));
    if (bound > MAX_REPLY_BYTES) break;
  }
  if (count === rows.length) return count;
  let exact = 0;
  for (count = 0; count < rows.length; count++) {
    const row = rows[count]!;
    exact += MESSAGE_JSON_OVERHEAD + Buffer.byteLength(JSON.stringify([row.payload, row.correlation_id, row.type, row.subject, row.thread_id]));
    if (exact > MAX_REPLY_BYTES) break;
  }
  return Math.max(count, 1); // one message always fits: its payload is at most 64 KiB
}

export const toInboxMessage = (row: InboxRow): InboxMessage => ({
  id: row.id, seq: row.seq, fleetId: row.fleet_id, fromAgentId: row.from_agent_id, toAgentId: row.to_agent_id,
  type: row.type, payload: row.payload, correlationId: row.correlation_id, sentAt: row.sent_at, readAt: row.read_at,
  subject: row.subject, threadId: row.thread_id,
});
