// Turns a validated ledger into the rows to insert, and lists what is odd but legal history.
// Pure: no database. One planner per record kind; messages and deliveries in plan-messages.ts.
import type {
  AgentTable, CapabilityTable, FleetTable, LegacyExtraTable, ReceiptTable, TemplateAgentTable, TemplateTable,
} from '../schema.js';
import { type Anomaly, Findings, KEY_HINT, recordLabel, requireKey } from './findings.js';
import { LedgerError, type Ledger, type LedgerVersion } from './ledger.js';
import { planMessages, type PlannedMessage } from './plan-messages.js';

export type { Anomaly } from './findings.js';
export type { PlannedDelivery } from './plan-messages.js';

export interface Planned<Row> {
  label: string;
  row: Row;
}

type AgentRow = Omit<AgentTable, 'retry_count' | 'attempts' | 'profile' | WorkspaceColumn> & { retry_count: number; attempts: number };
type WorkspaceColumn = 'workspace_repo' | 'workspace_path' | 'workspace_branch' | 'workspace_base' | 'workspace_state';
type PlannedCapability = Planned<CapabilityTable> & { skills: string[] };
type PlannedTemplate = Planned<TemplateTable> & { seats: Omit<TemplateAgentTable, 'template_name' | 'template_version' | 'profile'>[] };

export interface ImportPlan {
  version: LedgerVersion;
  fleets: Planned<FleetTable>[];
  agents: Planned<AgentRow>[];
  messages: PlannedMessage[];
  capabilities: PlannedCapability[];
  templates: PlannedTemplate[];
  receipts: Planned<ReceiptTable>[];
  extras: LegacyExtraTable[];
  anomalies: Anomaly[];
}

/** The plan for a ledger; throws LedgerError when a record is keyed under another id. */
export function planImport(ledger: Ledger): ImportPlan {
  const findings = new Findings();
  findings.keepUnknownFields('ledger', '', ledger.extraFields);
  for (const record of ledger.unstorableText) {
    findings.report(record, 'holds an unpaired UTF-16 surrogate (a \\ud800-\\udfff escape), which UTF-8 cannot store; it was imported as U+FFFD');
  }
  const fleets = planFleets(ledger, findings);
  const agents = planAgents(ledger, findings);
  const messages = planMessages(ledger, findings);
  const capabilities = planCapabilities(ledger, findings);
  const receipts = planReceipts(ledger, findings);
  const templates = planTemplates(ledger, findings);
  // Council votes: nothing reads them yet, so they are kept whole.
  for (const [key, ratification] of Object.entries(ledger.ratifications)) findings.keepExtra('ratification', key, ratification);
  return { version: ledger.version, fleets, agents, messages, capabilities, templates, receipts, extras: findings.extras, anomalies: findings.anomalies };
}

function planFleets(ledger: Ledger, findings: Findings): Planned<FleetTable>[] {
  return Object.entries(ledger.fleets).map(([key, fleet]) => {
    const label = recordLabel('fleets', key);
    requireKey(label, 'id', fleet.id, key);
    findings.keepUnknownFields('fleets', key, fleet);
    if (fleet.completed_at != null && fleet.completed_at < fleet.created_at) {
      findings.report(`${label}.completed_at`, `completed (${fleet.completed_at}) before it was created (${fleet.created_at}); imported as it was`);
    }
    return {
      label,
      row: { id: key, status: fleet.status, created_at: fleet.created_at, completed_at: fleet.completed_at ?? null, timeout_ms: fleet.timeout_ms ?? null },
    };
  });
}

function planAgents(ledger: Ledger, findings: Findings): Planned<AgentRow>[] {
  return Object.entries(ledger.agents).map(([key, agent]) => {
    const label = recordLabel('agents', key);
    requireKey(label, 'id', agent.id, key);
    findings.keepUnknownFields('agents', key, agent);
    const fleet = ledger.fleets[agent.fleet_id];
    if (fleet === undefined) findings.report(`${label}.fleet_id`, `fleet "${agent.fleet_id}" is not in the ledger; imported as it was`);
    if (agent.started_at != null && agent.completed_at != null && agent.completed_at < agent.started_at) {
      findings.report(`${label}.completed_at`, `completed (${agent.completed_at}) before it started (${agent.started_at}); imported as it was`);
    }
    if (fleet !== undefined && agent.started_at != null && agent.started_at < fleet.created_at) {
      findings.report(`${label}.started_at`, `started (${agent.started_at}) before its fleet was created (${fleet.created_at}); imported as it was`);
    }
    return {
      label,
      row: {
        id: key, fleet_id: agent.fleet_id, role: agent.role, prompt: agent.prompt, agent_file: agent.agent_file ?? null,
        status: agent.status, pid: agent.pid ?? null, retry_count: agent.retry_count ?? 0, output: agent.output ?? null,
        error: agent.error ?? null, created_at: null, started_at: agent.started_at ?? null, completed_at: agent.completed_at ?? null,
        // As migration 0003 counts them: an agent that ever started had its first attempt.
        attempts: agent.started_at != null ? (agent.retry_count ?? 0) + 1 : 0, supervisor_id: null, pid_start: null, token_hash: null,
      },
    };
  });
}

function planCapabilities(ledger: Ledger, findings: Findings): PlannedCapability[] {
  return Object.entries(ledger.capabilities).map(([key, capability]) => {
    const label = recordLabel('capabilities', key);
    requireKey(label, 'agent_id', capability.agent_id, key);
    findings.keepUnknownFields('capabilities', key, capability);
    if (ledger.agents[key] === undefined) findings.report(label, `agent "${key}" is not in the ledger; its capability was imported as it was`);
    return {
      label,
      row: {
        agent_id: key, fleet_id: capability.fleet_id ?? null, role: capability.role, model: capability.model ?? null,
        context_window: capability.context_window ?? null, registered_at: capability.registered_at,
      },
      skills: capability.skills,
    };
  });
}

function planReceipts(ledger: Ledger, findings: Findings): Planned<ReceiptTable>[] {
  return Object.entries(ledger.receipts).map(([key, receipt]) => {
    const label = recordLabel('receipts', key);
    findings.keepUnknownFields('receipts', key, receipt);
    if (ledger.messages[receipt.message_id] === undefined) {
      findings.report(`${label}.message_id`, `message "${receipt.message_id}" is not in the ledger; the receipt was imported as it was`);
    }
    return {
      label,
      row: { message_id: receipt.message_id, agent_id: receipt.agent_id, action: receipt.action, recorded_at: receipt.timestamp, note: receipt.note ?? null },
    };
  });
}

/** v2 keys templates `name@vN`; older ledgers by bare name, which becomes version 1. */
function planTemplates(ledger: Ledger, findings: Findings): PlannedTemplate[] {
  return Object.entries(ledger.templates).map(([key, template]) => {
    const label = recordLabel('templates', key);
    const name = template.name ?? key;
    const version = template.version ?? 1;
    const expectedKey = ledger.version === 2 ? `${name}@v${version}` : name;
    if (key !== expectedKey && !(ledger.version === 2 && template.version === undefined && key === name)) {
      throw new LedgerError(label, `the key does not match the template's name and version (expected "${expectedKey}").`, KEY_HINT);
    }
    findings.keepUnknownFields('templates', key, template);
    template.agents.forEach((seat, position) => findings.keepUnknownFields('template_agents', `${key}/${position}`, seat));
    if (template.agents.length === 0) findings.report(`${label}.agents`, 'has no agents; imported as it was (spawning it would start nothing)');
    return {
      label,
      row: { name, version, description: template.description ?? null, created_at: template.created_at ?? null },
      seats: template.agents.map((seat, position) => ({ position, role: seat.role, prompt: seat.prompt, agent: seat.agent ?? null })),
    };
  });
}
