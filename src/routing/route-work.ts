// route_work: one query for every way each agent meets the task (route-query.ts), then the
// arithmetic below. Every number in a score can be explained from the match list.
import { MeshError } from '../mesh/errors.js';
import { recordEvent } from '../mesh/events.js';
import { requireAgent } from '../mesh/messages.js';
import type { Store } from '../store/open.js';
import type { RouteHitRow } from '../store/route-query.js';
import type { AgentStatus } from '../store/schema.js';
import { keywords, normalizeTerm } from '../store/terms.js';
import { outcomeFactor, roundScore, type OutcomeFactor } from './outcomes.js';

/** Points for a keyword met by an agent's role or skill, before synonym and distance discounts. */
export const FIELD_POINTS = { role: 3, skill: 2 } as const;
/** A match found through a synonym counts this much of an exact one. */
export const SYNONYM_DISCOUNT = 0.8;
/** Each step of taxonomy distance keeps this share: nextjs for react work counts half of react. */
export const TAXONOMY_DECAY = 0.5;

export type MatchVia = 'exact' | 'synonym' | 'taxonomy' | 'synonym+taxonomy';

export interface MatchReason {
  keyword: string;
  field: 'role' | 'skill';
  /** The agent's role or skill, as registered. */
  matched: string;
  via: MatchVia;
  /** The term that linked them: the keyword itself, its synonym, or a taxonomy relative. */
  through: string;
  distance: number;
  points: number;
}

export interface RouteMatch {
  agentId: string;
  fleetId: string | null;
  role: string;
  status: AgentStatus | null;
  /** Pending or running: agents that failed, finished or are gone rank after live ones. */
  live: boolean;
  score: number;
  keywordScore: number;
  /** The outcome factor (1 without recorded outcomes for these keys). */
  weight: number;
  matched: string[];
  reasons: MatchReason[];
  outcome: OutcomeFactor;
}

const LIVE: readonly (AgentStatus | null)[] = ['pending', 'running'];

export function routeWork(store: Store, description: string, options: { topN?: number; fleetId?: string } = {}): RouteMatch[] {
  const topN = options.topN ?? 1;
  if (!Number.isInteger(topN) || topN < 1) {
    throw new MeshError('invalid', `top_n must be a whole number of at least 1; got ${topN}.`, 'Pass top_n: 1 for the best agent, or more for a ranked list.');
  }
  const words = keywords(description);
  if (words.length === 0) {
    throw new MeshError('invalid', 'The description has no keywords to route on.', 'Describe the work, e.g. "fix the react login form".');
  }
  const byAgent = new Map<string, RouteHitRow[]>();
  for (const row of store.hot.routeHits(words, options.fleetId ?? null)) {
    const rows = byAgent.get(row.agent_id);
    if (rows === undefined) byAgent.set(row.agent_id, [row]);
    else rows.push(row);
  }
  const matches = [...byAgent.values()].map(scoreAgent);
  matches.sort((a, b) => Number(b.live) - Number(a.live) || b.score - a.score || (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
  return matches.slice(0, topN);
}

function scoreAgent(rows: RouteHitRow[]): RouteMatch {
  const best = new Map<string, MatchReason>();
  for (const row of rows) {
    const reason = toReason(row);
    const held = best.get(row.keyword);
    if (held === undefined || reason.points > held.points) best.set(row.keyword, reason);
  }
  const reasons = [...best.values()];
  const keywordScore = roundScore(reasons.reduce((sum, r) => sum + r.points, 0));
  const first = rows[0]!;
  const outcome = outcomeFactor(first.wins ?? 0, first.total ?? 0);
  return {
    agentId: first.agent_id, fleetId: first.fleet_id, role: first.role, status: first.status, live: LIVE.includes(first.status),
    score: roundScore(keywordScore * outcome.factor), keywordScore, weight: outcome.factor,
    matched: reasons.map((r) => r.keyword), reasons, outcome,
  };
}

function toReason(row: RouteHitRow): MatchReason {
  const synonym = row.dsyn === 1 || row.asyn === 1;
  const via: MatchVia = row.depth > 0 ? (synonym ? 'synonym+taxonomy' : 'taxonomy') : synonym ? 'synonym' : 'exact';
  const points = FIELD_POINTS[row.field] * (synonym ? SYNONYM_DISCOUNT : 1) * TAXONOMY_DECAY ** row.depth;
  return { keyword: row.keyword, field: row.field, matched: row.source, via, through: row.term, distance: row.depth, points: roundScore(points) };
}

export function recordRoutingOutcome(store: Store, input: { agentId: string; capabilityKey: string; success: boolean }, now: number = Date.now()): { successes: number; failures: number } {
  const key = normalizeTerm(input.capabilityKey);
  if (key === '') throw new MeshError('invalid', 'capability_key must not be empty.', 'Pass the skill the work needed, e.g. "react".');
  return store.write(() => {
    const agent = requireAgent(store, input.agentId);
    store.outcomes.insert(input.agentId, key, input.success, now);
    recordEvent(store, { kind: 'routing_outcome_recorded', fleetId: agent.fleet_id, agentId: input.agentId, data: { capability_key: key, success: input.success } }, now);
    const tally = store.outcomes.tally(input.agentId, key);
    return { successes: tally.wins, failures: tally.total - tally.wins };
  });
}

/**
 * How route_work scores one agent for a description (the same query and arithmetic), or null
 * when none of its role and skills meets the description. next_task ranks tasks with it.
 */
export function scoreAgentFor(store: Store, description: string, agentId: string, fleetId: string | null): RouteMatch | null {
  const words = keywords(description);
  if (words.length === 0) return null;
  const rows = store.hot.routeHits(words, fleetId).filter((row) => row.agent_id === agentId);
  return rows.length === 0 ? null : scoreAgent(rows);
}
