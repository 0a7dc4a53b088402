// `meshfleet inspect --json`: the shapes scripts rely on (documented in the README, "inspect
// --json"). Keys are snake_case and always present (null when unknown); new keys may be added,
// none is renamed or removed without a new major version.
import type { AgentInbox, AgentOverview, EventEntry, FleetDetail, FleetOverview, InboxEntry, MessageOverview, MeshOverview } from '../mesh/overview.js';
import { routeMatchJson } from '../mcp/routing.js';
import type { RouteMatch } from '../routing/route-work.js';
import type { Metrics } from '../store/metrics-query.js';
import { councilJson, reservationJson } from './inspect-board.js';

const FLEET_STATUSES = ['pending', 'running', 'complete', 'failed'] as const;
const AGENT_STATUSES = ['pending', 'running', 'complete', 'failed', 'interrupted'] as const;

export const fleetJson = (f: FleetOverview, now: number) => ({
  fleet_id: f.id, status: f.status, created_at: f.createdAt, completed_at: f.completedAt, age_ms: Math.max(0, now - f.createdAt),
  timeout_ms: f.timeoutMs, agents: { ...f.agents }, messages: f.messages,
});

export const agentJson = (a: AgentOverview) => ({
  agent_id: a.id, fleet_id: a.fleetId, role: a.role, profile: a.profile, status: a.status, pid: a.pid, attempts: a.attempts,
  created_at: a.createdAt, started_at: a.startedAt, completed_at: a.completedAt, output_head: a.outputHead, output_chars: a.outputChars,
  error_head: a.errorHead, inbox_pending: a.inboxPending,
});

export const messageJson = (m: MessageOverview) => ({
  message_id: m.id, from_agent_id: m.fromAgentId, to_agent_id: m.toAgentId, type: m.type, payload_head: m.payloadHead,
  payload_chars: m.payloadChars, correlation_id: m.correlationId, sent_at: m.sentAt, recipients: m.recipients, pending: m.pending,
  receipts: m.receipts,
});

export const inboxJson = (e: InboxEntry) => ({
  message_id: e.messageId, fleet_id: e.fleetId, from_agent_id: e.fromAgentId, type: e.type, payload_head: e.payloadHead,
  payload_chars: e.payloadChars, correlation_id: e.correlationId, sent_at: e.sentAt, read_at: e.readAt,
});

/** An event's data is JSON written by Meshfleet; anything else (a hand edit) is passed on as the text it is. */
export function eventData(data: string | null): unknown {
  if (data === null) return null;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return data;
  }
}

export const eventJson = (e: EventEntry) => ({
  id: e.id, kind: e.kind, fleet_id: e.fleetId, agent_id: e.agentId, data: eventData(e.data), recorded_at: e.recordedAt,
});

export const overviewJson = (o: MeshOverview, now: number) => ({
  fleets: o.fleets.map((f) => fleetJson(f, now)), recent_agents: o.recentAgents.map(agentJson), recent_events: o.recentEvents.map(eventJson),
});

export const fleetDetailJson = (d: FleetDetail, now: number) => ({
  fleet: fleetJson(d.fleet, now), agents: d.agents.map(agentJson), messages: d.messages.map(messageJson), messages_total: d.messagesTotal,
  events: d.events.map(eventJson), reservations: d.reservations.map((r) => reservationJson(r, now)), councils: d.councils.map(councilJson),
});

export const inboxViewJson = (i: AgentInbox) => ({ agent: agentJson(i.agent), messages: i.entries.map(inboxJson), pending_total: i.total });

const byStatus = (statuses: readonly string[], counts: Record<string, number>) =>
  Object.fromEntries([...statuses.map((s) => [s, counts[s] ?? 0]), ...Object.entries(counts).filter(([s]) => !statuses.includes(s))]);

export const metricsJson = (m: Metrics) => ({
  fleets: { total: m.fleets.total, by_status: byStatus(FLEET_STATUSES, m.fleets.byStatus), mean_duration_ms: m.fleets.meanDurationMs },
  agents: {
    total: m.agents.total, by_status: byStatus(AGENT_STATUSES, m.agents.byStatus), success_rate: m.agents.successRate,
    mean_run_ms: m.agents.meanRunMs, attempts: m.agents.attempts, retried: m.agents.retried,
  },
  messages: {
    total: m.messages.total, deliveries: m.messages.deliveries, pending_deliveries: m.messages.pendingDeliveries,
    mean_per_fleet: m.messages.meanPerFleet,
  },
  busiest_fleets: m.busiestFleets.map((f) => ({ fleet_id: f.fleetId, messages: f.messages })),
  routing: {
    outcomes: m.routing.outcomes, successes: m.routing.successes,
    success_rate: m.routing.outcomes === 0 ? null : m.routing.successes / m.routing.outcomes,
  },
  events: m.events,
});

/** The same shape as route_work with explain: true, so a script can read either. */
export const routingJson = (description: string, keywords: string[], matches: RouteMatch[]) => ({
  description, keywords, matches: matches.map((m) => routeMatchJson(m, true)),
});
