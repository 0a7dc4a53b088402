-- 0010: a task board per fleet. Tasks depend on other tasks of their fleet; an agent claims a
-- ready one (every dependency done) under a lease, and completes, releases or blocks it.
--
-- A task's status is the board's state: open (waiting for its dependencies, or ready), claimed
-- (exactly one row in task_claims), done, failed or blocked. Meshfleet keeps status and claim
-- row in step inside its write transactions. A claim whose lease has expired still shows as
-- claimed until the next task write of its fleet returns it; ready_tasks counts it as ready.
CREATE TABLE tasks (
  seq            INTEGER PRIMARY KEY,  -- creation order
  id             TEXT    NOT NULL UNIQUE,
  fleet_id       TEXT    NOT NULL REFERENCES fleets (id) ON DELETE CASCADE,
  title          TEXT    NOT NULL,
  description    TEXT    NOT NULL,
  priority       INTEGER NOT NULL DEFAULT 0,  -- higher first
  status         TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'claimed', 'done', 'failed', 'blocked')),
  created_by     TEXT,                        -- the lead agent's id; NULL for the operator
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  finished_by    TEXT,                        -- the agent that completed it (done or failed)
  finished_at    INTEGER,
  result         TEXT,                        -- what complete_task reported
  blocked_reason TEXT
) STRICT;
-- ready_tasks, next_task, list_tasks with a status: the tasks of one fleet in one status.
CREATE INDEX tasks_by_fleet ON tasks (fleet_id, status, priority, seq);
-- list_tasks: the tasks of one fleet in creation order; status rides along, so a page far down
-- the board (or filtered by status) skips the rows before it without reading them.
CREATE INDEX tasks_in_order ON tasks (fleet_id, seq, status);

-- The skills a task needs, in the order given: routing keys for next_task and the outcomes
-- complete_task records.
CREATE TABLE task_skills (
  task_id  TEXT    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  skill    TEXT    NOT NULL,
  PRIMARY KEY (task_id, position)
) STRICT, WITHOUT ROWID;

-- task_id waits for depends_on_id to be done. Both are tasks of the same fleet.
CREATE TABLE task_dependencies (
  task_id       TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  depends_on_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  PRIMARY KEY (task_id, depends_on_id),
  CHECK (task_id <> depends_on_id)
) STRICT, WITHOUT ROWID;
-- What a completion makes ready: the tasks waiting for one task.
CREATE INDEX task_dependents ON task_dependencies (depends_on_id, task_id);

-- The current claim of a task: one row at most (the primary key), so two agents can never hold
-- one task. The lease ends at expires_at unless its holder claims the task again to renew it.
CREATE TABLE task_claims (
  task_id    TEXT    PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
  agent_id   TEXT    NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  claimed_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- An agent's end returns its claims: the claims of one agent.
CREATE INDEX task_claims_by_agent ON task_claims (agent_id);
-- Expired leases, soonest first.
CREATE INDEX task_claims_by_expiry ON task_claims (expires_at);

-- Tasks an agent could claim now: open, or claimed under an expired lease, with every dependency
-- done. Best first: priority, then creation order.
CREATE VIEW ready_tasks AS
SELECT t.fleet_id, t.id AS task_id, t.title, t.priority, t.created_at,
       (SELECT group_concat(s.skill, ', ') FROM task_skills AS s WHERE s.task_id = t.id) AS skills
  FROM tasks AS t
 WHERE (t.status = 'open'
        OR (t.status = 'claimed' AND EXISTS (
              SELECT 1 FROM task_claims AS c
               WHERE c.task_id = t.id AND c.expires_at <= CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))))
   AND NOT EXISTS (
         SELECT 1 FROM task_dependencies AS d JOIN tasks AS dep ON dep.id = d.depends_on_id
          WHERE d.task_id = t.id AND dep.status <> 'done')
 ORDER BY t.fleet_id, t.priority DESC, t.seq;

-- The whole board: each task with its claim and what it still waits for.
CREATE VIEW task_board AS
SELECT t.fleet_id, t.id AS task_id, t.title, t.status, t.priority,
       c.agent_id AS claimed_by, c.expires_at AS lease_expires_at, t.finished_by,
       (SELECT group_concat(d.depends_on_id, ', ') FROM task_dependencies AS d WHERE d.task_id = t.id) AS depends_on,
       (SELECT count(*) FROM task_dependencies AS d JOIN tasks AS dep ON dep.id = d.depends_on_id
         WHERE d.task_id = t.id AND dep.status <> 'done') AS waiting_on,
       t.blocked_reason, t.created_at, t.updated_at
  FROM tasks AS t LEFT JOIN task_claims AS c ON c.task_id = t.id
 ORDER BY t.fleet_id, t.seq;
