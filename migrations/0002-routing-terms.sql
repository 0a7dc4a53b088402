-- 0002: what route_work matches on, indexed, and outcomes found by lower-cased key.
--
-- Each capability's role and skills as lower-cased terms: the whole text and each of its words
-- ("API Writer" gives "api writer", "api", "writer"). route_work joins its expanded description
-- terms to this table by index instead of scanning every capability. Meshfleet writes these
-- rows whenever it writes a capability; they are derived data, rebuilt below for existing rows.
CREATE TABLE capability_terms (
  term     TEXT NOT NULL,
  agent_id TEXT NOT NULL REFERENCES capabilities (agent_id) ON DELETE CASCADE,
  field    TEXT NOT NULL CHECK (field IN ('role', 'skill')),
  source   TEXT NOT NULL,  -- the role or skill as registered
  PRIMARY KEY (term, agent_id, field, source)
) STRICT, WITHOUT ROWID;
-- Cascade from capabilities, and "terms of one agent".
CREATE INDEX capability_terms_by_agent ON capability_terms (agent_id);

-- Backfill: whole roles and skills, then their words (split on anything but letters and digits
-- would need a tokenizer; spaces, hyphens, underscores and slashes cover what the old server held).
WITH RECURSIVE
  texts (agent_id, field, source, rest) AS (
    SELECT agent_id, 'role', role, replace(replace(replace(lower(role), '-', ' '), '_', ' '), '/', ' ') || ' ' FROM capabilities
    UNION ALL
    SELECT agent_id, 'skill', skill, replace(replace(replace(lower(skill), '-', ' '), '_', ' '), '/', ' ') || ' ' FROM capability_skills
  ),
  words (agent_id, field, source, word, rest) AS (
    SELECT agent_id, field, source, '', rest FROM texts
    UNION ALL
    SELECT agent_id, field, source, substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1)
      FROM words WHERE rest <> ''
  )
INSERT OR IGNORE INTO capability_terms (term, agent_id, field, source)
SELECT word, agent_id, field, source FROM words WHERE word <> ''
UNION
SELECT trim(lower(role)), agent_id, 'role', role FROM capabilities WHERE trim(role) <> ''
UNION
SELECT trim(lower(skill)), agent_id, 'skill', skill FROM capability_skills WHERE trim(skill) <> '';

-- The outcome factor pools an agent's outcomes for the keys a task is about.
DROP INDEX routing_outcomes_by_agent_key;
CREATE INDEX routing_outcomes_by_agent_key ON routing_outcomes (agent_id, lower(capability_key));
