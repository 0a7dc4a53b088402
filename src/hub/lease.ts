// The hub_lease row: which process is the database's hub, and whether it still lives.
import { recordEvent } from '../mesh/events.js';
import { fleetAgents, type Agent } from '../mesh/fleets.js';
import type { Store } from '../store/open.js';
import type { HubLeaseTable } from '../store/schema.js';

export type StopRequest = 'stop' | 'drain';

export interface HubLease {
  /** The hub's supervisor id: the agents it owns carry it in agents.supervisor_id. */
  hubId: string;
  pid: number;
  pidStart: string | null;
  startedAt: number;
  heartbeatAt: number;
  /** host:port of its HTTP endpoint, null while it has none. */
  listen: string | null;
  logPath: string | null;
  stopRequest: StopRequest | null;
}

/** Why a lease's holder counts as dead (see whySupervisorIsDead), or null while it lives. */
export type LivenessCheck = (lease: HubLease, now: number) => string | null;

export type Acquired =
  | { acquired: true; replaced: { lease: HubLease; why: string } | null }
  | { acquired: false; holder: HubLease };

const toLease = (row: HubLeaseTable): HubLease => ({
  hubId: row.hub_id, pid: row.pid, pidStart: row.pid_start, startedAt: row.started_at, heartbeatAt: row.heartbeat_at,
  listen: row.listen, logPath: row.log_path, stopRequest: row.stop_request,
});

export function readHubLease(store: Store): HubLease | undefined {
  const row = store.first(store.sql.selectFrom('hub_lease').selectAll().where('slot', '=', 1));
  return row === undefined ? undefined : toLease(row);
}

/**
 * Takes the lease for `lease`, unless a live hub holds it. Read and write are one IMMEDIATE
 * transaction: of two hubs starting at once, the second reads the first's row and refuses.
 */
export function acquireHubLease(store: Store, lease: Omit<HubLease, 'stopRequest'>, whyDead: LivenessCheck, now: number = Date.now()): Acquired {
  return store.write(() => {
    const holder = readHubLease(store);
    let replaced: { lease: HubLease; why: string } | null = null;
    if (holder !== undefined) {
      const why = whyDead(holder, now);
      if (why === null) return { acquired: false, holder };
      replaced = { lease: holder, why };
      store.run(store.sql.deleteFrom('hub_lease').where('slot', '=', 1));
    }
    store.run(store.sql.insertInto('hub_lease').values({
      slot: 1, hub_id: lease.hubId, pid: lease.pid, pid_start: lease.pidStart, started_at: lease.startedAt, heartbeat_at: lease.heartbeatAt,
      listen: lease.listen, log_path: lease.logPath, stop_request: null,
    }));
    recordEvent(store, {
      kind: 'hub_started',
      data: { hub: lease.hubId, pid: lease.pid, replaced: replaced === null ? null : { hub: replaced.lease.hubId, pid: replaced.lease.pid, reason: replaced.why } },
    }, now);
    return { acquired: true, replaced };
  });
}

/**
 * The heartbeat. Returns the row as it is now, or undefined when it is no longer this hub's
 * (another hub judged it dead and took over): the hub must then stop.
 */
export function beatHubLease(store: Store, hubId: string, now: number = Date.now()): HubLease | undefined {
  return store.write(() => {
    const changed = store.run(store.sql.updateTable('hub_lease').set({ heartbeat_at: now }).where('hub_id', '=', hubId));
    return changed === 0 ? undefined : readHubLease(store);
  });
}

/** Records where the hub's HTTP endpoint listens (host:port), once it does. */
export function setHubListen(store: Store, hubId: string, listen: string | null): void {
  store.write(() => store.run(store.sql.updateTable('hub_lease').set({ listen }).where('hub_id', '=', hubId)));
}

/** The hub is gone: the row goes, so the next server starts a hub without waiting for staleness. */
export function releaseHubLease(store: Store, hubId: string, now: number = Date.now()): void {
  store.write(() => {
    if (store.run(store.sql.deleteFrom('hub_lease').where('hub_id', '=', hubId)) > 0) {
      recordEvent(store, { kind: 'hub_stopped', data: { hub: hubId } }, now);
    }
  });
}

/**
 * An idle hub gives the lease back, unless agents were recorded since it last looked: checked
 * and deleted in one transaction, so a server that records agents either sees the lease gone
 * (and starts a new hub) or is seen here (and this hub stays). True when released.
 */
export function releaseIdleHubLease(store: Store, hubId: string, now: number = Date.now()): boolean {
  return store.write(() => {
    if (countUnclaimedAgents(store) > 0) return false;
    if (store.run(store.sql.deleteFrom('hub_lease').where('hub_id', '=', hubId)) > 0) {
      recordEvent(store, { kind: 'hub_stopped', data: { hub: hubId, reason: 'idle' } }, now);
    }
    return true;
  });
}

/**
 * Asks the hub to stop; it reads the request on its next tick. A drain is never turned into a
 * stop behind the user's back, nor a stop into a drain: the last request wins. Returns the
 * lease asked, or undefined when there is none.
 */
export function requestHubStop(store: Store, request: StopRequest): HubLease | undefined {
  return store.write(() => {
    const changed = store.run(store.sql.updateTable('hub_lease').set({ stop_request: request }).where('slot', '=', 1));
    return changed === 0 ? undefined : readHubLease(store);
  });
}

/** Agents recorded by a server and claimed by no supervisor yet (the agents_unclaimed index). */
export function countUnclaimedAgents(store: Store): number {
  return store.first(store.sql.selectFrom('agents').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'pending').where('supervisor_id', 'is', null).where('created_at', 'is not', null))?.n ?? 0;
}

/**
 * Claims up to `limit` unclaimed agents for supervisor `hubId`, oldest first, in one IMMEDIATE
 * transaction, so that an agent goes to one hub only. Legacy rows (no created_at) are not
 * startable and are left to the supervisor's settling of legacy agents.
 */
export function claimPendingAgents(store: Store, hubId: string, limit: number): Agent[] {
  // The hub looks after every commit of any process: a read first, so that a busy mesh's sends
  // do not meet a write lock taken 50 times a second for nothing.
  if (countUnclaimedAgents(store) === 0) return [];
  return store.write(() => {
    const rows = store.all(store.sql.selectFrom('agents').select(['id', 'fleet_id'])
      .where('status', '=', 'pending').where('supervisor_id', 'is', null).where('created_at', 'is not', null)
      .orderBy('created_at').limit(limit));
    if (rows.length === 0) return [];
    store.run(store.sql.updateTable('agents').set({ supervisor_id: hubId }).where('id', 'in', rows.map((r) => r.id)));
    const ids = new Set(rows.map((r) => r.id));
    // Read back as the domain sees them; a fleet holds at most 64 agents, so this stays small.
    return [...new Set(rows.map((r) => r.fleet_id))].flatMap((fleetId) => fleetAgents(store, fleetId).filter((a) => ids.has(a.id)));
  });
}
