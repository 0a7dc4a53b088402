import type BetterSqlite3 from 'better-sqlite3';
import type { AgentStatus } from './schema.js';

/** How a taxonomy node relates to the one a keyword named. */
export type Relation = 'same' | 'ancestor' | 'descendant' | 'sibling';

/** A description word, or one of its parts, to route on (src/store/terms.ts). */
export interface RouteKeyword {
  /** The word as the description has it: each agent scores it once, through its best match. */
  keyword: string;
  /** The word itself, or one of its parts. */
  term: string;
  part: boolean;
}

/** One way an agent's role or skill meets one keyword of a task description. */
export interface RouteHitRow {
  agent_id: string;
  field: 'role' | 'skill';
  /** The role or skill as the agent registered it. */
  source: string;
  keyword: string;
  /** The term that met the agent's term: the keyword, a synonym of it, or a taxonomy relative. */
  term: string;
  /** Taxonomy distance between keyword (or its synonym) and term; 0 without the taxonomy; 2 for a sibling. */
  depth: number;
  relation: Relation;
  /** 1 when a synonym on the description side was used. */
  dsyn: 0 | 1;
  /** 1 when a synonym on the agent side was used. */
  asyn: 0 | 1;
  /** 1 when the description side was only a part of its word ("node" of "node.js"). */
  kpart: 0 | 1;
  /** 1 when the agent's term was only a part of one of its words. */
  apart: 0 | 1;
  role: string;
  fleet_id: string | null;
  /** NULL when the capability's agent is not in the agents table (legacy history). */
  status: AgentStatus | null;
  wins: number | null;
  total: number | null;
}

// route_work's one query. From the description's words outward: a word's parts only when the
// word itself is not a taxonomy node or synonym (names are matched whole first); their
// synonyms; the taxonomy neighbours of those (ancestors and descendants via skill_closure with
// their distance, and siblings: two steps, up to the parent and down to its other children);
// the synonyms of those; then every capability term equal to one of them (capability_terms, by
// index), with the agent's status and its pooled outcomes for the keys the task is about. Cost
// grows with the words and their neighbourhoods, not with the number of agents or messages.
// CROSS JOIN fixes the join order (SQLite keeps it as written): left to itself the planner
// scanned the whole closure table and every capability term, 10 ms at 1,000 agents.
const ROUTE_SQL = `
WITH
  kw0 (keyword, term, kpart) AS (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(@keywords)
  ),
  known (keyword) AS (
    SELECT keyword FROM kw0
     WHERE kpart = 0 AND (EXISTS (SELECT 1 FROM skills WHERE name = kw0.term) OR EXISTS (SELECT 1 FROM synonyms WHERE term = kw0.term))
  ),
  kw (keyword, term, kpart) AS (
    SELECT keyword, term, kpart FROM kw0 WHERE kpart = 0 OR keyword NOT IN (SELECT keyword FROM known)
  ),
  dterm (keyword, term, kpart, dsyn) AS (
    SELECT keyword, term, kpart, 0 FROM kw
    UNION
    SELECT kw.keyword, s.synonym, kw.kpart, 1 FROM kw JOIN synonyms AS s ON s.term = kw.term
  ),
  tterm (keyword, term, kpart, dsyn, depth, relation) AS (
    SELECT keyword, term, kpart, dsyn, 0, 'same' FROM dterm
    UNION
    SELECT d.keyword, rel.name, d.kpart, d.dsyn, c.depth, 'descendant'
      FROM dterm AS d
      CROSS JOIN skills AS n ON n.name = d.term
      CROSS JOIN skill_closure AS c ON c.ancestor_id = n.id AND c.depth > 0
      CROSS JOIN skills AS rel ON rel.id = c.descendant_id
    UNION
    SELECT d.keyword, rel.name, d.kpart, d.dsyn, c.depth, 'ancestor'
      FROM dterm AS d
      CROSS JOIN skills AS n ON n.name = d.term
      CROSS JOIN skill_closure AS c ON c.descendant_id = n.id AND c.depth > 0
      CROSS JOIN skills AS rel ON rel.id = c.ancestor_id
    UNION
    SELECT d.keyword, rel.name, d.kpart, d.dsyn, 2, 'sibling'
      FROM dterm AS d
      CROSS JOIN skills AS n ON n.name = d.term
      CROSS JOIN skill_closure AS up ON up.descendant_id = n.id AND up.depth = 1
      CROSS JOIN skill_closure AS down ON down.ancestor_id = up.ancestor_id AND down.depth = 1 AND down.descendant_id <> n.id
      CROSS JOIN skills AS rel ON rel.id = down.descendant_id
  ),
  aterm (keyword, term, kpart, dsyn, depth, relation, asyn, match_term) AS (
    SELECT keyword, term, kpart, dsyn, depth, relation, 0, term FROM tterm
    UNION
    SELECT t.keyword, t.term, t.kpart, t.dsyn, t.depth, t.relation, 1, s.synonym FROM tterm AS t JOIN synonyms AS s ON s.term = t.term
  ),
  hits AS MATERIALIZED (
    SELECT ct.agent_id, ct.field, ct.source, a.keyword, a.term, a.depth, a.relation, a.dsyn, a.asyn, a.kpart, ct.part AS apart
      FROM aterm AS a CROSS JOIN capability_terms AS ct ON ct.term = a.match_term
  ),
  outcomes AS (
    SELECT o.agent_id, sum(o.succeeded) AS wins, count(*) AS total
      FROM routing_outcomes AS o
     WHERE o.agent_id IN (SELECT agent_id FROM hits)
       AND lower(o.capability_key) IN (SELECT term FROM dterm)
     GROUP BY o.agent_id
  )
SELECT h.agent_id, h.field, h.source, h.keyword, h.term, h.depth, h.relation, h.dsyn, h.asyn, h.kpart, h.apart,
       c.role, c.fleet_id, ag.status, o.wins, o.total
  FROM hits AS h
  CROSS JOIN capabilities AS c ON c.agent_id = h.agent_id
  LEFT JOIN agents AS ag ON ag.id = h.agent_id
  LEFT JOIN outcomes AS o ON o.agent_id = h.agent_id
 WHERE @fleet IS NULL OR c.fleet_id = @fleet`;

export function prepareRouteQuery(db: BetterSqlite3.Database): (keywords: readonly RouteKeyword[], fleetId: string | null) => RouteHitRow[] {
  const statement = db.prepare(ROUTE_SQL);
  return (keywords, fleetId) => statement.all({
    keywords: JSON.stringify(keywords.map((k) => [k.keyword, k.term, k.part ? 1 : 0])), fleet: fleetId,
  }) as RouteHitRow[];
}
