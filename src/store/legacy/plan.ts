// Turns a validated ledger into the rows to insert, and lists what is odd but legal history.
// Pure: no database. Nothing is dropped or "fixed" silently: every oddity is an anomaly.
import { MAX_PAYLOAD_BYTES, MESSAGE_TYPES } from '../limits.js';
import type {
  AgentTable, CapabilityTable, FleetTable, LegacyExtraTable, MessageTable, ReceiptTable,
  TemplateAgentTable, TemplateTable,
} from '../schema.js';
import {
  KNOWN_FIELDS, LedgerError, type Ledger, type LedgerVersion, type LegacyMessage,
} from './ledger.js';


export interface Anomaly {
  /** The record, as in the ledger: inboxes["a1"][0], agents["a2"].completed_at */
  record: string;
  problem: string;
}

export interface PlannedDelivery {
  agent_id: string;
  acked: 0 | 1;
  read_at: number | null;
  acked_at: number | null;
}

export interface Planned<Row> {
  label: string;
  row: Row;
}

export interface ImportPlan {
  version: LedgerVersion;
  fleets: Planned<FleetTable>[];
  agents: Planned<Omit<AgentTable, 'retry_count' | 'attempts' | 'profile'> & { retry_count: number; attempts: number }>[];
  messages: (Planned<Omit<MessageTable, 'seq'>> & { deliveries: PlannedDelivery[] })[];
  capabilities: (Planned<CapabilityTable> & { skills: string[] })[];
  templates: (Planned<TemplateTable> & { seats: Omit<TemplateAgentTable, 'template_name' | 'template_version' | 'profile'>[] })[];
  receipts: Planned<ReceiptTable>[];
  extras: LegacyExtraTable[];
  anomalies: Anomaly[];
}

const KEY_HINT = 'Every record is keyed by its own id in agent-mesh ledgers; fix the key or the field in a copy of the ledger. Nothing was imported.';

export function planImport(ledger: Ledger): ImportPlan {
  const anomalies: Anomaly[] = [];
  const note = (record: string, problem: string) => anomalies.push({ record, problem });
  const extras: LegacyExtraTable[] = [];
  const keep = (kind: keyof typeof KNOWN_FIELDS, key: string, record: object) => {
    const unknown = Object.entries(record).filter(([field]) => !KNOWN_FIELDS[kind].has(field));
    if (unknown.length > 0) extras.push({ kind: `${kind}.fields`, record_key: key, body: JSON.stringify(Object.fromEntries(unknown)) });
  };

  keep('ledger', '', ledger.extraFields);
  for (const record of ledger.unstorableText) {
    note(record, 'holds an unpaired UTF-16 surrogate (a \\ud800-\\udfff escape), which UTF-8 cannot store; it was imported as U+FFFD');
  }

  const fleets = Object.entries(ledger.fleets).map(([key, f]) => {
    const label = `fleets[${JSON.stringify(key)}]`;
    requireKey(label, 'id', f.id, key);
    keep('fleets', key, f);
    if (f.completed_at != null && f.completed_at < f.created_at) {
      note(`${label}.completed_at`, `completed (${f.completed_at}) before it was created (${f.created_at}); imported as it was`);
    }
    return { label, row: { id: key, status: f.status, created_at: f.created_at, completed_at: f.completed_at ?? null, timeout_ms: f.timeout_ms ?? null } };
  });

  const agents = Object.entries(ledger.agents).map(([key, a]) => {
    const label = `agents[${JSON.stringify(key)}]`;
    requireKey(label, 'id', a.id, key);
    keep('agents', key, a);
    const fleet = ledger.fleets[a.fleet_id];
    if (fleet === undefined) note(`${label}.fleet_id`, `fleet "${a.fleet_id}" is not in the ledger; imported as it was`);
    if (a.started_at != null && a.completed_at != null && a.completed_at < a.started_at) {
      note(`${label}.completed_at`, `completed (${a.completed_at}) before it started (${a.started_at}); imported as it was`);
    }
    if (fleet !== undefined && a.started_at != null && a.started_at < fleet.created_at) {
      note(`${label}.started_at`, `started (${a.started_at}) before its fleet was created (${fleet.created_at}); imported as it was`);
    }
    return {
      label,
      row: {
        id: key, fleet_id: a.fleet_id, role: a.role, prompt: a.prompt, agent_file: a.agent_file ?? null,
        status: a.status, pid: a.pid ?? null, retry_count: a.retry_count ?? 0, output: a.output ?? null,
        error: a.error ?? null, created_at: null, started_at: a.started_at ?? null, completed_at: a.completed_at ?? null,
        // As migration 0003 counts them: an agent that ever started had its first attempt.
        attempts: a.started_at != null ? (a.retry_count ?? 0) + 1 : 0, supervisor_id: null, pid_start: null, token_hash: null,
      },
    };
  });

  // Per agent, which messages its inbox holds; dangling and duplicate entries are noted here.
  const inboxHolds = new Map<string, Set<string>>();
  for (const [agentId, ids] of Object.entries(ledger.inboxes)) {
    const label = `inboxes[${JSON.stringify(agentId)}]`;
    if (ledger.agents[agentId] === undefined && ids.length > 0) {
      note(label, `agent "${agentId}" is not in the ledger; its ${ids.length} inbox entries were imported as they were`);
    }
    const held = new Set<string>();
    ids.forEach((messageId, position) => {
      const entry = `${label}[${position}]`;
      if (ledger.messages[messageId] === undefined) {
        note(entry, `message "${messageId}" is not in the ledger; the entry is kept in legacy_extras (kind inbox_entry)`);
        extras.push({ kind: 'inbox_entry', record_key: `${agentId}:${position}`, body: JSON.stringify({ agent_id: agentId, message_id: messageId, position }) });
      } else if (held.has(messageId)) {
        note(entry, `message "${messageId}" appears twice in this inbox; it is one pending delivery`);
      } else {
        held.add(messageId);
      }
    });
    inboxHolds.set(agentId, held);
  }
  // The same, by message: who holds each one (one pass, not one scan of every inbox per message).
  const holdersOf = new Map<string, string[]>();
  for (const [agentId, held] of inboxHolds) for (const messageId of held) holdersOf.set(messageId, [...(holdersOf.get(messageId) ?? []), agentId]);

  const receiptTimes = new Map<string, number>(); // `${action}\u0000${message}\u0000${agent}` -> first time
  for (const r of Object.values(ledger.receipts)) {
    const key = `${r.action}\u0000${r.message_id}\u0000${r.agent_id}`;
    const seen = receiptTimes.get(key);
    if (seen === undefined || r.timestamp < seen) receiptTimes.set(key, r.timestamp);
  }
  const receiptTime = (action: string, messageId: string, agentId: string) =>
    receiptTimes.get(`${action}\u0000${messageId}\u0000${agentId}`) ?? null;

  let previousTimestamp = -Infinity;
  let previousLabel = '';
  const messages = Object.entries(ledger.messages).map(([key, m]) => {
    const label = `messages[${JSON.stringify(key)}]`;
    requireKey(label, 'id', m.id, key);
    keep('messages', key, m);
    checkMessage(ledger, label, m, note);
    if (m.timestamp < previousTimestamp) {
      note(`${label}.timestamp`, `sent (${m.timestamp}) before the message listed ahead of it, ${previousLabel} (${previousTimestamp}); imported in ledger order with its own timestamp`);
    }
    previousTimestamp = m.timestamp;
    previousLabel = label;

    const addressed = recipientsOf(ledger, m);
    const holders = holdersOf.get(key) ?? [];
    for (const holder of holders) {
      if (!addressed.includes(holder)) {
        note(label, `is in the inbox of "${holder}" but was addressed to ${m.to_agent_id === '*' ? 'others' : `"${m.to_agent_id}"`}; imported as a pending delivery to "${holder}"`);
      }
    }
    const deliveries: PlannedDelivery[] = [];
    for (const agentId of [...addressed, ...holders.filter((h) => !addressed.includes(h))]) {
      const readAt = receiptTime('seen', key, agentId);
      if (inboxHolds.get(agentId)?.has(key)) {
        deliveries.push({ agent_id: agentId, acked: 0, read_at: readAt, acked_at: null });
      } else if (m.acknowledged === true || receiptTime('ack', key, agentId) !== null) {
        deliveries.push({ agent_id: agentId, acked: 1, read_at: readAt, acked_at: receiptTime('ack', key, agentId) });
      } else {
        note(label, `not acknowledged, yet not in the inbox of "${agentId}"; no delivery to "${agentId}" was imported (the message itself was)`);
      }
    }
    return {
      label,
      row: {
        id: key, fleet_id: m.fleet_id, from_agent_id: m.from_agent_id, to_agent_id: m.to_agent_id, type: m.type,
        payload: m.payload, correlation_id: m.correlation_id ?? null, sent_at: m.timestamp,
      },
      deliveries,
    };
  });

  const capabilities = Object.entries(ledger.capabilities).map(([key, c]) => {
    const label = `capabilities[${JSON.stringify(key)}]`;
    requireKey(label, 'agent_id', c.agent_id, key);
    keep('capabilities', key, c);
    if (ledger.agents[key] === undefined) note(label, `agent "${key}" is not in the ledger; its capability was imported as it was`);
    return {
      label,
      row: { agent_id: key, fleet_id: c.fleet_id ?? null, role: c.role, model: c.model ?? null, context_window: c.context_window ?? null, registered_at: c.registered_at },
      skills: c.skills,
    };
  });

  const receipts = Object.entries(ledger.receipts).map(([key, r]) => {
    const label = `receipts[${JSON.stringify(key)}]`;
    keep('receipts', key, r);
    if (ledger.messages[r.message_id] === undefined) note(`${label}.message_id`, `message "${r.message_id}" is not in the ledger; the receipt was imported as it was`);
    return { label, row: { message_id: r.message_id, agent_id: r.agent_id, action: r.action, recorded_at: r.timestamp, note: r.note ?? null } };
  });

  const templates = Object.entries(ledger.templates).map(([key, t]) => {
    const label = `templates[${JSON.stringify(key)}]`;
    const name = t.name ?? key;
    const version = t.version ?? 1;
    const expectedKey = ledger.version === 2 ? `${name}@v${version}` : name;
    if (key !== expectedKey && !(ledger.version === 2 && t.version === undefined && key === name)) {
      throw new LedgerError(label, `the key does not match the template's name and version (expected "${expectedKey}").`, KEY_HINT);
    }
    keep('templates', key, t);
    t.agents.forEach((seat, position) => keep('template_agents', `${key}/${position}`, seat));
    if (t.agents.length === 0) note(`${label}.agents`, 'has no agents; imported as it was (spawning it would start nothing)');
    return {
      label,
      row: { name, version, description: t.description ?? null, created_at: t.created_at ?? null },
      seats: t.agents.map((seat, position) => ({ position, role: seat.role, prompt: seat.prompt, agent: seat.agent ?? null })),
    };
  });

  for (const [key, body] of Object.entries(ledger.ratifications)) {
    extras.push({ kind: 'ratification', record_key: key, body: JSON.stringify(body) });
  }

  return { version: ledger.version, fleets, agents, messages, capabilities, templates, receipts, extras, anomalies };
}

function requireKey(label: string, field: string, value: string | undefined, key: string): void {
  if (value !== undefined && value !== key) {
    throw new LedgerError(`${label}.${field}`, `is ${JSON.stringify(value)} but the record is keyed ${JSON.stringify(key)}.`, KEY_HINT);
  }
}

/** Who a message was addressed to: its recipient, a v2 broadcast's list, or for an older
 * broadcast every other agent of its fleet, as the old server delivered it. */
function recipientsOf(ledger: Ledger, m: LegacyMessage): string[] {
  if (m.to_agent_id !== '*') return [m.to_agent_id];
  if (m.recipients !== undefined) return [...new Set(m.recipients)];
  return Object.entries(ledger.agents)
    .filter(([id, a]) => a.fleet_id === m.fleet_id && id !== m.from_agent_id)
    .map(([id]) => id);
}

function checkMessage(ledger: Ledger, label: string, m: LegacyMessage, note: (record: string, problem: string) => void): void {
  if (ledger.fleets[m.fleet_id] === undefined) note(`${label}.fleet_id`, `fleet "${m.fleet_id}" is not in the ledger; imported as it was`);
  if (ledger.agents[m.from_agent_id] === undefined) note(`${label}.from_agent_id`, `agent "${m.from_agent_id}" is not in the ledger; imported as it was`);
  if (m.to_agent_id !== '*' && ledger.agents[m.to_agent_id] === undefined) {
    note(`${label}.to_agent_id`, `agent "${m.to_agent_id}" is not in the ledger; imported as it was`);
  }
  if (!(MESSAGE_TYPES as readonly string[]).includes(m.type)) {
    note(`${label}.type`, `"${m.type}" is not one of ${MESSAGE_TYPES.join(', ')}; imported as it was`);
  }
  const bytes = Buffer.byteLength(m.payload, 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) note(`${label}.payload`, `is ${bytes} bytes, over today's limit of ${MAX_PAYLOAD_BYTES}; imported whole`);
  m.recipients?.forEach((agentId, index) => {
    if (ledger.agents[agentId] === undefined) note(`${label}.recipients[${index}]`, `agent "${agentId}" is not in the ledger; its delivery was imported as it was`);
  });
}

