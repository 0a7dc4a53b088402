// `meshfleet inspect` for people: aligned tables, one per thing shown.
import type { AgentInbox, AgentOverview, EventEntry, FleetDetail, FleetOverview, MeshOverview } from '../mesh/overview.js';
import type { RouteMatch } from '../routing/route-work.js';
import type { AgentCounts } from '../store/read-model.js';
import type { Metrics } from '../store/metrics-query.js';
import { councilsText, reservationsText } from './inspect-board.js';
import { cell, clock, duration, paint, paintStatus, section, table, type Style } from './table.js';

const COUNTED: (keyof Omit<AgentCounts, 'total'>)[] = ['running', 'pending', 'complete', 'failed', 'interrupted'];

/** "2 running, 1 complete": the statuses an agent count holds, busiest kinds first. */
function agentsByStatus(style: Style, counts: AgentCounts): string {
  const parts = COUNTED.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${paintStatus(style, s)}`);
  return parts.length === 0 ? paint(style, 'dim', 'none') : parts.join(', ');
}

function fleetTable(style: Style, fleets: FleetOverview[], now: number): string {
  return table(style, ['FLEET', 'STATUS', 'AGENTS', 'BY STATUS', 'MESSAGES', 'AGE', 'RAN FOR'], fleets.map((f) => [
    cell(f.id), paintStatus(style, f.status), String(f.agents.total), agentsByStatus(style, f.agents), String(f.messages),
    duration(now - f.createdAt), f.completedAt === null ? '' : duration(f.completedAt - f.createdAt),
  ]));
}

function agentTable(style: Style, agents: AgentOverview[], withFleet: boolean): string {
  const headers = ['AGENT', ...(withFleet ? ['FLEET'] : []), 'ROLE', 'STATUS', 'PID', 'ATTEMPTS', 'STARTED', 'RAN FOR', 'INBOX', 'OUTPUT'];
  return table(style, headers, agents.map((a) => [
    cell(a.id), ...(withFleet ? [cell(a.fleetId)] : []), cell(a.role, 24), paintStatus(style, a.status), a.pid === null ? '' : String(a.pid),
    String(a.attempts), clock(a.startedAt), a.startedAt !== null && a.completedAt !== null ? duration(a.completedAt - a.startedAt) : '',
    String(a.inboxPending), outputCell(style, a),
  ]));
}

/** The head of its output; an agent with none but an error shows the error. */
function outputCell(style: Style, a: AgentOverview): string {
  if (a.outputHead !== null && a.outputHead.trim() !== '') return cell(a.outputHead.trim(), 60);
  if (a.errorHead !== null && a.errorHead.trim() !== '') return paint(style, 'red', cell(`error: ${a.errorHead.trim()}`, 60));
  return '';
}

function eventTable(style: Style, events: EventEntry[]): string {
  return table(style, ['ID', 'TIME (UTC)', 'KIND', 'FLEET', 'AGENT', 'DATA'], events.map((e) => [
    String(e.id), clock(e.recordedAt), cell(e.kind, 32), cell(e.fleetId), cell(e.agentId), cell(e.data, 100),
  ]));
}


const shown = (n: number, total?: number): string => (total === undefined || total === n ? `(${n})` : `(last ${n} of ${total})`);

export function overviewText(style: Style, db: string, o: MeshOverview, now: number): string {
  return [
    `Database ${db}\n`,
    section(style, 'FLEETS', `(${o.fleets.length}, newest first)`, o.fleets.length === 0 ? '' : fleetTable(style, o.fleets, now),
      'No fleets yet. Spawn one through the MCP tools, or run `meshfleet demo`.'),
    section(style, 'RECENT AGENTS', `(${o.recentAgents.length}, latest started first)`,
      o.recentAgents.length === 0 ? '' : agentTable(style, o.recentAgents, true), 'No agents.'),
    section(style, 'RECENT EVENTS', `(${o.recentEvents.length}, oldest first)`,
      o.recentEvents.length === 0 ? '' : eventTable(style, o.recentEvents), 'No events.'),
    `${paint(style, 'dim', 'More: --fleet ID, --tasks FLEET, --inbox AGENT, --events N, --metrics, --routing "task"; --json for scripts.')}\n`,
  ].join('\n');
}

export function fleetText(style: Style, d: FleetDetail, now: number): string {
  const f = d.fleet;
  const facts = [
    `Fleet ${f.id}  ${paintStatus(style, f.status)}`,
    `created ${clock(f.createdAt)} UTC (${duration(now - f.createdAt)} ago)${f.completedAt === null ? '' : `, settled after ${duration(f.completedAt - f.createdAt)}`}`
      + `${f.timeoutMs === null ? '' : `, timeout ${duration(f.timeoutMs)}`}`,
    `${f.agents.total} agent${f.agents.total === 1 ? '' : 's'}: ${agentsByStatus(style, f.agents)}; ${f.messages} message${f.messages === 1 ? '' : 's'}`,
  ];
  const messages = table(style, ['TIME (UTC)', 'FROM', 'TO', 'TYPE', 'UNACKED', 'RECEIPTS', 'PAYLOAD'], d.messages.map((m) => [
    clock(m.sentAt), cell(m.fromAgentId), cell(m.toAgentId === '*' ? '* (all)' : m.toAgentId), cell(m.type, 16),
    `${m.pending}/${m.recipients}`, String(m.receipts), cell(m.payloadHead, 80),
  ]));
  return [
    `${facts.join('\n')}\n`,
    section(style, 'AGENTS', `(${d.agents.length}, in spawn order)`, d.agents.length === 0 ? '' : agentTable(style, d.agents, false), 'No agents.'),
    section(style, 'MESSAGES', shown(d.messages.length, d.messagesTotal), d.messages.length === 0 ? '' : messages, 'No messages.'),
    reservationsText(style, d.reservations, now),
    councilsText(style, d.councils),
    section(style, 'EVENTS', `(last ${d.events.length})`, d.events.length === 0 ? '' : eventTable(style, d.events), 'No events.'),
  ].join('\n');
}

export function inboxText(style: Style, i: AgentInbox): string {
  const a = i.agent;
  const rows = i.entries.map((e) => [
    clock(e.sentAt), cell(e.fromAgentId), cell(e.type, 16), e.readAt === null ? paint(style, 'bold', 'new') : 'read',
    cell(e.correlationId, 24), cell(e.payloadHead, 100),
  ]);
  return [
    `Agent ${a.id} (${cell(a.role, 60)}) of fleet ${a.fleetId}  ${paintStatus(style, a.status)}\n`,
    section(style, 'INBOX', `${shown(i.entries.length, i.total)} unacknowledged, oldest first`,
      rows.length === 0 ? '' : table(style, ['TIME (UTC)', 'FROM', 'TYPE', 'STATE', 'CORRELATION', 'PAYLOAD'], rows), 'Nothing waiting.'),
  ].join('\n');
}

export const eventsText = (style: Style, events: EventEntry[]): string =>
  section(style, 'EVENTS', `(last ${events.length}, oldest first)`, events.length === 0 ? '' : eventTable(style, events), 'No events.');

const percent = (rate: number | null): string => (rate === null ? 'n/a' : `${(rate * 100).toFixed(1)}%`);

export function metricsText(style: Style, m: Metrics): string {
  const statuses = (counts: Record<string, number>) => Object.entries(counts).map(([s, n]) => `${n} ${paintStatus(style, s)}`).join(', ') || 'none';
  const rows = [
    ['fleets', String(m.fleets.total), statuses(m.fleets.byStatus)],
    ['mean fleet duration', duration(m.fleets.meanDurationMs) || 'n/a', 'created → settled, settled fleets'],
    ['agents', String(m.agents.total), statuses(m.agents.byStatus)],
    ['agent success rate', percent(m.agents.successRate), 'complete among complete, failed and interrupted'],
    ['mean agent run', duration(m.agents.meanRunMs) || 'n/a', 'started → finished, last attempt'],
    ['attempts', String(m.agents.attempts), `${m.agents.retried} agent${m.agents.retried === 1 ? '' : 's'} retried`],
    ['messages', String(m.messages.total), `${m.messages.meanPerFleet === null ? 'n/a' : m.messages.meanPerFleet.toFixed(1)} per fleet`],
    ['deliveries', String(m.messages.deliveries), `${m.messages.pendingDeliveries} unacknowledged`],
    ['routing outcomes', String(m.routing.outcomes), `${percent(m.routing.outcomes === 0 ? null : m.routing.successes / m.routing.outcomes)} successful`],
    ['events', String(m.events), ''],
  ];
  const busiest = table(style, ['FLEET', 'MESSAGES'], m.busiestFleets.map((f) => [cell(f.fleetId), String(f.messages)]));
  return [
    section(style, 'METRICS', '', table(style, ['WHAT', 'VALUE', 'NOTE'], rows), ''),
    section(style, 'MESSAGES PER FLEET', `(${m.busiestFleets.length}, most first)`, m.busiestFleets.length === 0 ? '' : busiest, 'No messages.'),
  ].join('\n');
}

export function routingText(style: Style, description: string, keywords: string[], matches: RouteMatch[]): string {
  const out = [`Task: ${cell(description, 200)}`, `Keywords: ${keywords.join(', ')}`, ''];
  if (matches.length === 0) out.push(paint(style, 'dim', 'No registered agent matches any keyword. Agents register with register_capability.'));
  matches.forEach((m, rank) => {
    out.push(`${rank + 1}. ${paint(style, 'bold', m.agentId)}  ${cell(m.role, 40)}  ${m.status === null ? paint(style, 'dim', 'gone') : paintStatus(style, m.status)}`
      + `  score ${m.score} = ${m.keywordScore} × ${m.weight}${m.live ? '' : paint(style, 'dim', '  (not live: ranked after live agents)')}`);
    out.push(table(style, ['  KEYWORD', 'FIELD', 'MATCHED', 'VIA', 'THROUGH', 'DISTANCE', 'POINTS'], m.reasons.map((r) => [
      `  ${cell(r.keyword, 40)}`, r.field, cell(r.matched, 40), r.via, cell(r.through, 40), String(r.distance), String(r.points),
    ])));
    const o = m.outcome;
    out.push(`   outcomes: ${o.successes} succeeded, ${o.failures} failed; Wilson interval ${o.lower}–${o.upper}; factor ${o.factor}`, '');
  });
  return `${out.join('\n')}\n`;
}
