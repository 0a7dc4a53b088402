-- 0008: an agent may work in a git worktree of its own, on a branch of its own, created from the
-- repository's HEAD when the agent is spawned. The agent row says where; `workspace_state` is
-- 'active' until its fleet settles, then 'removed' (the worktree had no uncommitted changes; the
-- branch stays) or 'kept' (it had some, and is left for a person). NULL: no workspace of its own.
ALTER TABLE agents ADD COLUMN workspace_repo TEXT;    -- the repository's top folder
ALTER TABLE agents ADD COLUMN workspace_path TEXT;    -- the worktree, where the agent runs
ALTER TABLE agents ADD COLUMN workspace_branch TEXT;  -- meshfleet/<fleet>/<agent>
ALTER TABLE agents ADD COLUMN workspace_base TEXT;    -- the commit it started from
ALTER TABLE agents ADD COLUMN workspace_state TEXT CHECK (workspace_state IS NULL OR workspace_state IN ('active', 'removed', 'kept'));
-- The sweep after fleets settle reads the active ones.
CREATE INDEX agents_workspaces_active ON agents (fleet_id) WHERE workspace_state = 'active';
