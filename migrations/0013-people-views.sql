-- 0013: views for people at the sqlite3 prompt, beside inbox and fleet_summary (0001).
--
-- Read-only conveniences: nothing of Meshfleet reads them on a hot path, and dropping them loses no
-- data. Times stay epoch ms as in the tables; `at` columns add the same time as UTC text.
-- Plain SQL the stock sqlite3 3.40 CLI runs (sqrt is one of its built-in math functions).

-- How each agent has done at each capability key (route_work's outcome factor, per key): the counts,
-- the 80% Wilson interval of its success rate, and the factor route_work multiplies a score by
-- when a task is about that key alone (1 until the interval leaves 50%; 0.5 to 1.5).
CREATE VIEW agent_scores AS
SELECT w.agent_id,
       a.fleet_id,
       a.role,
       w.capability_key,
       w.successes,
       w.failures,
       w.outcomes,
       round(w.lower, 3) AS wilson_lower,
       round(w.upper, 3) AS wilson_upper,
       round(CASE WHEN w.lower > 0.5 THEN 1 + (w.lower - 0.5)
                  WHEN w.upper < 0.5 THEN 1 - (0.5 - w.upper)
                  ELSE 1.0 END, 3) AS factor,
       w.last_recorded_at
  FROM (SELECT t.*,
               (t.centre - t.spread) / t.denominator AS lower,
               (t.centre + t.spread) / t.denominator AS upper
          FROM (SELECT c.*,
                       c.p + 1.6384 / (2.0 * c.outcomes) AS centre,
                       1.28 * sqrt(c.p * (1 - c.p) / c.outcomes + 1.6384 / (4.0 * c.outcomes * c.outcomes)) AS spread,
                       1 + 1.6384 / c.outcomes AS denominator
                  FROM (SELECT agent_id,
                               lower(capability_key) AS capability_key,
                               sum(succeeded) AS successes,
                               count(*) - sum(succeeded) AS failures,
                               count(*) AS outcomes,
                               1.0 * sum(succeeded) / count(*) AS p,
                               max(recorded_at) AS last_recorded_at
                          FROM routing_outcomes
                         GROUP BY agent_id, lower(capability_key)) AS c) AS t) AS w
  LEFT JOIN agents AS a ON a.id = w.agent_id
 ORDER BY w.agent_id, w.capability_key;

-- What happened, newest first: `select * from recent_events limit 20`.
CREATE VIEW recent_events AS
SELECT e.id,
       strftime('%Y-%m-%d %H:%M:%S', e.recorded_at / 1000, 'unixepoch') AS at,
       e.kind,
       e.fleet_id,
       e.agent_id,
       e.data,
       e.recorded_at
  FROM events AS e
 ORDER BY e.id DESC;

-- Per agent: where it stands, how long it ran, and its mail (sent, and still unacknowledged).
CREATE VIEW agent_summary AS
SELECT a.id AS agent_id,
       a.fleet_id,
       a.role,
       a.profile,
       a.status,
       a.attempts,
       a.pid,
       a.started_at,
       a.completed_at,
       CASE WHEN a.started_at IS NOT NULL AND a.completed_at IS NOT NULL
            THEN a.completed_at - a.started_at END AS run_ms,
       (SELECT count(*) FROM messages AS m WHERE m.fleet_id = a.fleet_id AND m.from_agent_id = a.id) AS messages_sent,
       (SELECT count(*) FROM deliveries AS d WHERE d.agent_id = a.id AND d.acked = 0) AS inbox_pending,
       substr(a.error, 1, 200) AS error
  FROM agents AS a
 ORDER BY a.fleet_id, a.created_at, a.id;
