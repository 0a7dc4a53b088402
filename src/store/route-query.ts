import type BetterSqlite3 from 'better-sqlite3';
import type { AgentStatus } from './schema.js';

/** One way an agent's role or skill meets one keyword of a task description. */
export interface RouteHitRow {
  agent_id: string;
  field: 'role' | 'skill';
  /** The role or skill as the agent registered it. */
  source: string;
  keyword: string;
  /** The term that met the agent's term: the keyword, a synonym of it, or a taxonomy relative. */
  term: string;
  /** Taxonomy distance between keyword (or its synonym) and term; 0 without the taxonomy. */
  depth: number;
  /** 1 when a synonym on the description side was used. */
  dsyn: 0 | 1;
  /** 1 when a synonym on the agent side was used. */
  asyn: 0 | 1;
  role: string;
  fleet_id: string | null;
  /** NULL when the capability's agent is not in the agents table (legacy history). */
  status: AgentStatus | null;
  wins: number | null;
  total: number | null;
}

// route_work's one query. From the description's keywords outward: their synonyms, the taxonomy
// neighbours of those (both directions, via skill_closure, with distance), the synonyms of
// those, then every capability term equal to one of them (capability_terms, by index), with the
// agent's status and its pooled outcomes for the keys the task is about. Cost grows with the
// keywords and their neighbourhoods, not with the number of agents or messages. CROSS JOIN
// fixes the join order (SQLite keeps it as written): left to itself the planner scanned the
// whole closure table and every capability term, 10 ms at 1,000 agents.
const ROUTE_SQL = `
WITH
  kw (keyword) AS (SELECT DISTINCT value FROM json_each(@keywords)),
  dterm (keyword, term, dsyn) AS (
    SELECT keyword, keyword, 0 FROM kw
    UNION
    SELECT kw.keyword, s.synonym, 1 FROM kw JOIN synonyms AS s ON s.term = kw.keyword
  ),
  tterm (keyword, term, dsyn, depth) AS (
    SELECT keyword, term, dsyn, 0 FROM dterm
    UNION
    SELECT d.keyword, rel.name, d.dsyn, c.depth
      FROM dterm AS d
      CROSS JOIN skills AS n ON n.name = d.term
      CROSS JOIN skill_closure AS c ON c.ancestor_id = n.id AND c.depth > 0
      CROSS JOIN skills AS rel ON rel.id = c.descendant_id
    UNION
    SELECT d.keyword, rel.name, d.dsyn, c.depth
      FROM dterm AS d
      CROSS JOIN skills AS n ON n.name = d.term
      CROSS JOIN skill_closure AS c ON c.descendant_id = n.id AND c.depth > 0
      CROSS JOIN skills AS rel ON rel.id = c.ancestor_id
  ),
  aterm (keyword, term, dsyn, depth, asyn, match_term) AS (
    SELECT keyword, term, dsyn, depth, 0, term FROM tterm
    UNION
    SELECT t.keyword, t.term, t.dsyn, t.depth, 1, s.synonym FROM tterm AS t JOIN synonyms AS s ON s.term = t.term
  ),
  hits AS MATERIALIZED (
    SELECT ct.agent_id, ct.field, ct.source, a.keyword, a.term, a.depth, a.dsyn, a.asyn
      FROM aterm AS a CROSS JOIN capability_terms AS ct ON ct.term = a.match_term
  ),
  outcomes AS (
    SELECT o.agent_id, sum(o.succeeded) AS wins, count(*) AS total
      FROM routing_outcomes AS o
     WHERE o.agent_id IN (SELECT agent_id FROM hits)
       AND lower(o.capability_key) IN (SELECT term FROM dterm)
     GROUP BY o.agent_id
  )
SELECT h.agent_id, h.field, h.source, h.keyword, h.term, h.depth, h.dsyn, h.asyn,
       c.role, c.fleet_id, ag.status, o.wins, o.total
  FROM hits AS h
  CROSS JOIN capabilities AS c ON c.agent_id = h.agent_id
  LEFT JOIN agents AS ag ON ag.id = h.agent_id
  LEFT JOIN outcomes AS o ON o.agent_id = h.agent_id
 WHERE @fleet IS NULL OR c.fleet_id = @fleet`;

export function prepareRouteQuery(db: BetterSqlite3.Database): (keywords: readonly string[], fleetId: string | null) => RouteHitRow[] {
  const statement = db.prepare(ROUTE_SQL);
  return (keywords, fleetId) => statement.all({ keywords: JSON.stringify(keywords), fleet: fleetId }) as RouteHitRow[];
}
