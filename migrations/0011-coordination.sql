-- 0011: threads, full-text search, receipts by tool, and councils.
--
-- Threads. A message may carry a subject; its thread_id is the thread it belongs to: a reply
-- (correlation_id naming a message of the same fleet) joins that message's thread, a message
-- whose correlation_id names no message of its fleet is in the thread of that id (the old
-- server's free-form correlation ids keep grouping as before), any other message starts a thread
-- of its own id. Meshfleet's sends write thread_id; the trigger below fills it for any other
-- writer (a legacy import, sqlite3), like deliveries.sent_at in 0005.
ALTER TABLE messages ADD COLUMN subject TEXT;
ALTER TABLE messages ADD COLUMN thread_id TEXT;

-- Backfill in send order: a reply's parent is resolved first. The chain is walked down from each
-- root (a message whose correlation_id names no message of its fleet), so the answer does not
-- depend on the order in which UPDATE visits rows. Each message has at most one parent, so the
-- walk ends; a cycle that no root reaches (only hand-edited data holds one) keeps its own id.
CREATE TEMP TABLE thread_backfill (seq INTEGER PRIMARY KEY, thread_id TEXT NOT NULL);
WITH RECURSIVE chain (seq, id, fleet_id, thread_id) AS (
  SELECT m.seq, m.id, m.fleet_id, coalesce(m.correlation_id, m.id)
    FROM messages AS m
   WHERE m.correlation_id IS NULL
      OR NOT EXISTS (SELECT 1 FROM messages AS p WHERE p.id = m.correlation_id AND p.fleet_id = m.fleet_id)
  UNION ALL
  SELECT c.seq, c.id, c.fleet_id, chain.thread_id
    FROM chain JOIN messages AS c ON c.correlation_id = chain.id AND c.fleet_id = chain.fleet_id
)
INSERT OR IGNORE INTO thread_backfill (seq, thread_id) SELECT seq, thread_id FROM chain;
UPDATE messages SET thread_id = coalesce((SELECT b.thread_id FROM thread_backfill AS b WHERE b.seq = messages.seq), id);
DROP TABLE thread_backfill;

CREATE TRIGGER messages_thread_id AFTER INSERT ON messages WHEN NEW.thread_id IS NULL
BEGIN
  UPDATE messages
     SET thread_id = coalesce(
       (SELECT p.thread_id FROM messages AS p WHERE p.id = NEW.correlation_id AND p.fleet_id = NEW.fleet_id AND p.seq <> NEW.seq),
       NEW.correlation_id, NEW.id)
   WHERE seq = NEW.seq;
END;

-- get_thread and get_inbox's thread filter: the messages of a thread in send order. A message
-- that starts its own thread (thread_id = id, most messages) stays out of the index, so a send
-- without correlation_id does not pay for it; such a thread's root is found by its id (UNIQUE).
--   WHERE thread_id = ? AND thread_id <> id ORDER BY seq
CREATE INDEX messages_by_thread ON messages (thread_id, seq) WHERE thread_id <> id;

-- Full-text search over subjects and payloads. An external-content FTS5 index: the text lives
-- once, in messages; the index holds tokens only. FTS5 tables cannot be STRICT; they are virtual.
--
-- Indexing a row inside each send's own transaction would more than double a send's cost (FTS5
-- writes a new index segment per transaction, ~35 µs here, whatever the merge settings), so the
-- triggers below only queue a new or edited message in messages_fts_pending (a few µs), and the
-- queue is indexed in batches (one segment per batch) by the server that owns timers, every
-- tick, and by search_messages before it reads, so a search always sees every message. At the
-- sqlite3 prompt the newest messages may wait in the queue for a tick. A deleted message that
-- was indexed leaves the index at once (prune, sqlite3); one still queued just leaves the queue.
CREATE VIRTUAL TABLE messages_fts USING fts5(subject, payload, content = 'messages', content_rowid = 'seq');

-- Messages not yet in messages_fts, by seq.
CREATE TABLE messages_fts_pending (
  seq INTEGER PRIMARY KEY
) STRICT;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
BEGIN
  INSERT INTO messages_fts_pending (seq) VALUES (NEW.seq);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, subject, payload)
    SELECT 'delete', OLD.seq, OLD.subject, OLD.payload
     WHERE NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE seq = OLD.seq);
  DELETE FROM messages_fts_pending WHERE seq = OLD.seq;
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF subject, payload ON messages
BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, subject, payload)
    SELECT 'delete', OLD.seq, OLD.subject, OLD.payload
     WHERE NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE seq = OLD.seq);
  INSERT OR IGNORE INTO messages_fts_pending (seq) VALUES (NEW.seq);
END;

-- Every message already stored (and every legacy import before this upgrade) is searchable.
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

-- Receipts (the table of 0001, which legacy v2 receipts were imported into) are written by the
-- receipt tool now; get_receipts lists one message's in time order.
--   WHERE message_id = ? ORDER BY recorded_at  (the primary key's prefix finds them)

-- Councils: a proposal (a message to the voters) decided by weighted votes. The first final
-- outcome is stored and never changes (the trigger refuses to change it, even from sqlite3).
CREATE TABLE councils (
  message_id  TEXT    PRIMARY KEY,  -- the proposal message; also the council's id
  fleet_id    TEXT    NOT NULL,
  proposer_id TEXT    NOT NULL,     -- the agent the proposal was sent as
  subject     TEXT    NOT NULL,
  quorum      INTEGER NOT NULL CHECK (quorum >= 1),  -- weight of approvals needed
  silence     TEXT    NOT NULL CHECK (silence IN ('abstain', 'approve')),
  opened_at   INTEGER NOT NULL,
  deadline_at INTEGER,              -- NULL: no deadline
  outcome     TEXT    CHECK (outcome IS NULL OR outcome IN ('ratified', 'rejected', 'expired')),
  decided_at  INTEGER,              -- the vote that decided it, or the deadline
  reason      TEXT,
  CHECK ((outcome IS NULL) = (decided_at IS NULL))
) STRICT;
-- The timer owner's sweep: open councils whose deadline has passed.
--   WHERE outcome IS NULL AND deadline_at IS NOT NULL AND deadline_at <= ?
CREATE INDEX councils_due ON councils (deadline_at) WHERE outcome IS NULL AND deadline_at IS NOT NULL;
-- One fleet's councils (retention, sqlite3).
CREATE INDEX councils_by_fleet ON councils (fleet_id, opened_at);

CREATE TRIGGER councils_outcome_final BEFORE UPDATE OF outcome, decided_at, reason ON councils
  WHEN OLD.outcome IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'a council''s outcome is final once decided');
END;

CREATE TABLE council_voters (
  council_id TEXT    NOT NULL REFERENCES councils (message_id) ON DELETE CASCADE,
  agent_id   TEXT    NOT NULL,
  weight     INTEGER NOT NULL CHECK (weight >= 1),
  required   INTEGER NOT NULL CHECK (required IN (0, 1)),  -- a required sign-off
  PRIMARY KEY (council_id, agent_id)
) STRICT, WITHOUT ROWID;

-- Every vote ever cast; a re-cast supersedes the voter's earlier vote, which stays as history.
CREATE TABLE council_votes (
  id            INTEGER PRIMARY KEY,
  council_id    TEXT    NOT NULL,
  agent_id      TEXT    NOT NULL,
  approve       INTEGER NOT NULL CHECK (approve IN (0, 1)),
  note          TEXT,
  cast_at       INTEGER NOT NULL,
  superseded_at INTEGER,  -- NULL for the voter's current vote
  FOREIGN KEY (council_id, agent_id) REFERENCES council_voters (council_id, agent_id) ON DELETE CASCADE
) STRICT;
-- The current vote of each voter: at most one.
CREATE UNIQUE INDEX council_votes_current ON council_votes (council_id, agent_id) WHERE superseded_at IS NULL;
-- History of one council in order; also the foreign key's lookup.
CREATE INDEX council_votes_by_council ON council_votes (council_id, agent_id, id);

-- For people at the sqlite3 prompt: each council with its weights counted.
CREATE VIEW council_tally AS
SELECT c.message_id AS council_id,
       c.fleet_id,
       c.subject,
       c.proposer_id,
       c.quorum,
       c.silence,
       coalesce(c.outcome, 'open') AS status,
       c.reason,
       c.opened_at,
       c.deadline_at,
       c.decided_at,
       (SELECT coalesce(sum(v.weight), 0) FROM council_voters AS v
          JOIN council_votes AS b ON b.council_id = v.council_id AND b.agent_id = v.agent_id AND b.superseded_at IS NULL
         WHERE v.council_id = c.message_id AND b.approve = 1) AS approvals,
       (SELECT coalesce(sum(v.weight), 0) FROM council_voters AS v
          JOIN council_votes AS b ON b.council_id = v.council_id AND b.agent_id = v.agent_id AND b.superseded_at IS NULL
         WHERE v.council_id = c.message_id AND b.approve = 0) AS declines,
       (SELECT coalesce(sum(v.weight), 0) FROM council_voters AS v WHERE v.council_id = c.message_id) AS total_weight
  FROM councils AS c
 ORDER BY c.opened_at, c.message_id;

-- Each voter of each council with its current vote (NULL: not voted) and how many times it voted.
CREATE VIEW council_ballots AS
SELECT v.council_id,
       v.agent_id,
       v.weight,
       v.required,
       CASE b.approve WHEN 1 THEN 'approve' WHEN 0 THEN 'decline' END AS vote,
       b.note,
       b.cast_at,
       (SELECT count(*) FROM council_votes AS h WHERE h.council_id = v.council_id AND h.agent_id = v.agent_id) AS votes_cast
  FROM council_voters AS v
  LEFT JOIN council_votes AS b ON b.council_id = v.council_id AND b.agent_id = v.agent_id AND b.superseded_at IS NULL
 ORDER BY v.council_id, v.agent_id;

-- Receipts beside the message they are about.
CREATE VIEW message_receipts AS
SELECT r.message_id,
       m.fleet_id,
       m.subject,
       r.agent_id,
       r.action,
       r.note,
       r.recorded_at
  FROM receipts AS r
  LEFT JOIN messages AS m ON m.id = r.message_id
 ORDER BY r.message_id, r.recorded_at, r.agent_id, r.action;

-- Threads: one row per thread with its first subject, size and time span.
CREATE VIEW threads AS
SELECT m.thread_id,
       m.fleet_id,
       (SELECT s.subject FROM messages AS s WHERE s.thread_id = m.thread_id AND s.fleet_id = m.fleet_id AND s.subject IS NOT NULL ORDER BY s.seq LIMIT 1) AS subject,
       count(*) AS messages,
       min(m.sent_at) AS first_sent_at,
       max(m.sent_at) AS last_sent_at
  FROM messages AS m
 GROUP BY m.fleet_id, m.thread_id;
