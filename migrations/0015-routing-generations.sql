-- 0015: route_work reads what it needs of the routing tables once per connection and keeps it
-- (src/store/route-index.ts). Before each route it reads the four counters below to learn whether
-- anything it keeps has changed since, in this process or any other, or at the sqlite3 prompt,
-- and routing_changes to learn which terms and agents changed, so it reads again only those.
-- Triggers bump a counter (and stamp the changed key) in the transaction that changes a table:
--   terms     capability_terms: which agents hold a term (key: the term)
--   agents    capabilities (role, fleet) and agents (insert, delete, status): who the candidates
--             are (key: the agent id)
--   taxonomy  skills, synonyms: what a word expands to (no keys: a change reloads it all). The
--             closure table is derived from skills.parent_id and rewritten with it, so it needs no
--             trigger of its own: one per closure row would add 40% to replacing the largest
--             taxonomy (170,000 pairs).
--   outcomes  routing_outcomes rows changed or removed, or one inserted below the newest id, reload
--             them all; rows appended at the end are read by id and need no bump.
-- A counter moves to the current time in microseconds (or one past its value, if that is more),
-- so it never comes back to a value a connection has seen: restoring a backup sets it back, which a
-- connection notices (a lower value: it reads everything again); any write after the restore then
-- moves it past every value seen before.
-- Nothing else reads these tables. routing_changes keeps one row per term or agent ever changed,
-- with the generation of its latest change.
CREATE TABLE routing_generations (
  part       TEXT    PRIMARY KEY CHECK (part IN ('terms', 'agents', 'taxonomy', 'outcomes')),
  generation INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
INSERT INTO routing_generations (part) VALUES ('terms'), ('agents'), ('taxonomy'), ('outcomes');

CREATE TABLE routing_changes (
  part       TEXT    NOT NULL CHECK (part IN ('terms', 'agents')),
  key        TEXT    NOT NULL,
  generation INTEGER NOT NULL,
  PRIMARY KEY (part, key)
) STRICT, WITHOUT ROWID;
-- What changed since the generation a connection last saw.
CREATE INDEX routing_changes_since ON routing_changes (part, generation);

CREATE TRIGGER capability_terms_inserted_route AFTER INSERT ON capability_terms
BEGIN
  UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'terms';
  INSERT INTO routing_changes (part, key, generation) SELECT 'terms', NEW.term, generation FROM routing_generations WHERE part = 'terms'
    ON CONFLICT (part, key) DO UPDATE SET generation = excluded.generation;
END;
CREATE TRIGGER capability_terms_updated_route AFTER UPDATE ON capability_terms
BEGIN
  UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'terms';
  INSERT INTO routing_changes (part, key, generation) SELECT 'terms', OLD.term, generation FROM routing_generations WHERE part = 'terms'
    ON CONFLICT (part, key) DO UPDATE SET generation = excluded.generation;
  INSERT INTO routing_changes (part, key, generation) SELECT 'terms', NEW.term, generation FROM routing_generations WHERE part = 'terms'
    ON CONFLICT (part, key) DO UPDATE SET generation = excluded.generation;
END;
CREATE TRIGGER capability_terms_deleted_route AFTER DELETE ON capability_terms
BEGIN
  UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'terms';
  INSERT INTO routing_changes (part, key, generation) SELECT 'terms', OLD.term, generation FROM routing_generations WHERE part = 'terms'
    ON CONFLICT (part, key) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER capabilities_inserted_route AFTER INSERT ON capabilities
BEGIN
  UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'agents';
  INSERT INTO routing_changes (part, key, generation) SELECT 'agents', NEW.agent_id, generation FROM routing_generations WHERE part = 'agents'
    ON CONFLICT (part, key) DO UPDATE SET generation = excluded.generation;
END;
CREATE TRIGGER capabilities_updated_route AFTER UPDATE ON capabilities
BEGIN
  UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'agents';
  INSERT INTO routing_changes (part, key, generation) SELECT 'agents', OLD.agent_id, generation FROM routing_generations WHERE part = 'agents'
    ON CONFLICT (part, key) DO UPDATE SET generation = excluded.generation;
  INSERT INTO routing_changes (part, key, generation) SELECT 'agents', NEW.agent_id, generation FROM routing_generations WHERE part = 'agents'
    ON CONFLICT (part, key) DO UPDATE SET generation = excluded.generation;
END;
CREATE TRIGGER capabilities_deleted_route AFTER DELETE ON capabilities
BEGIN
  UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'agents';
  INSERT INTO routing_changes (part, key, generation) SELECT 'agents', OLD.agent_id, generation FROM routing_generations WHERE part = 'agents'
    ON CONFLICT (part, key) DO UPDATE SET generation = excluded.generation;
END;
CREATE TRIGGER agents_inserted_route AFTER INSERT ON agents
BEGIN
  UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'agents';
  INSERT INTO routing_changes (part, key, generation) SELECT 'agents', NEW.id, generation FROM routing_generations WHERE part = 'agents'
    ON CONFLICT (part, key) DO UPDATE SET generation = excluded.generation;
END;
-- Only the status ranks agents: a remote agent's last_seen_at, written on every request, does not.
CREATE TRIGGER agents_status_route AFTER UPDATE OF id, status ON agents
BEGIN
  UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'agents';
  INSERT INTO routing_changes (part, key, generation) SELECT 'agents', OLD.id, generation FROM routing_generations WHERE part = 'agents'
    ON CONFLICT (part, key) DO UPDATE SET generation = excluded.generation;
  INSERT INTO routing_changes (part, key, generation) SELECT 'agents', NEW.id, generation FROM routing_generations WHERE part = 'agents'
    ON CONFLICT (part, key) DO UPDATE SET generation = excluded.generation;
END;
CREATE TRIGGER agents_deleted_route AFTER DELETE ON agents
BEGIN
  UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'agents';
  INSERT INTO routing_changes (part, key, generation) SELECT 'agents', OLD.id, generation FROM routing_generations WHERE part = 'agents'
    ON CONFLICT (part, key) DO UPDATE SET generation = excluded.generation;
END;

CREATE TRIGGER skills_inserted_route AFTER INSERT ON skills
BEGIN UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'taxonomy'; END;
CREATE TRIGGER skills_updated_route AFTER UPDATE ON skills
BEGIN UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'taxonomy'; END;
CREATE TRIGGER skills_deleted_route AFTER DELETE ON skills
BEGIN UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'taxonomy'; END;
CREATE TRIGGER synonyms_inserted_route AFTER INSERT ON synonyms
BEGIN UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'taxonomy'; END;
CREATE TRIGGER synonyms_updated_route AFTER UPDATE ON synonyms
BEGIN UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'taxonomy'; END;
CREATE TRIGGER synonyms_deleted_route AFTER DELETE ON synonyms
BEGIN UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'taxonomy'; END;

-- An outcome appended with the next id is read by id; one written at or below the newest id (an
-- explicit id, or an INSERT OR REPLACE of an existing row, whose delete fires no trigger) could be
-- missed that way, so it reloads them all, as a change or removal does. Before the insert, an id
-- SQLite is still to choose reads as -1 (so in the sqlite3 3.40 CLI and in the SQLite that
-- better-sqlite3 bundles, though the documentation leaves that value open); an explicit id of -1
-- itself is the one such row this misses.
CREATE TRIGGER routing_outcomes_inserted_route BEFORE INSERT ON routing_outcomes
  WHEN NEW.id <> -1 AND NEW.id <= coalesce((SELECT max(id) FROM routing_outcomes), 0)
BEGIN UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'outcomes'; END;
CREATE TRIGGER routing_outcomes_updated_route AFTER UPDATE ON routing_outcomes
BEGIN UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'outcomes'; END;
CREATE TRIGGER routing_outcomes_deleted_route AFTER DELETE ON routing_outcomes
BEGIN UPDATE routing_generations SET generation = max(generation + 1, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)) WHERE part = 'outcomes'; END;
