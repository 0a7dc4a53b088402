// route_work: one query for every way each agent meets the task (route-query.ts), then the
// arithmetic below. Every number in a score can be explained from the match list.
import { MeshError } from '../mesh/errors.js';
import { MAX_ROUTE_WORDS } from '../mesh/limits.js';
import { recordEvent } from '../mesh/events.js';
import { requireAgent } from '../mesh/messages.js';
import type { Store } from '../store/open.js';
import type { Relation, RouteHitRow, RouteKeyword, RouteWeights } from '../store/route-query.js';
import type { AgentStatus } from '../store/schema.js';
import { normalizeTerm, tokens } from '../store/terms.js';
import { OUTCOME_Z, outcomeFactor, roundScore, type OutcomeFactor } from './outcomes.js';

/**
 * Points for a keyword met by an agent's role or skill, before synonym and distance discounts.
 * roleWord: one word of a role of several words ("site" of "site reliability engineer"): roles
 * are phrases of generic words, so one of them says less than the role or a named skill.
 */
export const FIELD_POINTS = { role: 3, roleWord: 1.5, skill: 2 } as const;
/** A match found through a synonym counts this much of an exact one. */
export const SYNONYM_DISCOUNT = 0.8;
/** Each step of taxonomy distance keeps this share: nextjs for react work counts half of react. */
export const TAXONOMY_DECAY = 0.5;
/**
 * A skill sharing the keyword's parent (fastify for express work, both under node) counts this
 * share: below a parent or child (0.5) and a grandparent or grandchild (0.25).
 */
export const SIBLING_SHARE = 0.2;
/** Each side that matched only through a part of a word ("node" of "node.js") keeps this share. */
export const PART_DISCOUNT = 0.6;

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
  /** Where `through` sits from the keyword in the taxonomy: same, ancestor, descendant or sibling. */
  relation: Relation;
  /** Which side met only through a part of a word ("node" of "node.js"): keyword, agent, both; null for whole words. */
  part: 'keyword' | 'agent' | 'both' | null;
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
  const words: RouteKeyword[] = tokens(description).slice(0, MAX_ROUTE_WORDS).flatMap((t) => [
    { keyword: t.whole, term: t.whole, part: false },
    ...t.parts.map((p) => ({ keyword: t.whole, term: p, part: true })),
  ]);
  if (words.length === 0) {
    throw new MeshError('invalid', 'The description has no keywords to route on.', 'Describe the work, e.g. "fix the react login form".');
  }
  const byAgent = new Map<string, RouteHitRow[]>();
  // Rows come agent by agent, best agent first: the order the query ranked them in.
  for (const row of store.hot.routeHits(words, options.fleetId ?? null, topN, WEIGHTS)) {
    const rows = byAgent.get(row.agent_id);
    if (rows === undefined) byAgent.set(row.agent_id, [row]);
    else rows.push(row);
  }
  // Each agent's reasons in the description's word order, as `matched` always listed them.
  const position = new Map(words.map((w, i) => [w.keyword, i]));
  const inOrder = (a: RouteHitRow, b: RouteHitRow) => position.get(a.keyword)! - position.get(b.keyword)!;
  return [...byAgent.values()].map((rows) => scoreAgent(rows.sort(inOrder)));
}

const WEIGHTS: RouteWeights = {
  rolePoints: FIELD_POINTS.role, roleWordPoints: FIELD_POINTS.roleWord, skillPoints: FIELD_POINTS.skill, synonym: SYNONYM_DISCOUNT, decay: TAXONOMY_DECAY, sibling: SIBLING_SHARE,
  part: PART_DISCOUNT, z: OUTCOME_Z,
};

function scoreAgent(rows: RouteHitRow[]): RouteMatch {
  const reasons = rows.map(toReason);
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
  const part = row.kpart === 1 ? (row.apart === 1 ? 'both' : 'keyword') : row.apart === 1 ? 'agent' : null;
  return {
    keyword: row.keyword, field: row.field, matched: row.source, via, through: row.term, distance: row.depth, relation: row.relation, part,
    points: roundScore(row.points),
  };
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
