// Advisory file reservations: an agent says which files it is about to edit, for a while, and an
// agent of the same fleet asking for an overlapping pattern hears who holds it. Nothing is ever
// locked on disk; `meshfleet check-reservations` lets a git hook refuse a commit that touches
// files another agent reserved exclusively. A reservation counts while it is not released and
// has not expired, so one an agent forgets stops counting by itself.
import { MeshError } from './errors.js';
import { recordEvent } from './events.js';
import { FINAL_AGENT_STATUSES, getAgent } from './fleets.js';
import { checkPattern, overlap, pathMatcher, searchBudget } from './globs.js';
import { MAX_LIVE_RESERVATIONS_PER_FLEET, quote } from './limits.js';
import type { ReservationOverview } from '../store/board-read.js';
import type { Store } from '../store/open.js';
import type { FileReservationTable } from '../store/schema.js';

/** A file reservation: what `inspect --fleet` shows of it (ReservationOverview), and its fleet and release. */
export interface Reservation extends ReservationOverview {
  fleetId: string;
  releasedAt: number | null;
  releasedBy: string | null;
}

export interface Conflict {
  /** The pattern asked for. */
  pattern: string;
  /** What it collides with: other agents' live reservations (the first MAX_HOLDERS_SHOWN), each with a path both match. */
  holders: (Reservation & { example: string | null })[];
  /** How many reservations it collides with in all. */
  holderCount: number;
}

/** Holders listed per conflict; the count says how many there are. */
export const MAX_HOLDERS_SHOWN = 10;

export interface ReserveRequest {
  agentId: string;
  patterns: string[];
  ttlMs: number;
  exclusive: boolean;
  reason: string;
}

type Row = { [K in keyof FileReservationTable]: K extends 'id' ? number : FileReservationTable[K] };

const fromRow = (row: Row): Reservation => ({
  id: row.id, fleetId: row.fleet_id, agentId: row.agent_id, pattern: row.pattern, exclusive: row.exclusive === 1,
  reason: row.reason, createdAt: row.created_at, expiresAt: row.expires_at, releasedAt: row.released_at, releasedBy: row.released_by,
});

function liveOfFleet(store: Store, fleetId: string, now: number): Reservation[] {
  return store.all(store.sql.selectFrom('file_reservations').selectAll()
    .where('fleet_id', '=', fleetId).where('released_at', 'is', null).where('expires_at', '>', now)
    .orderBy('id')).map((row) => fromRow(row as Row));
}

function agentOf(store: Store, agentId: string): { id: string; fleetId: string } {
  const agent = getAgent(store, agentId);
  if (agent === undefined) throw new MeshError('not_found', `No agent ${quote(agentId)}.`, 'Pass an agent id from spawn_fleet or fleet_status.');
  if (FINAL_AGENT_STATUSES.includes(agent.status)) {
    throw new MeshError('refused', `Agent ${quote(agentId)} has ended (${agent.status}); an ended agent holds no reservations.`, 'Reserve files for an agent that is pending or running.');
  }
  return agent;
}

/**
 * Releases every live reservation of an agent that has ended, inside the transaction that records
 * its end, so a finished agent never blocks others until its reservations expire.
 */
export function releaseReservationsOfEnded(store: Store, agentId: string, now: number): void {
  store.run(store.sql.updateTable('file_reservations').set({ released_at: now, released_by: 'agent ended' })
    .where('agent_id', '=', agentId).where('released_at', 'is', null).where('expires_at', '>', now));
}

/**
 * Grants each pattern that collides with no other agent's live reservation (two shared ones never
 * collide), in one transaction, and reports the rest with their holders. A pattern the agent
 * already holds is renewed in place (its TTL, exclusivity and reason replaced), never doubled.
 */
export function reserveFiles(store: Store, request: ReserveRequest, now: number = Date.now()): { granted: Reservation[]; conflicts: Conflict[] } {
  const patterns = [...new Set(request.patterns.map((p) => checkPattern(p)))];
  const agent = agentOf(store, request.agentId);
  return store.write(() => {
    const live = liveOfFleet(store, agent.fleetId, now);
    const granted: Reservation[] = [];
    const conflicts: Conflict[] = [];
    const budget = searchBudget();
    for (const pattern of patterns) {
      const holders = live.flatMap((held) => {
        if (held.agentId === agent.id || (!held.exclusive && !request.exclusive)) return [];
        const met = overlap(pattern, held.pattern, budget);
        return met === undefined ? [] : [{ ...held, example: met.example }];
      });
      if (holders.length > 0) { conflicts.push({ pattern, holders: holders.slice(0, MAX_HOLDERS_SHOWN), holderCount: holders.length }); continue; }
      const own = live.find((held) => held.agentId === agent.id && held.pattern === pattern);
      const values = { exclusive: request.exclusive ? 1 as const : 0 as const, reason: request.reason, expires_at: now + request.ttlMs };
      if (own !== undefined) {
        store.run(store.sql.updateTable('file_reservations').set(values).where('id', '=', own.id));
        granted.push({ ...own, exclusive: request.exclusive, reason: request.reason, expiresAt: values.expires_at });
        continue;
      }
      if (live.length + granted.length >= MAX_LIVE_RESERVATIONS_PER_FLEET) {
        throw new MeshError('too_large', `Fleet "${agent.fleetId}" already holds ${MAX_LIVE_RESERVATIONS_PER_FLEET} live reservations; nothing was reserved.`,
          'Release reservations no longer needed (release_reservations), or reserve whole folders ("src/**") instead of single files.');
      }
      const row = { fleet_id: agent.fleetId, agent_id: agent.id, pattern, created_at: now, released_at: null, released_by: null, ...values };
      const id = Number(store.first(store.sql.insertInto('file_reservations').values(row).returning('id'))!.id);
      granted.push(fromRow({ id, ...row }));
    }
    if (granted.length > 0 || conflicts.length > 0) {
      recordEvent(store, {
        kind: 'files_reserved', fleetId: agent.fleetId, agentId: agent.id,
        data: { granted: granted.map((r) => r.pattern), conflicts: conflicts.map((c) => c.pattern), exclusive: request.exclusive, ttl_ms: request.ttlMs },
      }, now);
    }
    return { granted, conflicts };
  });
}

/** Who acts on reservations, and whose they may touch: the holder its own; a lead or the operator any in reach. */
export interface ReservationActor {
  /** The agent whose reservations are meant (the acting agent, or one the operator names). */
  agentId?: string;
  /** Forcing: the operator, or a lead for its own fleet; releases other agents' reservations. */
  forcedBy?: { label: string; fleetId: string | null };
}

/** Extends the agent's live reservations (those ids, or all) to `ttlMs` from now. Expired ones stay expired. */
export function renewReservations(store: Store, agentId: string, ids: number[] | undefined, ttlMs: number, now: number = Date.now()): { renewed: Reservation[]; missing: number[] } {
  agentOf(store, agentId);
  return store.write(() => {
    const own = store.all(store.sql.selectFrom('file_reservations').selectAll()
      .where('agent_id', '=', agentId).where('released_at', 'is', null).where('expires_at', '>', now)
      .$if(ids !== undefined, (q) => q.where('id', 'in', ids!)).orderBy('id')).map((row) => fromRow(row as Row));
    if (own.length > 0) {
      store.run(store.sql.updateTable('file_reservations').set({ expires_at: now + ttlMs }).where('id', 'in', own.map((r) => r.id)));
    }
    const found = new Set(own.map((r) => r.id));
    return { renewed: own.map((r) => ({ ...r, expiresAt: now + ttlMs })), missing: (ids ?? []).filter((id) => !found.has(id)) };
  });
}

/**
 * Releases live reservations: by ids, else the agent's own (all, or those with the given
 * patterns). Ids of another agent's reservations are released only when forced (operator, or a
 * lead in its own fleet); otherwise they are listed as refused.
 */
export function releaseReservations(
  store: Store, actor: ReservationActor, select: { ids?: number[]; patterns?: string[] }, now: number = Date.now(),
): { released: Reservation[]; refused: number[]; missing: number[] } {
  return store.write(() => {
    let query = store.sql.selectFrom('file_reservations').selectAll().where('released_at', 'is', null).where('expires_at', '>', now);
    if (select.ids !== undefined) query = query.where('id', 'in', select.ids);
    else if (actor.agentId !== undefined) query = query.where('agent_id', '=', actor.agentId);
    else throw new MeshError('invalid', 'Say which reservations to release: ids, or agent_id.', 'Pass ids from reserve_files or list_reservations.');
    if (select.patterns !== undefined) query = query.where('pattern', 'in', select.patterns);
    const found = store.all(query.orderBy('id')).map((row) => fromRow(row as Row));
    const mayTouch = (r: Reservation): boolean => r.agentId === actor.agentId
      || (actor.forcedBy !== undefined && (actor.forcedBy.fleetId === null || actor.forcedBy.fleetId === r.fleetId));
    const released = found.filter(mayTouch);
    const refused = found.filter((r) => !mayTouch(r)).map((r) => r.id);
    for (const r of released) {
      const by = r.agentId === actor.agentId ? r.agentId : actor.forcedBy!.label;
      store.run(store.sql.updateTable('file_reservations').set({ released_at: now, released_by: by }).where('id', '=', r.id));
      recordEvent(store, { kind: 'files_released', fleetId: r.fleetId, agentId: r.agentId, data: { id: r.id, pattern: r.pattern, by, forced: by !== r.agentId } }, now);
    }
    const seen = new Set(found.map((r) => r.id));
    return {
      released: released.map((r) => ({ ...r, releasedAt: now, releasedBy: r.agentId === actor.agentId ? r.agentId : actor.forcedBy!.label })),
      refused,
      missing: (select.ids ?? []).filter((id) => !seen.has(id)),
    };
  });
}

/**
 * Live reservations (of a fleet, or all), those whose pattern matches `path` when given; with
 * `history`, released and expired ones too (the newest HISTORY_ROWS).
 */
export function listReservations(
  store: Store, filter: { fleetId?: string; path?: string; agentId?: string; history?: boolean }, now: number = Date.now(),
): Reservation[] {
  let query = store.sql.selectFrom('file_reservations').selectAll();
  if (filter.fleetId !== undefined) query = query.where('fleet_id', '=', filter.fleetId);
  if (filter.agentId !== undefined) query = query.where('agent_id', '=', filter.agentId);
  if (!filter.history) query = query.where('released_at', 'is', null).where('expires_at', '>', now);
  const rows = store.all(query.orderBy('id', 'desc').limit(HISTORY_ROWS)).reverse().map((row) => fromRow(row as Row));
  return filter.path === undefined ? rows : rows.filter((r) => pathMatcher(r.pattern)(filter.path!));
}

const HISTORY_ROWS = 10_000;

export interface Blocked {
  path: string;
  holder: Reservation;
}

/**
 * The paths another agent holds exclusively (for a pre-commit hook): every live exclusive
 * reservation of the fleet (or of every fleet) not held by `agentId`, matched against each path.
 */
export function blockedPaths(store: Store, paths: string[], scope: { fleetId?: string; agentId?: string }, now: number = Date.now()): Blocked[] {
  let query = store.sql.selectFrom('file_reservations').selectAll()
    .where('released_at', 'is', null).where('expires_at', '>', now).where('exclusive', '=', 1);
  if (scope.fleetId !== undefined) query = query.where('fleet_id', '=', scope.fleetId);
  if (scope.agentId !== undefined) query = query.where('agent_id', '<>', scope.agentId);
  const held = store.all(query.orderBy('id')).map((row) => ({ reservation: fromRow(row as Row), matches: pathMatcher(row.pattern) }));
  return paths.flatMap((path) => held.filter((h) => h.matches(path)).map((h) => ({ path, holder: h.reservation })));
}
