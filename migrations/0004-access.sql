-- 0004: who may do what, sends that can be repeated safely, and what retention prunes by.
--
-- Each agent has a profile (worker, or lead: a lead may also attach agents to its own fleet, set
-- its own fleet's timeout and record outcomes for its fleet's agents) and a secret of its own:
-- its server proves it is that agent with MESHFLEET_AGENT_TOKEN, whose SHA-256 is kept here.
-- The token itself is never stored.
ALTER TABLE agents ADD COLUMN profile TEXT NOT NULL DEFAULT 'worker' CHECK (profile IN ('worker', 'lead'));
ALTER TABLE agents ADD COLUMN token_hash TEXT;  -- hex SHA-256; NULL for agents from before schema 4

-- Templates keep each seat's profile; NULL is the default (worker).
ALTER TABLE template_agents ADD COLUMN profile TEXT CHECK (profile IS NULL OR profile IN ('worker', 'lead'));

-- send_message / send_messages with an idempotency_key: the first call's answer, kept for a
-- while, so a client that lost the reply can repeat the call and get the same message ids.
CREATE TABLE send_keys (
  fleet_id        TEXT    NOT NULL,
  idempotency_key TEXT    NOT NULL,
  request_sha256  TEXT    NOT NULL,  -- of the call's messages: the same key with other content is refused
  result          TEXT    NOT NULL,  -- JSON, the answer the first call returned
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (fleet_id, idempotency_key)
) STRICT, WITHOUT ROWID;
-- Expiry of old keys.
CREATE INDEX send_keys_by_created ON send_keys (created_at);

-- prune: settled fleets by completion time.
CREATE INDEX fleets_settled ON fleets (completed_at) WHERE status IN ('complete', 'failed');
-- prune: events that belong to no fleet, by age.
CREATE INDEX events_fleetless_by_time ON events (recorded_at) WHERE fleet_id IS NULL;
