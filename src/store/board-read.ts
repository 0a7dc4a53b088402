// What `meshfleet inspect` shows of a fleet's coordination: its task board, its live file
// reservations and its councils. Read-only kysely queries like read-model.ts; long texts are cut
// in SQL (substr).
import { sql } from 'kysely';
import type { Store } from './open.js';
import { HEAD_CHARS } from './read-model.js';

export type TaskStatus = 'open' | 'claimed' | 'done' | 'failed' | 'blocked';

export interface TaskDependency { taskId: string; status: TaskStatus }

export interface TaskOverview {
  id: string;
  title: string;
  status: TaskStatus;
  priority: number;
  /** The agent holding the current claim, and when its lease ends; null when unclaimed. */
  claimedBy: string | null;
  leaseExpiresAt: number | null;
  finishedBy: string | null;
  /** Every task it depends on, with that task's status (done or not). */
  dependsOn: TaskDependency[];
  resultHead: string | null;
  resultChars: number;
  blockedReason: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface ReservationOverview {
  id: number;
  agentId: string;
  pattern: string;
  exclusive: boolean;
  reason: string;
  createdAt: number;
  expiresAt: number;
}

export interface CouncilOverview {
  id: string;
  subject: string;
  proposerId: string;
  /** ratified, rejected, expired, or null while open. */
  outcome: 'ratified' | 'rejected' | 'expired' | null;
  approvals: number;
  declines: number;
  totalWeight: number;
  quorum: number;
  openedAt: number;
  deadlineAt: number | null;
  decidedAt: number | null;
  /**
   * True when outcome and decidedAt are not stored yet: the deadline passed while no hub or server
   * swept, and the reader computed what the next write (tally_council, cast_vote, a sweep) records.
   */
  awaitingRecord: boolean;
}

/**
 * Whether the database has `table`: inspect reads databases of older schemas without migrating
 * them, and one from before the task board, reservations or councils simply has none.
 */
export function hasTable(store: Store, table: 'tasks' | 'file_reservations' | 'councils'): boolean {
  const schema = store.sql.withTables<{ sqlite_schema: { type: string; name: string } }>();
  return store.first(schema.selectFrom('sqlite_schema').select('name').where('type', '=', 'table').where('name', '=', table)) !== undefined;
}

/** A fleet's first `limit` tasks in creation order, with claims and dependencies, and how many it has. */
export function fleetTasks(store: Store, fleetId: string, limit: number): { tasks: TaskOverview[]; total: number } {
  if (!hasTable(store, 'tasks')) return { tasks: [], total: 0 };
  // tasks_in_order (fleet_id, seq, status).
  const rows = store.all(store.sql.selectFrom('tasks').leftJoin('task_claims', 'task_claims.task_id', 'tasks.id').select((eb) => [
    'tasks.id', 'tasks.title', 'tasks.status', 'tasks.priority', 'tasks.finished_by', 'tasks.blocked_reason', 'tasks.created_at', 'tasks.updated_at',
    'task_claims.agent_id as claimed_by', 'task_claims.expires_at as lease_expires_at',
    sql<string | null>`substr(${eb.ref('tasks.result')}, 1, ${HEAD_CHARS})`.as('result_head'),
    sql<number>`coalesce(length(${eb.ref('tasks.result')}), 0)`.as('result_chars'),
  ]).where('tasks.fleet_id', '=', fleetId).orderBy('tasks.seq').limit(limit));
  const ids = rows.map((r) => r.id);
  const deps = ids.length === 0 ? [] : store.all(store.sql.selectFrom('task_dependencies')
    .innerJoin('tasks as dep', 'dep.id', 'task_dependencies.depends_on_id')
    .select(['task_dependencies.task_id', 'task_dependencies.depends_on_id', 'dep.status', 'dep.seq'])
    .where('task_dependencies.task_id', 'in', ids).orderBy('dep.seq'));
  const byTask = new Map<string, TaskDependency[]>();
  for (const d of deps) {
    const list = byTask.get(d.task_id) ?? [];
    list.push({ taskId: d.depends_on_id, status: d.status });
    byTask.set(d.task_id, list);
  }
  const total = store.first(store.sql.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).where('fleet_id', '=', fleetId))?.n ?? 0;
  return {
    total,
    tasks: rows.map((r) => ({
      id: r.id, title: r.title, status: r.status, priority: r.priority, claimedBy: r.claimed_by, leaseExpiresAt: r.lease_expires_at,
      finishedBy: r.finished_by, dependsOn: byTask.get(r.id) ?? [], resultHead: r.result_head, resultChars: r.result_chars,
      blockedReason: r.blocked_reason, createdAt: r.created_at, updatedAt: r.updated_at,
    })),
  };
}

/** The fleet's reservations neither released nor expired at `now`, soonest to expire first. */
export function liveReservations(store: Store, fleetId: string, now: number, limit: number): ReservationOverview[] {
  if (!hasTable(store, 'file_reservations')) return [];
  // file_reservations_by_fleet (fleet_id, released_at, expires_at).
  return store.all(store.sql.selectFrom('file_reservations')
    .select(['id', 'agent_id', 'pattern', 'exclusive', 'reason', 'created_at', 'expires_at'])
    .where('fleet_id', '=', fleetId).where('released_at', 'is', null).where('expires_at', '>', now)
    .orderBy('expires_at').orderBy('id').limit(limit))
    .map((r) => ({
      id: r.id, agentId: r.agent_id, pattern: r.pattern, exclusive: r.exclusive === 1, reason: r.reason, createdAt: r.created_at, expiresAt: r.expires_at,
    }));
}

/** The fleet's last `limit` councils, oldest of them first, each with its current votes weighed (as council_tally). */
export function fleetCouncils(store: Store, fleetId: string, limit: number): CouncilOverview[] {
  if (!hasTable(store, 'councils')) return [];
  // councils_by_fleet (fleet_id, opened_at).
  const rows = store.all(store.sql.selectFrom('councils').select((eb) => {
    // The current votes' weights (council_votes_current), as council_tally counts them.
    const weighed = (approve: 0 | 1) => eb.selectFrom('council_voters as v')
      .innerJoin('council_votes as b', (j) => j.onRef('b.council_id', '=', 'v.council_id').onRef('b.agent_id', '=', 'v.agent_id'))
      .select(sql<number>`coalesce(sum(v.weight), 0)`.as('w'))
      .whereRef('v.council_id', '=', 'councils.message_id').where('b.superseded_at', 'is', null).where('b.approve', '=', sql.lit(approve));
    return [
      'message_id', 'subject', 'proposer_id', 'outcome', 'quorum', 'opened_at', 'deadline_at', 'decided_at',
      weighed(1).as('approvals'), weighed(0).as('declines'),
      eb.selectFrom('council_voters').select(sql<number>`coalesce(sum(weight), 0)`.as('w'))
        .whereRef('council_voters.council_id', '=', 'councils.message_id').as('total_weight'),
    ] as const;
  }).where('fleet_id', '=', fleetId).orderBy('opened_at', 'desc').orderBy('message_id', 'desc').limit(limit));
  return rows.reverse().map((r) => ({
    id: r.message_id, subject: r.subject, proposerId: r.proposer_id, outcome: r.outcome, approvals: r.approvals ?? 0, declines: r.declines ?? 0,
    totalWeight: r.total_weight ?? 0, quorum: r.quorum, openedAt: r.opened_at, deadlineAt: r.deadline_at, decidedAt: r.decided_at,
    awaitingRecord: false,
  }));
}
