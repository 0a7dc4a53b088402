-- 0005: get_inbox with `since` reads an index range, however long the inbox.
--
-- Each delivery keeps a copy of its message's sent_at (a message is never changed once written),
-- so the pending deliveries of one agent can be found by time without joining every one of them
-- to its message. Meshfleet's own sends write it; the trigger below fills it for any other writer
-- (a legacy import, an older build's code path), so a delivery is never left without it.
ALTER TABLE deliveries ADD COLUMN sent_at INTEGER;

UPDATE deliveries SET sent_at = (SELECT m.sent_at FROM messages AS m WHERE m.seq = deliveries.message_seq);

CREATE TRIGGER deliveries_sent_at AFTER INSERT ON deliveries WHEN NEW.sent_at IS NULL
BEGIN
  UPDATE deliveries SET sent_at = (SELECT m.sent_at FROM messages AS m WHERE m.seq = NEW.message_seq)
   WHERE message_seq = NEW.message_seq AND agent_id = NEW.agent_id;
END;

-- get_inbox since=T, few messages after T: the pending deliveries of one agent sent after T,
--   WHERE agent_id = ? AND acked = 0 AND sent_at > ?   (then ordered by message_seq)
CREATE INDEX deliveries_pending_by_time ON deliveries (agent_id, sent_at, message_seq) WHERE acked = 0;

-- get_inbox in send order, and since=T with many messages after T: sent_at rides in the index so
-- the rows sent at or before T are skipped without reading the table,
--   WHERE agent_id = ? AND acked = 0 AND message_seq > ? [AND sent_at > ?] ORDER BY message_seq
DROP INDEX deliveries_pending;
CREATE INDEX deliveries_pending ON deliveries (agent_id, message_seq, sent_at) WHERE acked = 0;
