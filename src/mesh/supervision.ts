// The supervisors table: which server instances are alive, and the agents each one watches.
import type { Store } from '../store/open.js';
import type { AgentStatus } from '../store/schema.js';

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

export function beatSupervisor(store: Store, id: string, now: number = Date.now()): void {
  store.write(() => store.run(store.sql.updateTable('supervisors').set({ heartbeat_at: now }).where('id', '=', id)));
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
