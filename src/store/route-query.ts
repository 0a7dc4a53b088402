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

/** The weights of a match (route-work.ts holds the values and says what each means). */
export interface RouteWeights {
  rolePoints: number;
  /** For one word of a role of several words ("site" of "site reliability engineer"). */
  roleWordPoints: number;
  skillPoints: number;
  synonym: number;
  decay: number;
  sibling: number;
  part: number;
  /** z of the Wilson interval behind the outcome factor. */
  z: number;
}

/** The best way an agent's role or skill meets one keyword of a task description, for one of the top agents. */
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
  /** This reason's points, before rounding. */
  points: number;
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
// index; parts of an agent's words only for the term itself). Each hit's points, each agent's best hit per keyword, their sum and the outcome
// factor are computed here, and only the top agents' best hits come back: a word that reaches
// every agent (a part such as "python" of "python3.12") costs rows inside SQLite, not objects in
// JavaScript. CROSS JOIN fixes the join order (SQLite keeps it as written): left to itself the
// planner scanned the whole closure table and every capability term, 10 ms at 1,000 agents.
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
    SELECT ct.agent_id, ct.field, ct.source, a.keyword, a.term, a.depth, a.relation, a.dsyn, a.asyn, a.kpart, ct.part AS apart,
           (CASE WHEN ct.field = 'skill' THEN @skillPoints WHEN ct.term = lower(trim(ct.source)) THEN @rolePoints ELSE @roleWordPoints END)
           * (CASE WHEN a.dsyn = 1 OR a.asyn = 1 THEN @synonym ELSE 1 END)
           * (CASE a.relation WHEN 'sibling' THEN @sibling ELSE pow(@decay, a.depth) END)
           * pow(@part, a.kpart + ct.part) AS points
      -- A part of an agent's word ("fw3" of "fw3_3_1") counts only for the term itself or its
      -- synonyms, not for taxonomy relatives: an ancestor such as "fw3" would otherwise reach
      -- every agent holding any name that starts with it.
      -- A part never meets a part: "fw3_3_1" and "fw3_5_1" are different names, whatever they share.
      FROM aterm AS a CROSS JOIN capability_terms AS ct
        ON ct.term = a.match_term AND ct.part IN (0, CASE WHEN a.relation = 'same' AND a.kpart = 0 THEN 1 ELSE 0 END)
  ),
  -- One reason per agent and keyword: max() takes the other columns from its own row.
  best AS MATERIALIZED (
    SELECT agent_id, keyword, max(points) AS points, field, source, term, depth, relation, dsyn, asyn, kpart, apart
      FROM hits GROUP BY agent_id, keyword
  ),
  agent_score AS MATERIALIZED (
    SELECT agent_id, round(sum(round(points, 3)), 3) AS keyword_score FROM best GROUP BY agent_id
  ),
  outcomes AS (
    SELECT o.agent_id, sum(o.succeeded) AS wins, count(*) AS total
      FROM routing_outcomes AS o
     WHERE o.agent_id IN (SELECT agent_id FROM agent_score)
       AND lower(o.capability_key) IN (SELECT term FROM dterm)
     GROUP BY o.agent_id
  ),
  -- The outcome factor (outcomes.ts): 1 while the Wilson interval of the success rate holds 50%.
  wilson AS (
    SELECT agent_id, wins, total,
           (p + z2 / (2 * total) - @z * sqrt(p * (1 - p) / total + z2 / (4 * total * total))) / (1 + z2 / total) AS lower,
           (p + z2 / (2 * total) + @z * sqrt(p * (1 - p) / total + z2 / (4 * total * total))) / (1 + z2 / total) AS upper
      FROM (SELECT agent_id, wins, total, 1.0 * wins / total AS p, @z * @z AS z2 FROM outcomes)
  ),
  top AS MATERIALIZED (
    SELECT s.agent_id, c.role, c.fleet_id, ag.status, w.wins, w.total,
           row_number() OVER (ORDER BY coalesce(ag.status IN ('pending', 'running'), 0) DESC,
              round(s.keyword_score * round(CASE WHEN w.lower > 0.5 THEN 0.5 + w.lower WHEN w.upper < 0.5 THEN 0.5 + w.upper ELSE 1 END, 3), 3) DESC,
              s.agent_id) AS rank
      FROM agent_score AS s
      CROSS JOIN capabilities AS c ON c.agent_id = s.agent_id
      LEFT JOIN agents AS ag ON ag.id = s.agent_id
      LEFT JOIN wilson AS w ON w.agent_id = s.agent_id
     WHERE @fleet IS NULL OR c.fleet_id = @fleet
     ORDER BY rank
     LIMIT $topN
  )
SELECT b.agent_id, b.field, b.source, b.keyword, b.term, b.depth, b.relation, b.dsyn, b.asyn, b.kpart, b.apart, b.points,
       t.role, t.fleet_id, t.status, t.wins, t.total
  FROM top AS t CROSS JOIN best AS b ON b.agent_id = t.agent_id
 ORDER BY t.rank`;

export function prepareRouteQuery(db: BetterSqlite3.Database): (keywords: readonly RouteKeyword[], fleetId: string | null, topN: number, weights: RouteWeights) => RouteHitRow[] {
  // One statement per top_n, prepared on first use: with the LIMIT a bound parameter, SQLite
  // spent 0.5 ms more on every call (measured on a description matching nobody), even with no rows.
  const statements = new Map<number, BetterSqlite3.Statement>();
  return (keywords, fleetId, topN, weights) => {
    if (!Number.isInteger(topN) || topN < 1) throw new RangeError(`topN must be a whole number of at least 1; got ${topN}`);
    let statement = statements.get(topN);
    if (statement === undefined) statements.set(topN, statement = db.prepare(ROUTE_SQL.replace('$topN', String(topN))));
    return statement.all({ keywords: JSON.stringify(keywords.map((k) => [k.keyword, k.term, k.part ? 1 : 0])), fleet: fleetId, ...weights }) as RouteHitRow[];
  };
}
