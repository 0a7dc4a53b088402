// A first, plain route_work: keyword matches on role and skills, adjusted by recorded outcomes.
// The taxonomy, synonyms and explained scores replace it in the routing issue.
import { MeshError } from '../mesh/errors.js';
import { recordEvent } from '../mesh/events.js';
import { requireAgent } from '../mesh/messages.js';
import type { Store } from '../store/open.js';

const STOP_WORDS = new Set(['a', 'an', 'and', 'the', 'to', 'of', 'in', 'on', 'for', 'with', 'is', 'it', 'this', 'that', 'be', 'by', 'or', 'at', 'as', 'we', 'our', 'i', 'me', 'my', 'please', 'some', 'new']);

export interface RouteMatch {
  agentId: string;
  fleetId: string | null;
  role: string;
  score: number;
  /** The outcome factor applied to the keyword score (1 with no recorded outcomes). */
  weight: number;
  matched: string[];
}

export function keywords(description: string): string[] {
  return [...new Set(description.toLowerCase().split(/[^\p{L}\p{N}+#.]+/u).map((w) => w.replace(/^\.+|\.+$/g, ''))
    .filter((w) => w.length > 0 && !STOP_WORDS.has(w)))];
}

export function routeWork(store: Store, description: string, options: { topN?: number; fleetId?: string } = {}): RouteMatch[] {
  const topN = options.topN ?? 1;
  if (!Number.isInteger(topN) || topN < 1) {
    throw new MeshError('invalid', `top_n must be a whole number of at least 1; got ${topN}.`, 'Pass top_n: 1 for the best agent, or more for a ranked list.');
  }
  const words = new Set(keywords(description));
  if (words.size === 0) {
    throw new MeshError('invalid', 'The description has no keywords to route on.', 'Describe the work, e.g. "fix the react login form".');
  }
  let caps = store.sql.selectFrom('capabilities').select(['agent_id', 'fleet_id', 'role']);
  if (options.fleetId !== undefined) caps = caps.where('fleet_id', '=', options.fleetId);
  const skills = new Map<string, string[]>();
  for (const row of store.all(store.sql.selectFrom('capability_skills').select(['agent_id', 'skill']).orderBy('agent_id').orderBy('position'))) {
    skills.set(row.agent_id, [...(skills.get(row.agent_id) ?? []), row.skill.toLowerCase()]);
  }
  const outcomes = new Map<string, { wins: number; total: number }>();
  for (const row of store.all(store.sql.selectFrom('routing_outcomes')
    .select(['agent_id', (eb) => eb.fn.sum<number>('succeeded').as('wins'), (eb) => eb.fn.countAll<number>().as('total')])
    .groupBy('agent_id'))) {
    outcomes.set(row.agent_id, { wins: row.wins, total: row.total });
  }
  const matches: RouteMatch[] = [];
  for (const cap of store.all(caps)) {
    const roleWords = keywords(cap.role);
    const matched = [...words].filter((w) => roleWords.includes(w) || (skills.get(cap.agent_id) ?? []).includes(w));
    if (matched.length === 0) continue;
    const base = matched.reduce((sum, w) => sum + (roleWords.includes(w) ? 2 : 1), 0);
    const o = outcomes.get(cap.agent_id);
    // Laplace-smoothed success rate, scaled so an agent with no history keeps weight 1.
    const weight = o === undefined ? 1 : 2 * ((o.wins + 1) / (o.total + 2));
    matches.push({ agentId: cap.agent_id, fleetId: cap.fleet_id, role: cap.role, score: Math.round(base * weight * 1000) / 1000, weight, matched });
  }
  matches.sort((a, b) => b.score - a.score || (a.agentId < b.agentId ? -1 : 1));
  return matches.slice(0, topN);
}

export function recordRoutingOutcome(store: Store, input: { agentId: string; capabilityKey: string; success: boolean }, now: number = Date.now()): { successes: number; failures: number } {
  return store.write(() => {
    const agent = requireAgent(store, input.agentId);
    store.run(store.sql.insertInto('routing_outcomes').values({ agent_id: input.agentId, capability_key: input.capabilityKey, succeeded: input.success ? 1 : 0, recorded_at: now }));
    recordEvent(store, { kind: 'routing_outcome_recorded', fleetId: agent.fleet_id, agentId: input.agentId, data: { capability_key: input.capabilityKey, success: input.success } }, now);
    const tally = store.first(store.sql.selectFrom('routing_outcomes')
      .select([(eb) => eb.fn.sum<number>('succeeded').as('wins'), (eb) => eb.fn.countAll<number>().as('total')])
      .where('agent_id', '=', input.agentId).where('capability_key', '=', input.capabilityKey));
    return { successes: tally?.wins ?? 0, failures: (tally?.total ?? 0) - (tally?.wins ?? 0) };
  });
}
