// The SQL query route_work ran before it kept an index (schema 14 and earlier), as a reference:
// test/routing/route-reference.test.ts holds today's route_work to the same rankings, scores and
// points per word on random fleets. It reads the tables afresh on every call, so it also shows
// whether route_work's kept index is current.
import BetterSqlite3 from 'better-sqlite3';
import { tokens } from '../../src/store/terms.js';
import { FIELD_POINTS, MAX_PARTS, PART_DISCOUNT, SIBLING_SHARE, SYNONYM_DISCOUNT, TAXONOMY_DECAY } from '../../src/routing/route-work.js';
import { OUTCOME_Z, outcomeFactor, roundScore } from '../../src/routing/outcomes.js';
import { MAX_ROUTE_WORDS } from '../../src/mesh/limits.js';

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


export interface ReferenceMatch {
  agentId: string;
  score: number;
  live: boolean;
  /** Each word's points for this agent, in the description's order. */
  points: { keyword: string; points: number }[];
}

interface Row {
  agent_id: string;
  keyword: string;
  points: number;
  status: string | null;
  wins: number | null;
  total: number | null;
}

/** The top agents for a description by the reference query, on its own connection to the file. */
export function referenceRoute(dbPath: string, description: string, topN: number, fleetId: string | null = null): ReferenceMatch[] {
  // The description side as route_work takes it: at most MAX_PARTS parts of a word.
  const words = tokens(description).slice(0, MAX_ROUTE_WORDS).flatMap((t) => [[t.whole, t.whole, 0], ...t.parts.slice(0, MAX_PARTS).map((p) => [t.whole, p, 1])]);
  const db = new BetterSqlite3(dbPath, { readonly: true });
  try {
    const rows = db.prepare(ROUTE_SQL.replace('$topN', String(topN))).all({
      keywords: JSON.stringify(words), fleet: fleetId,
      rolePoints: FIELD_POINTS.role, roleWordPoints: FIELD_POINTS.roleWord, skillPoints: FIELD_POINTS.skill, synonym: SYNONYM_DISCOUNT,
      decay: TAXONOMY_DECAY, sibling: SIBLING_SHARE, part: PART_DISCOUNT, z: OUTCOME_Z,
    }) as Row[];
    const order = new Map(words.map(([keyword], i) => [keyword as string, i]));
    const byAgent = new Map<string, Row[]>();
    for (const row of rows) byAgent.set(row.agent_id, [...(byAgent.get(row.agent_id) ?? []), row]);
    return [...byAgent].map(([agentId, hits]) => {
      const points = hits.sort((a, b) => order.get(a.keyword)! - order.get(b.keyword)!).map((h) => ({ keyword: h.keyword, points: roundScore(h.points) }));
      const keywordScore = roundScore(points.reduce((sum, p) => sum + p.points, 0));
      const { wins, total, status } = hits[0]!;
      return { agentId, live: status === 'pending' || status === 'running', points, keywordScore, wins: wins ?? 0, total: total ?? 0 };
    }).map(({ agentId, live, points, keywordScore, wins, total }) => ({ agentId, live, points, score: roundScore(keywordScore * outcomeFactor(wins, total).factor) }));
  } finally {
    db.close();
  }
}
