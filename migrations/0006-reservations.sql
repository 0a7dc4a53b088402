-- 0006: advisory file reservations. An agent announces the files it is about to edit (git
-- wildmatch patterns relative to the repository root) for a while; another agent of the same
-- fleet asking for an overlapping pattern is told who holds it. A reservation counts while
-- released_at is NULL and expires_at is in the future: an expired one stops counting by itself.
CREATE TABLE file_reservations (
  id          INTEGER PRIMARY KEY,
  fleet_id    TEXT    NOT NULL,
  agent_id    TEXT    NOT NULL,
  pattern     TEXT    NOT NULL,
  exclusive   INTEGER NOT NULL CHECK (exclusive IN (0, 1)),
  reason      TEXT    NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  released_at INTEGER,
  released_by TEXT                -- who released it: the holder's id, or 'operator' / a lead's id when forced
) STRICT;
-- A fleet's live reservations (the conflict check, list_reservations), and all of them (prune).
CREATE INDEX file_reservations_by_fleet ON file_reservations (fleet_id, released_at, expires_at);
-- An agent's own (renew, release, re-reserving a pattern it holds).
CREATE INDEX file_reservations_by_agent ON file_reservations (agent_id, pattern) WHERE released_at IS NULL;

-- For people: what is reserved now, with seconds left (now in epoch ms from julianday: sqlite3
-- 3.40 has no subsecond unixepoch).
CREATE VIEW live_reservations AS
  SELECT id, fleet_id, agent_id, pattern, exclusive, reason, created_at, expires_at,
         (expires_at - now_ms) / 1000 AS seconds_left
    FROM file_reservations, (SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) AS now_ms)
   WHERE released_at IS NULL AND expires_at > now_ms;
