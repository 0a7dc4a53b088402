-- 0015: route_work reads what it needs of the routing tables once per process and keeps it
-- (src/store/route-index.ts); before each route it reads these four counters to learn whether
-- anything it keeps has changed since, in this process or any other, or at the sqlite3 prompt.
-- Triggers bump a counter in the transaction that changes its tables:
--   terms     capability_terms: which agents a term reaches
--   agents    capabilities (role, fleet) and agents (status): who the candidates are
--   taxonomy  skills, synonyms: what a word expands to (skill_closure is derived from skills'
--             parent_id and rewritten with them, so it needs no trigger of its own: one per
--             closure row would add 40% to replacing the largest taxonomy, 170,000 pairs)
--   outcomes  routing_outcomes rows changed or removed, or one inserted below the newest id
--             (rows appended at the end are read by id and need no bump)
-- Nothing else reads this table; dropping a counter's row would only make route_work reload.
CREATE TABLE routing_generations (
  part       TEXT    PRIMARY KEY CHECK (part IN ('terms', 'agents', 'taxonomy', 'outcomes')),
  generation INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
INSERT INTO routing_generations (part) VALUES ('terms'), ('agents'), ('taxonomy'), ('outcomes');

CREATE TRIGGER capability_terms_inserted_route AFTER INSERT ON capability_terms
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'terms'; END;
CREATE TRIGGER capability_terms_updated_route AFTER UPDATE ON capability_terms
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'terms'; END;
CREATE TRIGGER capability_terms_deleted_route AFTER DELETE ON capability_terms
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'terms'; END;

CREATE TRIGGER capabilities_inserted_route AFTER INSERT ON capabilities
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'agents'; END;
CREATE TRIGGER capabilities_updated_route AFTER UPDATE ON capabilities
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'agents'; END;
CREATE TRIGGER capabilities_deleted_route AFTER DELETE ON capabilities
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'agents'; END;
CREATE TRIGGER agents_inserted_route AFTER INSERT ON agents
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'agents'; END;
-- Only the status ranks agents: a remote agent's last_seen_at, written on every request, does not.
CREATE TRIGGER agents_status_route AFTER UPDATE OF id, status ON agents
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'agents'; END;
CREATE TRIGGER agents_deleted_route AFTER DELETE ON agents
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'agents'; END;

CREATE TRIGGER skills_inserted_route AFTER INSERT ON skills
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'taxonomy'; END;
CREATE TRIGGER skills_updated_route AFTER UPDATE ON skills
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'taxonomy'; END;
CREATE TRIGGER skills_deleted_route AFTER DELETE ON skills
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'taxonomy'; END;
CREATE TRIGGER synonyms_inserted_route AFTER INSERT ON synonyms
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'taxonomy'; END;
CREATE TRIGGER synonyms_updated_route AFTER UPDATE ON synonyms
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'taxonomy'; END;
CREATE TRIGGER synonyms_deleted_route AFTER DELETE ON synonyms
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'taxonomy'; END;

-- An outcome appended with the next id is read by id; one written below the newest id (an
-- explicit id) could be missed that way, so it reloads them all, as a change or removal does.
CREATE TRIGGER routing_outcomes_inserted_route AFTER INSERT ON routing_outcomes
  WHEN NEW.id < (SELECT max(id) FROM routing_outcomes)
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'outcomes'; END;
CREATE TRIGGER routing_outcomes_updated_route AFTER UPDATE ON routing_outcomes
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'outcomes'; END;
CREATE TRIGGER routing_outcomes_deleted_route AFTER DELETE ON routing_outcomes
BEGIN UPDATE routing_generations SET generation = generation + 1 WHERE part = 'outcomes'; END;
