// `meshfleet inspect` on a fleet's coordination: the task board (--tasks FLEET), and the live
// reservations and councils `--fleet ID` shows. JSON keys follow inspect-json.ts's rules
// (snake_case, always present, null when unknown; documented in the README).
import type { CouncilOverview, FleetBoard, ReservationOverview, TaskOverview } from '../mesh/overview.js';
import { fleetJson } from './inspect-json.js';
import { cell, clock, duration, paint, paintStatus, section, table, type Style } from './table.js';

export const taskJson = (t: TaskOverview) => ({
  task_id: t.id, title: t.title, status: t.status, priority: t.priority, claimed_by: t.claimedBy, lease_expires_at: t.leaseExpiresAt,
  finished_by: t.finishedBy, depends_on: t.dependsOn.map((d) => ({ task_id: d.taskId, status: d.status })),
  waiting_on: t.dependsOn.filter((d) => d.status !== 'done').map((d) => d.taskId),
  result_head: t.resultHead, result_chars: t.resultChars, blocked_reason: t.blockedReason, created_at: t.createdAt, updated_at: t.updatedAt,
});

export const reservationJson = (r: ReservationOverview, now: number) => ({
  id: r.id, agent_id: r.agentId, pattern: r.pattern, exclusive: r.exclusive, reason: r.reason, created_at: r.createdAt, expires_at: r.expiresAt,
  expires_in_ms: Math.max(0, r.expiresAt - now),
});

export const councilJson = (c: CouncilOverview) => ({
  council_id: c.id, subject: c.subject, proposer_id: c.proposerId, status: c.outcome ?? 'open', approvals: c.approvals, declines: c.declines,
  total_weight: c.totalWeight, quorum: c.quorum, opened_at: c.openedAt, deadline_at: c.deadlineAt, decided_at: c.decidedAt,
  awaiting_record: c.awaitingRecord,
});

export const boardJson = (b: FleetBoard, now: number) => ({ fleet: fleetJson(b.fleet, now), tasks: b.tasks.map(taskJson), tasks_total: b.total });


/** Dependencies a row names; the rest are counted (--json lists them all). */
const DEPENDENCIES_SHOWN = 4;

/**
 * "task-a (done), task-b (claimed)": the ones not done first, in bold, so what it still waits for
 * stands out; at most DEPENDENCIES_SHOWN, then "+N more".
 */
function dependencies(style: Style, t: TaskOverview): string {
  const ordered = [...t.dependsOn.filter((d) => d.status !== 'done'), ...t.dependsOn.filter((d) => d.status === 'done')];
  const named = ordered.slice(0, DEPENDENCIES_SHOWN)
    .map((d) => (d.status === 'done' ? `${cell(d.taskId)} (done)` : paint(style, 'bold', `${cell(d.taskId)} (${d.status})`)));
  return [...named, ...(ordered.length > DEPENDENCIES_SHOWN ? [`+${ordered.length - DEPENDENCIES_SHOWN} more`] : [])].join(', ');
}

function claimCell(t: TaskOverview, now: number): string {
  if (t.claimedBy === null) return t.finishedBy === null ? '' : `${cell(t.finishedBy)} (finished)`;
  const left = (t.leaseExpiresAt ?? now) - now;
  return `${cell(t.claimedBy)} (${left > 0 ? `${duration(left)} left` : 'lease expired'})`;
}

function resultCell(t: TaskOverview): string {
  if (t.status === 'blocked' && t.blockedReason !== null) return cell(`blocked: ${t.blockedReason}`, 60);
  return t.resultHead === null ? '' : cell(t.resultHead.trim(), 60);
}

export function boardText(style: Style, b: FleetBoard, now: number): string {
  const counts = new Map<string, number>();
  for (const t of b.tasks) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const summary = [...counts].map(([s, n]) => `${n} ${paintStatus(style, s)}`).join(', ');
  const rows = b.tasks.map((t) => [
    cell(t.id), cell(t.title, 40), paintStatus(style, t.status), String(t.priority), claimCell(t, now), dependencies(style, t), resultCell(t),
  ]);
  return [
    `Fleet ${b.fleet.id}  ${paintStatus(style, b.fleet.status)}\n`,
    section(style, 'TASKS', `${b.tasks.length === b.total ? `(${b.total})` : `(first ${b.tasks.length} of ${b.total})`}${summary === '' ? '' : ` ${summary}`}, in creation order`,
      rows.length === 0 ? '' : table(style, ['TASK', 'TITLE', 'STATUS', 'PRIORITY', 'CLAIMED BY', 'DEPENDS ON', 'RESULT'], rows),
      'No tasks. A lead creates them with create_task or create_tasks.'),
  ].join('\n');
}

export function reservationsText(style: Style, reservations: ReservationOverview[], now: number): string {
  const rows = reservations.map((r) => [
    cell(r.agentId), cell(r.pattern, 60), r.exclusive ? 'exclusive' : 'shared', cell(r.reason, 60), `${clock(r.expiresAt)} (in ${duration(Math.max(0, r.expiresAt - now))})`,
  ]);
  return section(style, 'FILE RESERVATIONS', `(${rows.length} live, soonest to expire first)`,
    rows.length === 0 ? '' : table(style, ['AGENT', 'PATTERN', 'KIND', 'REASON', 'EXPIRES (UTC)'], rows), 'No live reservations.');
}

export function councilsText(style: Style, councils: CouncilOverview[]): string {
  const rows = councils.map((c) => [
    cell(c.id), cell(c.subject, 60), outcomeCell(style, c), `${c.approvals}/${c.quorum}`,
    String(c.declines), c.deadlineAt === null ? '' : clock(c.deadlineAt),
  ]);
  // Inspect only reads, so a council its deadline decided while no hub or server ran shows the
  // outcome the deadline gave it, marked, until a write records that same outcome.
  const note = councils.some((c) => c.awaitingRecord)
    ? `\n${paint(style, 'dim', '* decided by its deadline, not yet recorded: no hub or server has swept since; the next tally_council, cast_vote or hub records it.')}`
    : '';
  return section(style, 'COUNCILS', `(${rows.length}, oldest first)`,
    rows.length === 0 ? '' : `${table(style, ['COUNCIL', 'SUBJECT', 'OUTCOME', 'APPROVALS/QUORUM', 'DECLINES', 'DEADLINE (UTC)'], rows)}${note}`, 'No councils.');
}

function outcomeCell(style: Style, c: CouncilOverview): string {
  if (c.outcome === null) return paint(style, 'bold', 'open');
  return c.awaitingRecord ? `${c.outcome}*` : c.outcome;
}
