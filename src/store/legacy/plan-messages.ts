// Messages and their deliveries. The old ledger kept one `acknowledged` flag per message and one
// inbox list per agent; each recipient's own delivery state is rebuilt from those and the receipts.
import { MAX_PAYLOAD_BYTES, MESSAGE_TYPES } from '../limits.js';
import type { MessageTable } from '../schema.js';
import { type Findings, recordLabel, requireKey } from './findings.js';
import type { Ledger, LegacyMessage } from './ledger.js';
import type { Planned } from './plan.js';

export interface PlannedDelivery {
  agent_id: string;
  acked: 0 | 1;
  read_at: number | null;
  acked_at: number | null;
}

export type PlannedMessage = Planned<Omit<MessageTable, 'seq' | 'subject' | 'thread_id'>> & { deliveries: PlannedDelivery[] };

interface InboxIndex {
  /** Agent id → the ledger's messages its inbox holds, each once. */
  heldBy: Map<string, Set<string>>;
  /** Message id → the agents whose inbox holds it. */
  holdersOf: Map<string, string[]>;
}

type ReceiptTime = (action: string, messageId: string, agentId: string) => number | null;

/** What deciding a message's deliveries reads, built once per ledger. */
interface DeliveryContext {
  ledger: Ledger;
  inboxes: InboxIndex;
  receiptTime: ReceiptTime;
  findings: Findings;
}

export function planMessages(ledger: Ledger, findings: Findings): PlannedMessage[] {
  const context: DeliveryContext = { ledger, inboxes: indexInboxes(ledger, findings), receiptTime: firstReceiptTimes(ledger), findings };
  let previous: { label: string; timestamp: number } | undefined;
  return Object.entries(ledger.messages).map(([key, message]) => {
    const label = recordLabel('messages', key);
    requireKey(label, 'id', message.id, key);
    findings.keepUnknownFields('messages', key, message);
    checkMessage(ledger, label, message, findings);
    if (previous !== undefined && message.timestamp < previous.timestamp) {
      findings.report(`${label}.timestamp`, `sent (${message.timestamp}) before the message listed ahead of it, ${previous.label} (${previous.timestamp}); imported in ledger order with its own timestamp`);
    }
    previous = { label, timestamp: message.timestamp };
    return {
      label,
      row: {
        id: key, fleet_id: message.fleet_id, from_agent_id: message.from_agent_id, to_agent_id: message.to_agent_id, type: message.type,
        payload: message.payload, correlation_id: message.correlation_id ?? null, sent_at: message.timestamp,
      },
      deliveries: planDeliveries(context, key, message, label),
    };
  });
}

/**
 * One delivery per recipient the message was addressed to, and per other agent whose inbox holds
 * it: pending while an inbox holds it, acknowledged when the flag or an ack receipt says so.
 */
function planDeliveries(context: DeliveryContext, key: string, message: LegacyMessage, label: string): PlannedDelivery[] {
  const { ledger, inboxes, receiptTime, findings } = context;
  const addressed = recipientsOf(ledger, message);
  const holders = inboxes.holdersOf.get(key) ?? [];
  const unaddressedHolders = holders.filter((holder) => !addressed.includes(holder));
  for (const holder of unaddressedHolders) {
    findings.report(label, `is in the inbox of "${holder}" but was addressed to ${message.to_agent_id === '*' ? 'others' : `"${message.to_agent_id}"`}; imported as a pending delivery to "${holder}"`);
  }
  const deliveries: PlannedDelivery[] = [];
  for (const agentId of [...addressed, ...unaddressedHolders]) {
    const readAt = receiptTime('seen', key, agentId);
    const ackedAt = receiptTime('ack', key, agentId);
    if (inboxes.heldBy.get(agentId)?.has(key)) {
      deliveries.push({ agent_id: agentId, acked: 0, read_at: readAt, acked_at: null });
    } else if (message.acknowledged === true || ackedAt !== null) {
      deliveries.push({ agent_id: agentId, acked: 1, read_at: readAt, acked_at: ackedAt });
    } else {
      findings.report(label, `not acknowledged, yet not in the inbox of "${agentId}"; no delivery to "${agentId}" was imported (the message itself was)`);
    }
  }
  return deliveries;
}

/** Who holds what, once; dangling and repeated inbox entries are reported here. */
function indexInboxes(ledger: Ledger, findings: Findings): InboxIndex {
  const heldBy = new Map<string, Set<string>>();
  for (const [agentId, messageIds] of Object.entries(ledger.inboxes)) {
    const label = recordLabel('inboxes', agentId);
    if (ledger.agents[agentId] === undefined && messageIds.length > 0) {
      findings.report(label, `agent "${agentId}" is not in the ledger; its ${messageIds.length} inbox entries were imported as they were`);
    }
    const held = new Set<string>();
    messageIds.forEach((messageId, position) => {
      const entry = `${label}[${position}]`;
      if (ledger.messages[messageId] === undefined) {
        findings.report(entry, `message "${messageId}" is not in the ledger; the entry is kept in legacy_extras (kind inbox_entry)`);
        findings.keepExtra('inbox_entry', `${agentId}:${position}`, { agent_id: agentId, message_id: messageId, position });
      } else if (held.has(messageId)) {
        findings.report(entry, `message "${messageId}" appears twice in this inbox; it is one pending delivery`);
      } else {
        held.add(messageId);
      }
    });
    heldBy.set(agentId, held);
  }
  // By message too, so a message's holders are one lookup, not a scan of every inbox.
  const holdersOf = new Map<string, string[]>();
  for (const [agentId, held] of heldBy) {
    for (const messageId of held) holdersOf.set(messageId, [...(holdersOf.get(messageId) ?? []), agentId]);
  }
  return { heldBy, holdersOf };
}

/** When each agent first took each action on each message (a ledger may repeat one). */
function firstReceiptTimes(ledger: Ledger): ReceiptTime {
  const times = new Map<string, number>();
  const keyOf = (action: string, messageId: string, agentId: string) => `${action}\u0000${messageId}\u0000${agentId}`;
  for (const receipt of Object.values(ledger.receipts)) {
    const key = keyOf(receipt.action, receipt.message_id, receipt.agent_id);
    const seen = times.get(key);
    if (seen === undefined || receipt.timestamp < seen) times.set(key, receipt.timestamp);
  }
  return (action, messageId, agentId) => times.get(keyOf(action, messageId, agentId)) ?? null;
}

/** Who a message was addressed to: its recipient, a v2 broadcast's list, or for an older
 * broadcast every other agent of its fleet, as the old server delivered it. */
function recipientsOf(ledger: Ledger, message: LegacyMessage): string[] {
  if (message.to_agent_id !== '*') return [message.to_agent_id];
  if (message.recipients !== undefined) return [...new Set(message.recipients)];
  return Object.entries(ledger.agents)
    .filter(([id, agent]) => agent.fleet_id === message.fleet_id && id !== message.from_agent_id)
    .map(([id]) => id);
}

function checkMessage(ledger: Ledger, label: string, message: LegacyMessage, findings: Findings): void {
  if (ledger.fleets[message.fleet_id] === undefined) findings.report(`${label}.fleet_id`, `fleet "${message.fleet_id}" is not in the ledger; imported as it was`);
  if (ledger.agents[message.from_agent_id] === undefined) findings.report(`${label}.from_agent_id`, `agent "${message.from_agent_id}" is not in the ledger; imported as it was`);
  if (message.to_agent_id !== '*' && ledger.agents[message.to_agent_id] === undefined) {
    findings.report(`${label}.to_agent_id`, `agent "${message.to_agent_id}" is not in the ledger; imported as it was`);
  }
  if (!(MESSAGE_TYPES as readonly string[]).includes(message.type)) {
    findings.report(`${label}.type`, `"${message.type}" is not one of ${MESSAGE_TYPES.join(', ')}; imported as it was`);
  }
  const bytes = Buffer.byteLength(message.payload, 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) findings.report(`${label}.payload`, `is ${bytes} bytes, over today's limit of ${MAX_PAYLOAD_BYTES}; imported whole`);
  message.recipients?.forEach((agentId, index) => {
    if (ledger.agents[agentId] === undefined) findings.report(`${label}.recipients[${index}]`, `agent "${agentId}" is not in the ledger; its delivery was imported as it was`);
  });
}
