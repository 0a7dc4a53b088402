-- 0012: who may use the hub's HTTP endpoint, and agents that run elsewhere.
--
-- Operator tokens open /mcp as the operator (every tool, every fleet). Only their SHA-256 is
-- kept: `meshfleet token create --operator` prints the token once. A revoked token keeps its
-- row, so `meshfleet token list` still says when it was revoked.
CREATE TABLE operator_tokens (
  id           INTEGER PRIMARY KEY,  -- what `meshfleet token revoke ID` takes
  name         TEXT,                 -- a label for people: whose or what for
  token_hash   TEXT    NOT NULL,     -- hex SHA-256 of the token
  created_at   INTEGER NOT NULL,     -- epoch ms
  last_used_at INTEGER,              -- epoch ms, written at most every few seconds
  revoked_at   INTEGER               -- epoch ms; NULL while the token works
) STRICT;
-- Every HTTP request: the token as sent, hashed, looked up.
CREATE UNIQUE INDEX operator_tokens_by_hash ON operator_tokens (token_hash);

-- runtime 'remote': attached with attach_agent to run on another machine; no process is started
-- for it, it connects to the hub with its own token. NULL: a process the hub starts.
ALTER TABLE agents ADD COLUMN runtime TEXT CHECK (runtime IS NULL OR runtime = 'remote');
-- The agent's latest authenticated HTTP request (epoch ms): a remote agent's heartbeat.
ALTER TABLE agents ADD COLUMN last_seen_at INTEGER;

-- Every HTTP request with an agent's token: the token as sent, hashed, looked up.
CREATE INDEX agents_by_token ON agents (token_hash) WHERE token_hash IS NOT NULL;
-- The hub's silence check: remote agents still running, oldest heartbeat first.
CREATE INDEX agents_remote_running ON agents (last_seen_at) WHERE runtime = 'remote' AND status = 'running';
