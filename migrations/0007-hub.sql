-- 0007: one hub per database.
--
-- The hub is the long-lived process that starts and watches agents for every server on the
-- database (`meshfleet hub`). hub_lease holds at most one row: the hub that owns the database
-- now. A second hub reads it and refuses while the holder lives (its pid, with that pid's start
-- time, and a heartbeat at most a stale bound old); a dead holder's row is replaced, in the same
-- IMMEDIATE transaction that read it, so two hubs starting at once cannot both win.
CREATE TABLE hub_lease (
  slot         INTEGER PRIMARY KEY CHECK (slot = 1),  -- one row at most
  hub_id       TEXT    NOT NULL,  -- the hub's supervisors.id: the agents it owns carry it
  pid          INTEGER NOT NULL,
  pid_start    TEXT,              -- the process's start time as the OS reports it; NULL where unknown
  started_at   INTEGER NOT NULL,  -- epoch ms
  heartbeat_at INTEGER NOT NULL,  -- epoch ms
  listen       TEXT,              -- host:port of its HTTP endpoint; NULL while it has none
  log_path     TEXT,              -- where its output goes when a server started it
  stop_request TEXT CHECK (stop_request IN ('stop', 'drain'))  -- set by `meshfleet hub stop`
) STRICT;

-- The hub's queue: agents recorded by a server and claimed by nobody yet, oldest first.
CREATE INDEX agents_unclaimed ON agents (created_at) WHERE status = 'pending' AND supervisor_id IS NULL;
