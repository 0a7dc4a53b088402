// What recorded outcomes have taught routing, per agent and capability key: the counts and the
// factor route_work multiplies a score by (outcomes.ts). For get_routing_stats and inspect.
import { MeshError } from '../mesh/errors.js';
import type { Store } from '../store/open.js';
import { outcomeFactor, type OutcomeFactor } from './outcomes.js';

/** Rows per page of routing stats, at most; each row is a few hundred bytes of JSON. */
export const MAX_ROUTING_STATS_PAGE = 5_000;

export interface RoutingStat extends OutcomeFactor {
  agentId: string;
  fleetId: string | null;
  /** Lower-cased, as route_work compares keys. */
  capabilityKey: string;
}

export interface RoutingStatsPage {
  stats: RoutingStat[];
  /** Pass as `offset` for the next page; null on the last one. */
  nextOffset: number | null;
}

/**
 * Per agent and key (agent id order, then key): successes, failures, the Wilson bounds and the
 * factor. route_work pools an agent's outcomes over every key a task names (and their
 * synonyms), so a task about several keys sees the factor of their sum.
 */
export function routingStats(store: Store, options: { agentId?: string; fleetId?: string; limit?: number; offset?: number } = {}): RoutingStatsPage {
  const limit = options.limit ?? 1_000;
  const offset = options.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ROUTING_STATS_PAGE) {
    throw new MeshError('invalid', `limit must be a whole number from 1 to ${MAX_ROUTING_STATS_PAGE}; got ${limit}.`, 'Leave it out for 1,000 rows per page.');
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new MeshError('invalid', `offset must be a whole number of at least 0; got ${offset}.`, 'Pass the previous page\'s next_offset.');
  }
  const rows = store.outcomes.tallies({ agentId: options.agentId ?? null, fleetId: options.fleetId ?? null }, limit + 1, offset);
  return {
    stats: rows.slice(0, limit).map((r) => ({ agentId: r.agent_id, fleetId: r.fleet_id, capabilityKey: r.capability_key, ...outcomeFactor(r.wins, r.total) })),
    nextOffset: rows.length > limit ? offset + limit : null,
  };
}
