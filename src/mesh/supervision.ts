// The supervisors table: which server instances are alive, and the agents each one watches.
import type { Store } from '../store/open.js';
import type { AgentStatus } from '../store/schema.js';
import { recordEvent } from './events.js';
import { returnClaimsOf } from './task-leases.js';

export interface SupervisorRecord {
  id: string;
  pid: number;
  pidStart: string | null;
  startedAt: number;
  heartbeatAt: number;
}

export interface SupervisedAgent {
  id: string;
  fleetId: string;
  status: AgentStatus;
  pid: number | null;
  pidStart: string | null;
  attempts: number;
  startedAt: number | null;
  fleetCreatedAt: number;
  fleetTimeoutMs: number | null;
}

export function registerSupervisor(store: Store, s: SupervisorRecord): void {
  store.write(() => store.run(store.sql.insertInto('supervisors').values({
    id: s.id, pid: s.pid, pid_start: s.pidStart, started_at: s.startedAt, heartbeat_at: s.heartbeatAt,
  })));
}

/** False when the row is gone: another server judged this one dead and took its agents over. */
export function beatSupervisor(store: Store, id: string, now: number = Date.now()): boolean {
  return store.write(() => store.run(store.sql.updateTable('supervisors').set({ heartbeat_at: now }).where('id', '=', id))) > 0;
}

export function removeSupervisor(store: Store, id: string): void {
  store.write(() => store.run(store.sql.deleteFrom('supervisors').where('id', '=', id)));
}

export function otherSupervisors(store: Store, selfId: string): SupervisorRecord[] {
  return store.all(store.sql.selectFrom('supervisors').selectAll().where('id', '<>', selfId)).map((r) => ({
    id: r.id, pid: r.pid, pidStart: r.pid_start, startedAt: r.started_at, heartbeatAt: r.heartbeat_at,
  }));
}

/** Agents a supervisor watches that have not reached a final status, with their fleet's limits. */
export function supervisedAgents(store: Store, supervisorId: string): SupervisedAgent[] {
  const rows = store.all(store.sql.selectFrom('agents').innerJoin('fleets', 'fleets.id', 'agents.fleet_id')
    .select(['agents.id', 'agents.fleet_id', 'agents.status', 'agents.pid', 'agents.pid_start', 'agents.attempts', 'agents.started_at',
      'fleets.created_at as fleet_created_at', 'fleets.timeout_ms'])
    .where('agents.supervisor_id', '=', supervisorId)
    .where('agents.status', 'in', ['pending', 'running']));
  return rows.map((r) => ({
    id: r.id, fleetId: r.fleet_id, status: r.status, pid: r.pid, pidStart: r.pid_start, attempts: r.attempts,
    startedAt: r.started_at, fleetCreatedAt: r.fleet_created_at, fleetTimeoutMs: r.timeout_ms,
  }));
}

/**
 * Moves a dead supervisor's unfinished agents to `byId` and removes its row, in one IMMEDIATE
 * transaction, so that when several live servers look at once each agent goes to exactly one.
 * `dead` is the row as it was judged: null (nothing taken) when the row is gone or has beaten
 * since (another server took it over first, or it lives after all). Returns the agents taken,
 * as they were, with the pid of the process each may still have.
 */
export function takeOverAgents(store: Store, dead: SupervisorRecord, byId: string, why: string, now: number = Date.now()): SupervisedAgent[] | null {
  return store.write(() => {
    const removed = store.run(store.sql.deleteFrom('supervisors').where('id', '=', dead.id).where('heartbeat_at', '=', dead.heartbeatAt));
    if (removed === 0) return null;
    const agents = supervisedAgents(store, dead.id);
    store.run(store.sql.updateTable('agents').set({ supervisor_id: byId })
      .where('supervisor_id', '=', dead.id).where('status', 'in', ['pending', 'running']));
    // Each taken agent's process is ended or replaced by a new attempt: what it claimed goes back.
    for (const agent of agents) returnClaimsOf(store, agent.id, `its supervising server (pid ${dead.pid}) ${why}`, now);
    recordEvent(store, { kind: 'supervisor_reclaimed', data: { supervisor: dead.id, pid: dead.pid, reason: why, agents: agents.length, by: byId } }, now);
    return agents;
  });
}

/**
 * Agents imported from a legacy ledger as pending or running: their processes belonged to the
 * old server, which no Meshfleet server can watch or resume. Only legacy rows have no
 * created_at, so a new agent waiting for its first start is never among them.
 */
export function strandedLegacyAgents(store: Store): { id: string; output: string | null }[] {
  return store.all(store.sql.selectFrom('agents').select(['id', 'output'])
    .where('created_at', 'is', null).where('supervisor_id', 'is', null).where('status', 'in', ['pending', 'running']));
}
