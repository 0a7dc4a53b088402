-- 0009: route_work's terms from one tokenizer that keeps real skill names whole.
--
-- "c++", "node.js", "ci/cd", "aws_lambda", "fw3_3_1" are each one term now, and a word's parts
-- ("node" of "node.js", "aws" of "aws_lambda", "fw3" of "fw3_3_1") are stored marked `part`, so
-- routing scores them below the whole word. Bare numbers and one-letter fragments ("3", "1")
-- are no longer terms. The old rows came from splitting on every underscore and slash; they are
-- derived data, so the table is rebuilt.
DROP TABLE capability_terms;
CREATE TABLE capability_terms (
  term     TEXT    NOT NULL,
  agent_id TEXT    NOT NULL REFERENCES capabilities (agent_id) ON DELETE CASCADE,
  field    TEXT    NOT NULL CHECK (field IN ('role', 'skill')),
  source   TEXT    NOT NULL,  -- the role or skill as registered
  part     INTEGER NOT NULL DEFAULT 0 CHECK (part IN (0, 1)),  -- 1: only a part of one of its words
  -- part second: route_work reads a term's whole-word rows alone when it comes through the taxonomy.
  PRIMARY KEY (term, part, agent_id, field, source)
) STRICT, WITHOUT ROWID;
-- Cascade from capabilities, and "terms of one agent".
CREATE INDEX capability_terms_by_agent ON capability_terms (agent_id);

-- The tokenizer (src/store/terms.ts) is code, not SQL: this row asks the migrator to fill the
-- table from capabilities and capability_skills in this same transaction, then it is removed.
INSERT INTO meshfleet_meta (key, value) VALUES ('derive_capability_terms', '1');
