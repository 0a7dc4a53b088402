// `meshfleet inspect --metrics`: whole-database totals. A handful of aggregate scans, run when a
// person asks, never on a hot path.
import { sql } from 'kysely';
import type { Store } from './open.js';

export interface Metrics {
  fleets: { total: number; byStatus: Record<string, number>; meanDurationMs: number | null };
  agents: {
    total: number;
    byStatus: Record<string, number>;
    /** Complete among agents that reached a final status (complete, failed, interrupted); null before any did. */
    successRate: number | null;
    meanRunMs: number | null;
    attempts: number;
    retried: number;
  };
  messages: { total: number; deliveries: number; pendingDeliveries: number; meanPerFleet: number | null };
  /** Fleets with the most messages, most first. */
  busiestFleets: { fleetId: string; messages: number }[];
  routing: { outcomes: number; successes: number };
  events: number;
}

export function readMetrics(store: Store, busiestLimit: number): Metrics {
  return store.read(() => metricsNow(store, busiestLimit));
}

function metricsNow(store: Store, busiestLimit: number): Metrics {
  const count = (rows: { key: string; n: number }[]) => Object.fromEntries(rows.map((r) => [r.key, r.n]));
  const fleetStatus = store.all(store.sql.selectFrom('fleets').select((eb) => [eb.ref('status').as('key'), eb.fn.countAll<number>().as('n')]).groupBy('status'));
  const fleetTimes = store.first(store.sql.selectFrom('fleets').select((eb) => [
    eb.fn.countAll<number>().as('total'),
    sql<number | null>`avg(${eb.ref('completed_at')} - ${eb.ref('created_at')})`.as('mean_ms'),
  ]).where('status', 'in', ['complete', 'failed']).where('completed_at', 'is not', null))!;
  const agentStatus = store.all(store.sql.selectFrom('agents').select((eb) => [eb.ref('status').as('key'), eb.fn.countAll<number>().as('n')]).groupBy('status'));
  const agentTimes = store.first(store.sql.selectFrom('agents').select((eb) => [
    sql<number | null>`avg(CASE WHEN ${eb.ref('started_at')} IS NOT NULL AND ${eb.ref('completed_at')} IS NOT NULL
      AND ${eb.ref('status')} IN ('complete', 'failed', 'interrupted') THEN ${eb.ref('completed_at')} - ${eb.ref('started_at')} END)`.as('mean_run_ms'),
    sql<number>`coalesce(sum(${eb.ref('attempts')}), 0)`.as('attempts'),
    sql<number>`coalesce(sum(${eb.ref('attempts')} > 1), 0)`.as('retried'),
  ]))!;
  const messages = store.first(store.sql.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')))!.n;
  const deliveries = store.first(store.sql.selectFrom('deliveries').select((eb) => [
    eb.fn.countAll<number>().as('total'),
    sql<number>`coalesce(sum(${eb.ref('acked')} = 0), 0)`.as('pending'),
  ]))!;
  const busiest = store.all(store.sql.selectFrom('messages').select((eb) => ['fleet_id', eb.fn.countAll<number>().as('n')])
    .groupBy('fleet_id').orderBy('n', 'desc').orderBy('fleet_id').limit(busiestLimit));
  const routing = store.first(store.sql.selectFrom('routing_outcomes').select((eb) => [
    eb.fn.countAll<number>().as('total'), sql<number>`coalesce(sum(${eb.ref('succeeded')}), 0)`.as('wins'),
  ]))!;
  const events = store.first(store.sql.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')))!.n;

  const agentsByStatus = count(agentStatus);
  const fleetsByStatus = count(fleetStatus);
  const fleetTotal = fleetStatus.reduce((sum, r) => sum + r.n, 0);
  const settled = (agentsByStatus.complete ?? 0) + (agentsByStatus.failed ?? 0) + (agentsByStatus.interrupted ?? 0);
  return {
    fleets: { total: fleetTotal, byStatus: fleetsByStatus, meanDurationMs: fleetTimes.total === 0 ? null : fleetTimes.mean_ms },
    agents: {
      total: agentStatus.reduce((sum, r) => sum + r.n, 0), byStatus: agentsByStatus,
      successRate: settled === 0 ? null : (agentsByStatus.complete ?? 0) / settled,
      meanRunMs: agentTimes.mean_run_ms, attempts: agentTimes.attempts, retried: agentTimes.retried,
    },
    messages: {
      total: messages, deliveries: deliveries.total, pendingDeliveries: deliveries.pending,
      meanPerFleet: fleetTotal === 0 ? null : messages / fleetTotal,
    },
    busiestFleets: busiest.map((r) => ({ fleetId: r.fleet_id, messages: r.n })),
    routing: { outcomes: routing.total, successes: routing.wins },
    events,
  };
}
