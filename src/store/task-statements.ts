// The task board's statements (migration 0010), prepared on first use. "Ready" is written once,
// here, as SQL: open, or claimed under a lease that has expired, with every dependency done.
import type BetterSqlite3 from 'better-sqlite3';
import type { Selectable } from 'kysely';
import type { TaskStatus, TaskTable } from './schema.js';
import { lazy } from './statements.js';

export type { TaskStatus } from './schema.js';

/** A task's row (table `tasks`) with its claim and readiness, as the board's queries return it. */
export interface TaskRow extends Selectable<TaskTable> {
  claimed_by: string | null;
  claimed_at: number | null;
  lease_expires_at: number | null;
  /** Dependencies not done yet. */
  waiting_on: number;
  ready: 0 | 1;
  /** JSON arrays: the skills in order, the ids of the tasks it depends on. */
  skills_json: string;
  depends_on_json: string;
}

export interface NewTask {
  id: string;
  fleetId: string;
  title: string;
  description: string;
  priority: number;
  createdBy: string | null;
  createdAt: number;
}

export interface TaskStatements {
  insert(task: NewTask): void;
  insertSkill(taskId: string, position: number, skill: string): void;
  insertDependency(taskId: string, dependsOnId: string): void;
  countInFleet(fleetId: string): number;
  /** How many tasks of the fleet are in each status. */
  countsByStatus(fleetId: string): Record<TaskStatus, number>;
  get(taskId: string, now: number): TaskRow | undefined;
  dependenciesOf(taskId: string): { id: string; status: TaskStatus }[];
  /** Tasks waiting for this one, in creation order; at most `limit`. */
  dependentsOf(taskId: string, limit: number): string[];
  /** A fleet's tasks in creation order, filtered by status and readiness (null: any). */
  list(fleetId: string, filter: { status: TaskStatus | null; ready: boolean | null }, now: number, offset: number, limit: number): TaskRow[];
  /** Ready tasks of a fleet, best first (priority, then age); at most `limit`. */
  ready(fleetId: string, now: number, limit: number): TaskRow[];
  /** Writes (or renews) the claim and marks the task claimed. */
  claim(taskId: string, agentId: string, now: number, expiresAt: number): void;
  /** Removes the claim, if any; the caller sets the task's new status. */
  dropClaim(taskId: string): void;
  claimsOf(agentId: string): { task_id: string; fleet_id: string }[];
  expiredClaims(fleetId: string, now: number): { task_id: string; agent_id: string }[];
  setStatus(taskId: string, status: TaskStatus, now: number): void;
  finish(taskId: string, status: 'done' | 'failed', agentId: string, result: string, now: number): void;
  block(taskId: string, reason: string, now: number): void;
  /** Back to open: the earlier finish or block is cleared. */
  reopen(taskId: string, now: number): void;
}

const TASK_COLUMNS = `
  t.seq, t.id, t.fleet_id, t.title, t.description, t.priority, t.status, t.created_by, t.created_at, t.updated_at,
  t.finished_by, t.finished_at, t.result, t.blocked_reason,
  c.agent_id AS claimed_by, c.claimed_at, c.expires_at AS lease_expires_at,
  (SELECT json_group_array(skill) FROM (SELECT s.skill FROM task_skills AS s WHERE s.task_id = t.id ORDER BY s.position)) AS skills_json,
  (SELECT json_group_array(d.depends_on_id) FROM task_dependencies AS d WHERE d.task_id = t.id) AS depends_on_json`;
// task_dependencies' primary key, then the dependency's row by its id.
const WAITING_ON = `(SELECT count(*) FROM task_dependencies AS d JOIN tasks AS dep ON dep.id = d.depends_on_id
                     WHERE d.task_id = t.id AND dep.status <> 'done')`;
const CLAIMABLE = `(t.status = 'open' OR (t.status = 'claimed' AND c.expires_at <= @now))`;
const NOTHING_TO_WAIT_FOR = `NOT EXISTS (SELECT 1 FROM task_dependencies AS d JOIN tasks AS dep ON dep.id = d.depends_on_id
                                       WHERE d.task_id = t.id AND dep.status <> 'done')`;
export function prepareTaskStatements(db: BetterSqlite3.Database): TaskStatements {
  const insert = lazy(() => db.prepare(
    `INSERT INTO tasks (id, fleet_id, title, description, priority, status, created_by, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?)`));
  const insertSkill = lazy(() => db.prepare('INSERT INTO task_skills (task_id, position, skill) VALUES (?, ?, ?)'));
  const insertDependency = lazy(() => db.prepare('INSERT OR IGNORE INTO task_dependencies (task_id, depends_on_id) VALUES (?, ?)'));
  // tasks_by_fleet, by its fleet_id prefix.
  const countInFleet = lazy(() => db.prepare('SELECT count(*) FROM tasks WHERE fleet_id = ?').pluck());
  const countsByStatus = lazy(() => db.prepare('SELECT status, count(*) AS n FROM tasks WHERE fleet_id = ? GROUP BY status'));
  const get = lazy(() => db.prepare(
    `SELECT ${TASK_COLUMNS}, ${WAITING_ON} AS waiting_on, (${CLAIMABLE} AND ${WAITING_ON} = 0) AS ready
       FROM tasks AS t LEFT JOIN task_claims AS c ON c.task_id = t.id WHERE t.id = @task`));
  const dependenciesOf = lazy(() => db.prepare(
    `SELECT dep.id, dep.status FROM task_dependencies AS d JOIN tasks AS dep ON dep.id = d.depends_on_id
      WHERE d.task_id = ? ORDER BY dep.seq`));
  // task_dependents.
  const dependentsOf = lazy(() => db.prepare(
    `SELECT t.id FROM task_dependencies AS d JOIN tasks AS t ON t.id = d.task_id
      WHERE d.depends_on_id = ? ORDER BY t.seq LIMIT ?`).pluck());
  // tasks_in_order: the page's rows are found first, and only they get their columns, so a far
  // page does not work out every row before it. Readiness is looked at only when asked for.
  const listed = (readyFilter: string) => db.prepare(
    `WITH page (seq) AS (
       SELECT t.seq FROM tasks AS t ${readyFilter === '' ? '' : 'LEFT JOIN task_claims AS c ON c.task_id = t.id'}
        WHERE t.fleet_id = @fleet AND (@status IS NULL OR t.status = @status) ${readyFilter}
        ORDER BY t.seq LIMIT @limit OFFSET @offset)
     SELECT ${TASK_COLUMNS}, ${WAITING_ON} AS waiting_on, (${CLAIMABLE} AND ${WAITING_ON} = 0) AS ready
       FROM page CROSS JOIN tasks AS t ON t.seq = page.seq LEFT JOIN task_claims AS c ON c.task_id = t.id
      ORDER BY t.seq`);
  const list = lazy(() => listed(''));
  const listByReadiness = lazy(() => listed(`AND (${CLAIMABLE} AND ${NOTHING_TO_WAIT_FOR}) = @ready`));
  // tasks_by_fleet for the open ones; expired claims by their claim.
  const ready = lazy(() => db.prepare(
    `SELECT ${TASK_COLUMNS}, 0 AS waiting_on, 1 AS ready
       FROM tasks AS t LEFT JOIN task_claims AS c ON c.task_id = t.id
      WHERE t.fleet_id = @fleet AND t.status IN ('open', 'claimed') AND ${CLAIMABLE} AND ${NOTHING_TO_WAIT_FOR}
      ORDER BY t.priority DESC, t.seq LIMIT @limit`));
  const claim = lazy(() => db.prepare(
    `INSERT INTO task_claims (task_id, agent_id, claimed_at, expires_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (task_id) DO UPDATE SET agent_id = excluded.agent_id, claimed_at = excluded.claimed_at, expires_at = excluded.expires_at`));
  const dropClaim = lazy(() => db.prepare('DELETE FROM task_claims WHERE task_id = ?'));
  // task_claims_by_agent.
  const claimsOf = lazy(() => db.prepare(
    'SELECT c.task_id, t.fleet_id FROM task_claims AS c JOIN tasks AS t ON t.id = c.task_id WHERE c.agent_id = ? ORDER BY t.seq'));
  // task_claims_by_expiry.
  const expiredClaims = lazy(() => db.prepare(
    `SELECT c.task_id, c.agent_id FROM task_claims AS c JOIN tasks AS t ON t.id = c.task_id
      WHERE c.expires_at <= ? AND t.fleet_id = ? ORDER BY c.expires_at`));
  const setStatus = lazy(() => db.prepare('UPDATE tasks SET status = ?, updated_at = ? WHERE id = ?'));
  const finish = lazy(() => db.prepare(
    'UPDATE tasks SET status = ?, finished_by = ?, finished_at = ?, result = ?, updated_at = ? WHERE id = ?'));
  const block = lazy(() => db.prepare("UPDATE tasks SET status = 'blocked', blocked_reason = ?, updated_at = ? WHERE id = ?"));
  const reopen = lazy(() => db.prepare(
    `UPDATE tasks SET status = 'open', blocked_reason = NULL, finished_by = NULL, finished_at = NULL, result = NULL, updated_at = ?
      WHERE id = ?`));
  return {
    insert: (t) => {
      insert().run(t.id, t.fleetId, t.title, t.description, t.priority, t.createdBy, t.createdAt, t.createdAt);
    },
    insertSkill: (taskId, position, skill) => {
      insertSkill().run(taskId, position, skill);
    },
    insertDependency: (taskId, dependsOnId) => {
      insertDependency().run(taskId, dependsOnId);
    },
    countInFleet: (fleetId) => countInFleet().get(fleetId) as number,
    countsByStatus: (fleetId) => {
      const counts: Record<TaskStatus, number> = { open: 0, claimed: 0, done: 0, failed: 0, blocked: 0 };
      for (const row of countsByStatus().all(fleetId) as { status: TaskStatus; n: number }[]) counts[row.status] = row.n;
      return counts;
    },
    get: (taskId, now) => get().get({ task: taskId, now }) as TaskRow | undefined,
    dependenciesOf: (taskId) => dependenciesOf().all(taskId) as { id: string; status: TaskStatus }[],
    dependentsOf: (taskId, limit) => dependentsOf().all(taskId, limit) as string[],
    list: (fleetId, filter, now, offset, limit) => (filter.ready === null
      ? list().all({ fleet: fleetId, status: filter.status, now, offset, limit })
      : listByReadiness().all({ fleet: fleetId, status: filter.status, ready: filter.ready ? 1 : 0, now, offset, limit })) as TaskRow[],
    ready: (fleetId, now, limit) => ready().all({ fleet: fleetId, now, limit }) as TaskRow[],
    claim: (taskId, agentId, now, expiresAt) => {
      claim().run(taskId, agentId, now, expiresAt);
      setStatus().run('claimed', now, taskId);
    },
    dropClaim: (taskId) => {
      dropClaim().run(taskId);
    },
    claimsOf: (agentId) => claimsOf().all(agentId) as { task_id: string; fleet_id: string }[],
    expiredClaims: (fleetId, now) => expiredClaims().all(now, fleetId) as { task_id: string; agent_id: string }[],
    setStatus: (taskId, status, now) => {
      setStatus().run(status, now, taskId);
    },
    finish: (taskId, status, agentId, result, now) => {
      finish().run(status, agentId, now, result, now, taskId);
    },
    block: (taskId, reason, now) => {
      block().run(reason, now, taskId);
    },
    reopen: (taskId, now) => {
      reopen().run(now, taskId);
    },
  };
}
