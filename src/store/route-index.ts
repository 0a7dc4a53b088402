// What route_work reads of the routing tables, kept by the connection between calls.
//
// route_work meets every agent a description's words reach: at 1,000 agents a 50-word
// description of popular names yields a few thousand (agent, word) matches. Grouping those in SQL
// costs about a microsecond per match per GROUP BY (SQLite sorts to group), 10–15 ms in all;
// looked up here and summed in JavaScript they cost a fraction of a millisecond. So this keeps,
// per term, the rows the query would have read (capability_terms, the closure table's relatives,
// synonyms, the candidates' role, fleet and status, outcome tallies), fills each the first time a
// route asks for it, and drops a kind as soon as routing_generations (migration 0015) says its
// tables changed, by this process, another one, or someone at the sqlite3 prompt. Every route runs
// in one read transaction: the counters and everything read after them are one snapshot.
import type BetterSqlite3 from 'better-sqlite3';
import type { AgentStatus } from './schema.js';
import { normalizeTerm } from './terms.js';

/** How a taxonomy node relates to the one a word named. */
export type Relation = 'same' | 'ancestor' | 'descendant' | 'sibling';

/** An agent's role or skill that holds a term (a row of capability_terms). */
export interface Posting {
  agentId: string;
  /** The agent's number in this connection's index, 0 to agentCount() - 1: routes keep per-agent sums in arrays. */
  slot: number;
  field: 'role' | 'skill';
  /** The role or skill as the agent registered it. */
  source: string;
  /** The term is only a part of one of its words ("node" of "node.js"). */
  part: boolean;
  /** The term is the whole role, not one word of a role of several. */
  wholeRole: boolean;
}

/** A taxonomy node near another: its ancestors and descendants with their distance, and its siblings (distance 2). */
export interface Relative {
  name: string;
  depth: number;
  relation: Exclude<Relation, 'same'>;
}

/** An agent that registered a capability, as route_work ranks it. */
export interface Candidate {
  role: string;
  fleetId: string | null;
  /** NULL when the capability's agent is not in the agents table (legacy history). */
  status: AgentStatus | null;
}

export interface OutcomeTally {
  wins: number;
  total: number;
}

/** The routing tables as one snapshot sees them; every lookup is by one term or agent. */
export interface RouteView {
  /** Whether a term names a taxonomy node or has synonyms: such a word is matched whole, not by its parts. */
  known(term: string): boolean;
  synonyms(term: string): readonly string[];
  relatives(term: string): readonly Relative[];
  /** Who holds a term as a whole word, or as their whole role or skill. */
  postings(term: string): readonly Posting[];
  /** Who holds a term only as a part of one of their words ("node" of "node.js"). */
  partPostings(term: string): readonly Posting[];
  /** How many agents postings have numbered so far: every slot is below it. */
  agentCount(): number;
  candidate(agentId: string): Candidate | undefined;
  /** Recorded outcomes of an agent, by lower-cased capability key. */
  outcomes(agentId: string): ReadonlyMap<string, OutcomeTally> | undefined;
}

export interface RouteIndex {
  /** Runs `fn` in one read transaction on a view that is current for it. */
  read<T>(fn: (view: RouteView) => T): T;
}

/**
 * Each kind keeps at most this many terms or agents; past it, it starts again empty. Descriptions
 * are free text: without a bound, every word ever routed on would stay.
 */
const MEMO_LIMIT = 50_000;
/**
 * A node's relatives are weighed by their number: a leaf among 10,000 siblings brings 10,000, so
 * a count of nodes alone would let the relatives of a large flat taxonomy fill the memory.
 */
const RELATIVES_LIMIT = 200_000;
/** Postings kept at most (one per agent holding a term): a fleet of 1,000 agents holds about 18,000. */
const POSTINGS_LIMIT = 1_000_000;
/** How many agents the postings may number before they are all read again. */
const MAX_SLOTS = 20_000;

/** A lookup by key, remembered (misses too) until forgotten, or until the memo is full and starts again. */
class Memo<V> {
  private readonly values = new Map<string, V>();
  private used = 0;
  constructor(private readonly load: (key: string) => V, private readonly weigh: (value: V) => number = () => 1, private readonly limit = MEMO_LIMIT) {}
  get(key: string): V {
    let value = this.values.get(key);
    if (value === undefined && !this.values.has(key)) {
      value = this.load(key);
      const weight = 1 + this.weigh(value);
      if (this.used + weight > this.limit) this.clear();
      this.values.set(key, value);
      this.used += weight;
    }
    return value as V;
  }
  clear(): void {
    this.values.clear();
    this.used = 0;
  }
  forget(key: string): void {
    if (!this.values.has(key)) return;
    this.used -= 1 + this.weigh(this.values.get(key) as V);
    this.values.delete(key);
  }
}

type Generations = [terms: number, agents: number, taxonomy: number, outcomes: number, lastOutcomeId: number];

export function prepareRouteIndex(db: BetterSqlite3.Database): RouteIndex {
  const generations = db.prepare(
    `SELECT (SELECT generation FROM routing_generations WHERE part = 'terms'),
            (SELECT generation FROM routing_generations WHERE part = 'agents'),
            (SELECT generation FROM routing_generations WHERE part = 'taxonomy'),
            (SELECT generation FROM routing_generations WHERE part = 'outcomes'),
            (SELECT coalesce(max(id), 0) FROM routing_outcomes)`).raw();
  const isKnown = db.prepare(
    'SELECT EXISTS (SELECT 1 FROM skills WHERE name = @term) OR EXISTS (SELECT 1 FROM synonyms WHERE term = @term)').pluck();
  const synonymsOf = db.prepare('SELECT synonym FROM synonyms WHERE term = ?').pluck();
  // Through the closure table: ancestors and descendants with their distance, and siblings, two
  // steps (up to the parent, down to its other children).
  const relativesOf = db.prepare(
    `SELECT rel.name, c.depth, 'descendant' AS relation
       FROM skills AS n CROSS JOIN skill_closure AS c ON c.ancestor_id = n.id AND c.depth > 0 CROSS JOIN skills AS rel ON rel.id = c.descendant_id
      WHERE n.name = @term
     UNION ALL
     SELECT rel.name, c.depth, 'ancestor'
       FROM skills AS n CROSS JOIN skill_closure AS c ON c.descendant_id = n.id AND c.depth > 0 CROSS JOIN skills AS rel ON rel.id = c.ancestor_id
      WHERE n.name = @term
     UNION ALL
     SELECT rel.name, 2, 'sibling'
       FROM skills AS n
       CROSS JOIN skill_closure AS up ON up.descendant_id = n.id AND up.depth = 1
       CROSS JOIN skill_closure AS down ON down.ancestor_id = up.ancestor_id AND down.depth = 1 AND down.descendant_id <> n.id
       CROSS JOIN skills AS rel ON rel.id = down.descendant_id
      WHERE n.name = @term`);
  const postingsOf = db.prepare('SELECT agent_id, field, source FROM capability_terms WHERE term = ? AND part = ?').raw();
  const changedSince = db.prepare('SELECT key FROM routing_changes WHERE part = ? AND generation > ?').pluck();
  const candidateOf = db.prepare(
    'SELECT c.role, c.fleet_id AS fleetId, a.status FROM capabilities AS c LEFT JOIN agents AS a ON a.id = c.agent_id WHERE c.agent_id = ?');
  // routing_outcomes_by_agent_key (agent_id, lower(capability_key)) gives the groups in order.
  const allOutcomes = db.prepare(
    'SELECT agent_id, lower(capability_key), sum(succeeded), count(*) FROM routing_outcomes GROUP BY agent_id, lower(capability_key)').raw();
  const outcomesAfter = db.prepare('SELECT agent_id, lower(capability_key), succeeded, 1 FROM routing_outcomes WHERE id > ? ORDER BY id').raw();

  const known = new Memo((term) => (isKnown.get({ term }) as number) === 1);
  const synonyms = new Memo((term) => synonymsOf.all(term) as string[], (found) => found.length, RELATIVES_LIMIT);
  const relatives = new Memo((term) => relativesOf.all({ term }) as Relative[], (found) => found.length, RELATIVES_LIMIT);
  // Agents are numbered as postings first name them; the numbers go with the postings.
  const slots = new Map<string, number>();
  const slotOf = (agentId: string): number => {
    let slot = slots.get(agentId);
    if (slot === undefined) slots.set(agentId, slot = slots.size);
    return slot;
  };
  const postingsWith = (part: 0 | 1) => new Memo((term): Posting[] =>
    (postingsOf.all(term, part) as [string, 'role' | 'skill', string][]).map(([agentId, field, source]) => ({
      agentId, slot: slotOf(agentId), field, source, part: part === 1, wholeRole: field === 'role' && normalizeTerm(source) === term,
    })), (found) => found.length, POSTINGS_LIMIT);
  const postings = postingsWith(0);
  const partPostings = postingsWith(1);
  const candidates = new Memo((agentId) => candidateOf.get(agentId) as Candidate | undefined);
  let outcomes = new Map<string, Map<string, OutcomeTally>>();

  const tally = (rows: [string, string, number, number][]) => {
    for (const [agentId, key, wins, total] of rows) {
      let byKey = outcomes.get(agentId);
      if (byKey === undefined) outcomes.set(agentId, byKey = new Map());
      const kept = byKey.get(key);
      if (kept === undefined) byKey.set(key, { wins, total });
      else byKey.set(key, { wins: kept.wins + wins, total: kept.total + total });
    }
  };

  let seen: Generations | undefined;
  const refresh = () => {
    const now = generations.get() as Generations;
    // Routes size their arrays by the number of agents ever numbered: start again once that has
    // grown far past any fleet (agents come and go over months in one long-running hub).
    if (slots.size > MAX_SLOTS) {
      slots.clear();
      seen = undefined;
    }
    // Counters only grow (migration 0015); one that went back means the file was restored from a
    // backup under this connection: nothing read before can be trusted.
    // (The newest outcome id may go back when the newest outcome is removed: handled below.)
    if (seen !== undefined && now.some((value, i) => i < 4 && value < seen![i]!)) seen = undefined;
    if (seen === undefined || now[2] !== seen[2]) {
      known.clear();
      synonyms.clear();
      relatives.clear();
    }
    if (seen === undefined) {
      postings.clear();
      partPostings.clear();
      candidates.clear();
    } else {
      // Only the terms and agents changed since: the rest stays as read.
      if (now[0] !== seen[0]) {
        for (const term of changedSince.all('terms', seen[0]) as string[]) {
          postings.forget(term);
          partPostings.forget(term);
        }
      }
      if (now[1] !== seen[1]) for (const agentId of changedSince.all('agents', seen[1]) as string[]) candidates.forget(agentId);
    }
    if (seen === undefined || now[3] !== seen[3] || now[4] < seen[4]) {
      outcomes = new Map();
      tally(allOutcomes.all() as [string, string, number, number][]);
    } else if (now[4] > seen[4]) {
      tally(outcomesAfter.all(seen[4]) as [string, string, number, number][]);
    }
    seen = now;
  };

  const view: RouteView = {
    known: (term) => known.get(term),
    synonyms: (term) => synonyms.get(term),
    relatives: (term) => relatives.get(term),
    postings: (term) => postings.get(term),
    partPostings: (term) => partPostings.get(term),
    agentCount: () => slots.size,
    candidate: (agentId) => candidates.get(agentId),
    outcomes: (agentId) => outcomes.get(agentId),
  };
  const read = db.transaction(<T>(fn: (v: RouteView) => T): T => {
    refresh();
    return fn(view);
  });
  return {
    read: <T>(fn: (v: RouteView) => T): T => {
      // Inside a caller's transaction this reads rows that may yet be rolled back: kept, they would
      // outlive the rollback once later writes move the counters on. So nothing read is trusted after.
      const nested = db.inTransaction;
      try {
        return read(fn) as T;
      } finally {
        if (nested) seen = undefined;
      }
    },
  };
}
