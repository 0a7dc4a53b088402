// route_work: every way each agent's role and skills meet the words of a task, through the
// synonyms and the taxonomy's closure table, scored here. The tables are read through the
// connection's route index (src/store/route-index.ts), term by term. Every number in a score can
// be explained from the match list.
import { MeshError } from '../mesh/errors.js';
import { MAX_ROUTE_WORDS } from '../mesh/limits.js';
import { recordEvent } from '../mesh/events.js';
import { MAX_FLEET_AGENTS } from '../mesh/fleets.js';
import { requireAgent } from '../mesh/messages.js';
import type { Store } from '../store/open.js';
import type { Candidate, Posting, Relation, RouteView } from '../store/route-index.js';
import type { AgentStatus } from '../store/schema.js';
import { normalizeTerm, tokens } from '../store/terms.js';
import { outcomeFactor, roundScore, type OutcomeFactor } from './outcomes.js';

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

/**
 * A word of a description routes on at most this many of its parts. Real names have one to three
 * ("server-side", "aws_lambda_url"); a word chained from dozens of names would make route_work
 * try every one of them, and their taxonomy relatives, for every such word. Roles and skills keep
 * all their parts (capability_terms).
 */
export const MAX_PARTS = 4;

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

/**
 * One way a start (a word of the description, or a part of one) reaches a term agents may hold,
 * and what that way is worth. It does not depend on which word the start came from.
 */
interface Reach {
  /** The term that met the agent's term: the start, a synonym, or a taxonomy relative. */
  through: string;
  /** The term looked up in agents' roles and skills: `through`, or a synonym of it. */
  lookup: string;
  depth: number;
  relation: Relation;
  synonym: boolean;
  /** The description side was only a part of its word. */
  part: boolean;
  /** Synonym, distance and part discounts together. */
  share: number;
  /** Whether a part of an agent's word counts: only for the word itself (or its synonym), never a part of it or a relative. */
  meetsParts: boolean;
}

interface Hit {
  reach: Reach;
  posting: Posting;
  points: number;
}

export function routeWork(store: Store, description: string, options: { topN?: number; fleetId?: string } = {}): RouteMatch[] {
  const topN = options.topN ?? 1;
  if (!Number.isInteger(topN) || topN < 1) {
    throw new MeshError('invalid', `top_n must be a whole number of at least 1; got ${topN}.`, 'Pass top_n: 1 for the best agent, or more for a ranked list.');
  }
  const words = tokens(description).slice(0, MAX_ROUTE_WORDS);
  if (words.length === 0) {
    throw new MeshError('invalid', 'The description has no keywords to route on.', 'Describe the work, e.g. "fix the react login form".');
  }
  return store.routing.read((view) => new Route(view, options.fleetId ?? null).rank(words, topN));
}

/** A candidate agent of this route, by its slot. */
interface Met {
  agentId: string;
  candidate: Candidate;
}

/** Agents (by slot), each with its best hit: what a start reaches (the same for every word it comes from), or a word. */
interface Best {
  slots: number[];
  hits: Hit[];
}

interface WordBest extends Best {
  keyword: string;
}

/** `array` if it has room for `size`, else a copy twice that long. */
function withRoom<A extends Float64Array | Uint8Array>(array: A, size: number, make: (length: number) => A): A {
  if (array.length >= size) return array;
  const bigger = make(size * 2);
  bigger.set(array);
  return bigger;
}

const startKey = (start: string, part: boolean): string => `${part ? 'p' : 'w'}${start}`;

// A slot's agent is a candidate, or is not (outside the fleet asked for, or without a capability row).
const TAKE = 1;
const SKIP = 2;

/** Per-agent values by slot, kept for one route; `touched` lists the slots holding one. */
class SlotScratch {
  best = new Float64Array(0);
  hit: (Hit | undefined)[] = [];
  readonly touched: number[] = [];
  /** Room for `size` slots, keeping what is held (agents are numbered while a word is worked out). */
  fit(size: number): void {
    this.best = withRoom(this.best, size, (n) => new Float64Array(n));
    if (this.hit.length < this.best.length) this.hit = [...this.hit, ...new Array<Hit | undefined>(this.best.length - this.hit.length).fill(undefined)];
  }
  /**
   * Whether `points` beat the slot's hit; if so they are now its best, and the caller stores the
   * hit (made only then). On a tie the first stays: hits are offered the word itself first, then
   * its synonyms, then its relatives, then its parts in the same order.
   */
  beats(slot: number, points: number): boolean {
    if (this.hit[slot] === undefined) this.touched.push(slot);
    else if (points <= this.best[slot]!) return false;
    this.best[slot] = points;
    return true;
  }
  /** The touched slots, in the order they were first touched, with their hits; the scratch is empty again. */
  take(): Best {
    const slots = this.touched.slice();
    const hits = new Array<Hit>(slots.length);
    for (let k = 0; k < slots.length; k++) {
      hits[k] = this.hit[slots[k]!]!;
      this.hit[slots[k]!] = undefined;
    }
    // Emptied in place: the list keeps its room for the next word.
    this.touched.length = 0;
    return { slots, hits };
  }
}

class Route {
  /** 0 until a slot's agent is first met, then TAKE or SKIP. */
  private verdict = new Uint8Array(0);
  private readonly met = new Map<number, Met>();
  private readonly starts = new Map<string, Best>();
  private readonly perStart = new SlotScratch();
  private readonly perWord = new SlotScratch();
  /** Each agent's score so far (the sum of its words' rounded points), by slot. */
  private sums = new Float64Array(0);
  /** The terms whose recorded outcomes count: the words, the parts used, and their synonyms. */
  private readonly outcomeKeys = new Set<string>();

  constructor(private readonly view: RouteView, private readonly fleetId: string | null) {}

  rank(words: ReturnType<typeof tokens>, topN: number): RouteMatch[] {
    const bests: WordBest[] = [];
    // Each word, and its parts unless the word itself is a taxonomy node or has synonyms (names
    // are matched whole first). A start repeated across words is worked out once.
    const plan = words.map((word) => ({ word, starts: this.view.known(word.whole) ? [word.whole] : [word.whole, ...word.parts.slice(0, MAX_PARTS)] }));
    const uses = new Map<string, number>();
    for (const { starts } of plan) {
      starts.forEach((start, i) => {
        const key = startKey(start, i > 0);
        uses.set(key, (uses.get(key) ?? 0) + 1);
      });
    }
    for (const { word, starts } of plan) {
      starts.forEach((start, i) => {
        const part = i > 0;
        // A start of one word goes straight into that word's best; one shared by several words
        // (hyphenated names made of the same parts) is worked out once and merged into each.
        if (uses.get(startKey(start, part))! === 1) {
          this.scan(start, part, this.perWord);
          return;
        }
        const best = this.bestOf(start, part);
        for (let k = 0; k < best.slots.length; k++) {
          if (this.perWord.beats(best.slots[k]!, best.hits[k]!.points)) this.perWord.hit[best.slots[k]!] = best.hits[k]!;
        }
      });
      // The word's best hits, taken out of the scratch arrays (a plain loop: this runs for every
      // agent every word reaches).
      const { slots, hits } = this.perWord.take();
      for (let k = 0; k < slots.length; k++) this.sums[slots[k]!] = this.sums[slots[k]!]! + roundScore(hits[k]!.points);
      bests.push({ keyword: word.whole, slots, hits });
    }
    // Every candidate's score; the full match (reasons, outcome) for the top ones only.
    const ranked: Ranked[] = [];
    for (const [slot, { agentId, candidate }] of this.met) {
      // Every candidate met was offered to some word, so it has at least one hit.
      const keywordScore = roundScore(this.sums[slot]!);
      const outcome = outcomeOf(this.view, agentId, this.outcomeKeys);
      ranked.push({ slot, agentId, candidate, keywordScore, outcome, live: LIVE.includes(candidate.status), score: roundScore(keywordScore * outcome.factor) });
    }
    const chosen = top(ranked, topN);
    // Their reasons, word by word: one pass over each word's hits.
    const reasons = new Map(chosen.map((r) => [r.slot, [] as MatchReason[]]));
    for (const best of bests) {
      best.slots.forEach((slot, k) => reasons.get(slot)?.push(toReason(best.keyword, best.hits[k]!)));
    }
    return chosen.map((r) => match(r, reasons.get(r.slot)!));
  }

  /** Every candidate a start reaches, with its best hit. */
  private bestOf(start: string, part: boolean): Best {
    const key = startKey(start, part);
    let best = this.starts.get(key);
    if (best !== undefined) return best;
    this.scan(start, part, this.perStart);
    best = this.perStart.take();
    this.starts.set(key, best);
    return best;
  }

  /** Offers `into` each candidate's best hit through a start's reaches. */
  private scan(start: string, part: boolean, into: SlotScratch): void {
    const reaches = this.reachesOf(start, part);
    // Looked up first: agents are numbered as their postings are read, and the arrays need them all.
    const found = reaches.map((reach) => ({ whole: this.view.postings(reach.lookup), parts: reach.meetsParts ? this.view.partPostings(reach.lookup) : [] }));
    const size = this.view.agentCount();
    this.perStart.fit(size);
    this.perWord.fit(size);
    this.sums = withRoom(this.sums, size, (n) => new Float64Array(n));
    this.verdict = withRoom(this.verdict, size, (n) => new Uint8Array(n));
    reaches.forEach((reach, i) => {
      const { whole, parts } = found[i]!;
      for (const posting of whole) this.consider(reach, posting, into);
      for (const posting of parts) this.consider(reach, posting, into);
    });
  }

  private consider(reach: Reach, posting: Posting, scratch: SlotScratch): void {
    const slot = posting.slot;
    let verdict = this.verdict[slot];
    if (verdict === 0) {
      const candidate = this.view.candidate(posting.agentId);
      const take = candidate !== undefined && (this.fleetId === null || candidate.fleetId === this.fleetId);
      this.verdict[slot] = verdict = take ? TAKE : SKIP;
      if (take) this.met.set(slot, { agentId: posting.agentId, candidate });
    }
    if (verdict === SKIP) return;
    const points = reach.share * fieldPoints(posting) * (posting.part ? PART_DISCOUNT : 1);
    if (scratch.beats(slot, points)) scratch.hit[slot] = { reach, posting, points };
  }

  /** Every way a start reaches terms: itself, its synonyms, the taxonomy relatives of those, and the synonyms of the relatives. */
  private reachesOf(start: string, part: boolean): Reach[] {
    const reaches: Reach[] = [];
    for (const [term, synonym] of [[start, false] as const, ...this.view.synonyms(start).map((s) => [s, true] as const)]) {
      this.outcomeKeys.add(term);
      const add = (through: string, depth: number, relation: Relation) => {
        // Object literals with every field, not spreads: this runs for every relative of every start.
        const base = (relation === 'sibling' ? SIBLING_SHARE : Math.pow(TAXONOMY_DECAY, depth)) * (part ? PART_DISCOUNT : 1);
        const meetsParts = relation === 'same' && !part;
        reaches.push({ through, lookup: through, depth, relation, synonym, part, share: synonym ? base * SYNONYM_DISCOUNT : base, meetsParts });
        for (const other of this.view.synonyms(through)) {
          reaches.push({ through, lookup: other, depth, relation, synonym: true, part, share: base * SYNONYM_DISCOUNT, meetsParts });
        }
      };
      add(term, 0, 'same');
      for (const r of this.view.relatives(term)) add(r.name, r.depth, r.relation);
    }
    return reaches;
  }
}

interface Ranked {
  slot: number;
  agentId: string;
  candidate: Candidate;
  keywordScore: number;
  outcome: OutcomeFactor;
  live: boolean;
  score: number;
}

/** Live agents first, then the higher score, then the agent id: a total order, so ties always break the same way. */
const before = (a: Ranked, b: Ranked): number =>
  Number(b.live) - Number(a.live) || b.score - a.score || (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0);

/** The first n in that order, without sorting them all when n is small. */
function top(ranked: Ranked[], n: number): Ranked[] {
  if (n * 8 >= ranked.length) return ranked.sort(before).slice(0, n);
  const kept: Ranked[] = [];
  for (const r of ranked) {
    if (kept.length === n && before(r, kept[n - 1]!) >= 0) continue;
    let i = kept.length === n ? n - 1 : kept.length;
    while (i > 0 && before(r, kept[i - 1]!) < 0) i -= 1;
    kept.splice(i, 0, r);
    if (kept.length > n) kept.pop();
  }
  return kept;
}

const fieldPoints = (posting: Posting): number =>
  (posting.field === 'skill' ? FIELD_POINTS.skill : posting.wholeRole ? FIELD_POINTS.role : FIELD_POINTS.roleWord);

const NO_OUTCOMES = outcomeFactor(0, 0);

/** What recorded outcomes for these keys make of an agent's score. */
function outcomeOf(view: RouteView, agentId: string, keys: ReadonlySet<string>): OutcomeFactor {
  const tallies = view.outcomes(agentId);
  if (tallies === undefined) return NO_OUTCOMES;
  let wins = 0;
  let total = 0;
  for (const [key, tally] of tallies) {
    if (!keys.has(key)) continue;
    wins += tally.wins;
    total += tally.total;
  }
  return outcomeFactor(wins, total);
}

function match(r: Ranked, reasons: MatchReason[]): RouteMatch {
  const { agentId, candidate, keywordScore, outcome } = r;
  return {
    agentId, fleetId: candidate.fleetId, role: candidate.role, status: candidate.status, live: r.live,
    score: r.score, keywordScore, weight: outcome.factor,
    matched: reasons.map((reason) => reason.keyword), reasons, outcome,
  };
}

function toReason(keyword: string, { reach, posting, points }: Hit): MatchReason {
  const via: MatchVia = reach.depth > 0 ? (reach.synonym ? 'synonym+taxonomy' : 'taxonomy') : reach.synonym ? 'synonym' : 'exact';
  const part = reach.part ? (posting.part ? 'both' : 'keyword') : posting.part ? 'agent' : null;
  return {
    keyword, field: posting.field, matched: posting.source, via, through: reach.through, distance: reach.depth, relation: reach.relation, part,
    points: roundScore(points),
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

/**
 * How route_work scores one agent of a fleet for a description (the same query and arithmetic,
 * over the whole fleet), or null when none of its role and skills meets the description.
 * next_task ranks tasks with it.
 */
export function scoreAgentFor(store: Store, description: string, agentId: string, fleetId: string): RouteMatch | null {
  if (tokens(description).length === 0) return null;
  return routeWork(store, description, { fleetId, topN: MAX_FLEET_AGENTS }).find((m) => m.agentId === agentId) ?? null;
}
