-- History is tamper-evident. Every message and every event gets one row here, written in
-- the same write transaction as the row itself, in the order they were written.
--
-- row_hash is the SHA-256 of the row's canonical content (its columns in a fixed order, as JSON;
-- src/store/ledger-chain.ts). chain_hash is the SHA-256 of the previous row's chain_hash with this
-- row's position, ref_table, ref_id, fleet_id and row_hash, so editing, deleting or moving any
-- message or event, or any row of this table, breaks the chain from that row on. The hashes are
-- computed by Meshfleet, not by SQL: SQLite 3.40 has no hash function, and a trigger that chained
-- rows would also chain what someone else inserted. `meshfleet verify` recomputes it.
--
-- Rows that existed before this migration are chained once by it, messages in seq order and then
-- events in id order, inside the upgrade's transaction (meshfleet_meta: chain_backfilled_rows and
-- chain_started_at say how many and when); their history before the upgrade cannot be proven.
CREATE TABLE ledger_chain (
  position   INTEGER PRIMARY KEY CHECK (position >= 1),  -- 1, 2, 3… without gaps
  ref_table  TEXT    NOT NULL CHECK (ref_table IN ('messages', 'events')),
  ref_id     INTEGER NOT NULL,  -- messages.seq or events.id
  fleet_id   TEXT,              -- the row's fleet, so a pruned row can be told from a deleted one
  row_hash   TEXT    NOT NULL,  -- hex SHA-256 of the row's canonical content
  chain_hash TEXT    NOT NULL,  -- hex SHA-256 of the previous chain_hash and this row's fields
  pruned_at  INTEGER            -- set by prune when it deletes the row; not covered by the hashes
) STRICT;
-- prune marks the chain row of each row it deletes; verify finds rows missing from the chain.
CREATE INDEX ledger_chain_by_ref ON ledger_chain (ref_table, ref_id) WHERE pruned_at IS NULL;
