// The task board: tasks of a fleet that depend on one another. Creating, reading and listing
// here; claims and their ends in task-claims.ts.
import type { Store } from '../store/open.js';
import type { TaskRow, TaskStatus } from '../store/task-statements.js';
import { keywords } from '../store/terms.js';
import { MeshError } from './errors.js';
import { recordEvent } from './events.js';
import { requireFleet } from './fleets.js';
import { newId } from './ids.js';
import {
  MAX_FLEET_TASKS, MAX_ID_CHARS, MAX_SKILLS, MAX_TASK_BATCH, MAX_TASK_CHARS, MAX_TASK_DEPENDENCIES, MAX_TASK_KEYS,
  MAX_TASK_PRIORITY, MAX_TASK_TITLE_CHARS, MAX_TERM_CHARS, MIN_TASK_PRIORITY, quote,
} from './limits.js';

export type { TaskStatus };
export const TASK_STATUSES = ['open', 'claimed', 'done', 'failed', 'blocked'] as const;

export interface TaskSpec {
  /** A name for the task within one create_tasks call, so other tasks of the call can depend on it. */
  ref?: string;
  title: string;
  description: string;
  /** Ids of tasks of the fleet, or refs of tasks of the same call. */
  dependsOn?: string[];
  skills?: string[];
  priority?: number;
}

export interface Task {
  id: string;
  fleetId: string;
  title: string;
  description: string;
  priority: number;
  status: TaskStatus;
  skills: string[];
  /** Claimable now: open (or its lease expired) and every dependency done. */
  ready: boolean;
  /** Dependencies not done yet. */
  waitingOn: number;
  claimedBy: string | null;
  leaseExpiresAt: number | null;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
  finishedBy: string | null;
  finishedAt: number | null;
  blockedReason: string | null;
}

export interface TaskDetail extends Task {
  result: string | null;
  dependsOn: { id: string; status: TaskStatus }[];
  /** Tasks waiting for this one (the first MAX_SHOWN_DEPENDENTS). */
  dependents: string[];
  dependentCount: number;
}

const MAX_SHOWN_DEPENDENTS = 100;

/**
 * The text a task is routed on: its skills when it names any (they say what it needs), else its
 * title and description. next_task scores agents on it as route_work scores a description.
 */
export function routingTextOf(task: { title: string; description: string; skills: readonly string[] }): string {
  return task.skills.length > 0 ? task.skills.join(' ') : `${task.title} ${task.description}`;
}

/** The keys complete_task records outcomes for: the routing text's first keywords. */
export function taskKeys(task: { title: string; description: string; skills: readonly string[] }): string[] {
  return keywords(routingTextOf(task)).slice(0, MAX_TASK_KEYS);
}

export function toTask(row: TaskRow): Task {
  return {
    id: row.id, fleetId: row.fleet_id, title: row.title, description: row.description, priority: row.priority, status: row.status,
    skills: JSON.parse(row.skills_json) as string[], ready: row.ready === 1, waitingOn: row.waiting_on, claimedBy: row.claimed_by, leaseExpiresAt: row.lease_expires_at,
    createdBy: row.created_by, createdAt: row.created_at, updatedAt: row.updated_at, finishedBy: row.finished_by,
    finishedAt: row.finished_at, blockedReason: row.blocked_reason,
  };
}

/** The task's row; not_found when there is none, or (with `fleetId`) when it is in another fleet. */
export function requireTask(store: Store, taskId: string, now: number, fleetId?: string): TaskRow {
  const row = store.tasks.get(taskId, now);
  if (row === undefined || (fleetId !== undefined && row.fleet_id !== fleetId)) {
    throw new MeshError('not_found', `No task ${quote(taskId)}${fleetId === undefined ? '' : ` in fleet ${quote(fleetId)}`}.`,
      'Use a task id returned by create_task or list_tasks.');
  }
  return row;
}

export function getTask(store: Store, taskId: string, fleetId?: string, now: number = Date.now()): TaskDetail {
  const row = requireTask(store, taskId, now, fleetId);
  const dependents = store.tasks.dependentsOf(taskId, MAX_SHOWN_DEPENDENTS + 1);
  return {
    ...toTask(row), result: row.result, dependsOn: store.tasks.dependenciesOf(taskId),
    dependents: dependents.slice(0, MAX_SHOWN_DEPENDENTS),
    dependentCount: dependents.length <= MAX_SHOWN_DEPENDENTS ? dependents.length : store.tasks.dependentsOf(taskId, MAX_FLEET_TASKS).length,
  };
}

export function listTasks(
  store: Store, fleetId: string, filter: { status?: TaskStatus; ready?: boolean }, page: { offset: number; limit: number }, now: number = Date.now(),
): { tasks: (Task & { dependsOn: string[] })[]; hasMore: boolean } {
  requireFleet(store, fleetId);
  const rows = store.tasks.list(fleetId, { status: filter.status ?? null, ready: filter.ready ?? null }, now, page.offset, page.limit + 1);
  const tasks = rows.slice(0, page.limit).map((row) => ({
    ...toTask(row), dependsOn: JSON.parse(row.depends_on_json) as string[],
  }));
  return { tasks, hasMore: rows.length > page.limit };
}

export interface CreatedTask { id: string; ref: string | null; title: string; ready: boolean }

/**
 * Creates tasks in one transaction: all or none. A dependency names a task of the fleet or the
 * ref of a task in the same call; a cycle among the call's tasks is refused.
 */
export function createTasks(store: Store, fleetId: string, specs: TaskSpec[], createdBy: string | null, now: number = Date.now()): CreatedTask[] {
  if (specs.length === 0) throw new MeshError('invalid', 'tasks is empty.', 'Pass at least one task.');
  if (specs.length > MAX_TASK_BATCH) {
    throw new MeshError('too_large', `tasks has ${specs.length} items; the limit is ${MAX_TASK_BATCH}.`, 'Create them in several calls.');
  }
  const where = (i: number) => (specs.length === 1 ? '' : `tasks[${i}].`);
  specs.forEach((spec, i) => checkTaskSpec(spec, where(i)));
  const ids = specs.map(() => newId('task'));
  const byRef = new Map<string, number>();
  specs.forEach((spec, i) => {
    if (spec.ref === undefined) return;
    if (byRef.has(spec.ref)) throw new MeshError('invalid', `${where(i)}ref ${quote(spec.ref)} is used by tasks[${byRef.get(spec.ref)}] too.`, 'Give each task of the call its own ref.');
    byRef.set(spec.ref, i);
  });
  refuseCycles(specs, byRef);
  return store.write(() => {
    requireFleet(store, fleetId);
    const held = store.tasks.countInFleet(fleetId);
    if (held + specs.length > MAX_FLEET_TASKS) {
      throw new MeshError('too_large', `Fleet ${quote(fleetId)} holds ${held} tasks; ${specs.length} more would pass the limit of ${MAX_FLEET_TASKS}.`,
        'Prune finished fleets, or run the work in another fleet.');
    }
    // Resolved before anything is written, so an unknown dependency leaves no task behind. A new
    // task is ready when every dependency is a task that is done already.
    const ready = specs.map(() => true);
    const dependencies = specs.map((spec, i) => (spec.dependsOn ?? []).map((name, j) => {
      const inBatch = byRef.get(name);
      if (inBatch !== undefined) {
        ready[i] = false;
        return ids[inBatch]!;
      }
      const row = store.tasks.get(name, now);
      if (row === undefined || row.fleet_id !== fleetId) {
        throw new MeshError('not_found', `${where(i)}depends_on[${j}]: no task ${quote(name)} in fleet ${quote(fleetId)}${byRef.size > 0 ? ', and no task of this call has that ref' : ''}.`,
          'Name a task id from create_task or list_tasks of this fleet, or the ref of a task in the same create_tasks call.');
      }
      if (row.status !== 'done') ready[i] = false;
      return row.id;
    }));
    specs.forEach((spec, i) => {
      const id = ids[i]!;
      store.tasks.insert({ id, fleetId, title: spec.title, description: spec.description, priority: spec.priority ?? 0, createdBy, createdAt: now });
      (spec.skills ?? []).forEach((skill, position) => store.tasks.insertSkill(id, position, skill.trim()));
    });
    specs.forEach((spec, i) => {
      for (const dependsOnId of dependencies[i]!) store.tasks.insertDependency(ids[i]!, dependsOnId);
      recordEvent(store, { kind: 'task_created', fleetId, agentId: createdBy, data: { task_id: ids[i], title: spec.title, depends_on: dependencies[i] } }, now);
    });
    return specs.map((spec, i) => ({ id: ids[i]!, ref: spec.ref ?? null, title: spec.title, ready: ready[i]! }));
  });
}

function checkTaskSpec(spec: TaskSpec, at: string): void {
  const bound = (field: string, value: string, max: number) => {
    if (value.trim() === '') throw new MeshError('invalid', `${at}${field} must not be empty.`, `Give the task a ${field}.`);
    if (value.length > max) throw new MeshError('too_large', `${at}${field} is ${value.length} characters; the limit is ${max}.`, 'Say it shorter.');
  };
  bound('title', spec.title, MAX_TASK_TITLE_CHARS);
  bound('description', spec.description, MAX_TASK_CHARS);
  if (spec.ref !== undefined) bound('ref', spec.ref, MAX_ID_CHARS);
  const skills = spec.skills ?? [];
  if (skills.length > MAX_SKILLS) throw new MeshError('too_large', `${at}skills has ${skills.length} items; the limit is ${MAX_SKILLS}.`, 'Name the skills that matter most.');
  skills.forEach((skill, i) => bound(`skills[${i}]`, skill, MAX_TERM_CHARS));
  const deps = spec.dependsOn ?? [];
  if (deps.length > MAX_TASK_DEPENDENCIES) {
    throw new MeshError('too_large', `${at}depends_on has ${deps.length} items; the limit is ${MAX_TASK_DEPENDENCIES}.`, 'Depend on a task that gathers the others.');
  }
  deps.forEach((dep, i) => bound(`depends_on[${i}]`, dep, MAX_ID_CHARS));
  const priority = spec.priority ?? 0;
  if (!Number.isInteger(priority) || priority < MIN_TASK_PRIORITY || priority > MAX_TASK_PRIORITY) {
    throw new MeshError('invalid', `${at}priority must be a whole number from ${MIN_TASK_PRIORITY} to ${MAX_TASK_PRIORITY}; got ${priority}.`, 'Higher runs first; 0 is the default.');
  }
}

/**
 * Tasks that exist already cannot depend on new ones, so a cycle can only run through tasks of
 * one call (a task naming its own ref included). Refused with the cycle spelled out.
 */
function refuseCycles(specs: TaskSpec[], byRef: Map<string, number>): void {
  const state = new Array<0 | 1 | 2>(specs.length).fill(0); // unvisited, on the path, finished
  const path: number[] = [];
  const edges = (i: number) => (specs[i]!.dependsOn ?? []).map((name) => byRef.get(name)).filter((j): j is number => j !== undefined);
  const visit = (i: number): void => {
    state[i] = 1;
    path.push(i);
    for (const j of edges(i)) {
      if (state[j] === 1) {
        const cycle = [...path.slice(path.indexOf(j)), j].map((k) => specs[k]!.ref!);
        const shown = cycle.length > 9 ? [...cycle.slice(0, 8), '…'] : cycle;
        throw new MeshError('invalid', `The dependencies form a cycle of ${cycle.length - 1} ${cycle.length === 2 ? 'task' : 'tasks'}: ${shown.map((r) => (r === '…' ? r : quote(r))).join(' → ')}; those tasks could never become ready.`,
          'Remove one of these dependencies.');
      }
      if (state[j] === 0) visit(j);
    }
    path.pop();
    state[i] = 2;
  };
  for (let i = 0; i < specs.length; i++) if (state[i] === 0) visit(i);
}
