-- 0003: who supervises each agent process, and how many attempts it has had.
--
-- Many servers run on one database; each starts and watches its own agents. A server that dies
-- leaves its agents' rows behind: supervisors lets the others tell a dead supervisor from a live
-- one (pid, and the pid's start time, so a reused pid is not mistaken for the server), and
-- agents.supervisor_id says whose agents they are.
CREATE TABLE supervisors (
  id           TEXT    PRIMARY KEY,  -- instance id, new each time a server starts
  pid          INTEGER NOT NULL,
  pid_start    TEXT,                 -- the process's start time as the OS reports it; NULL where unknown
  started_at   INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
) STRICT;

ALTER TABLE agents ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0);
ALTER TABLE agents ADD COLUMN supervisor_id TEXT;
-- The agent process's own start time, to check a pid still names the same process before
-- killing it.
ALTER TABLE agents ADD COLUMN pid_start TEXT;

-- Legacy and earlier rows: an agent that ever started had at least one attempt.
UPDATE agents SET attempts = retry_count + 1 WHERE started_at IS NOT NULL;

-- Recovery: the live agents of one supervisor.
CREATE INDEX agents_by_supervisor ON agents (supervisor_id, status) WHERE supervisor_id IS NOT NULL;
