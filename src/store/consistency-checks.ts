// `meshfleet verify`'s consistency checks: each is one query whose rows are the problems it finds,
// one `what` text per row naming the record. A new table's checks are new entries here.
//
// Levels: an error is something no Meshfleet code path and no legacy import ever writes, so the
// file was changed behind Meshfleet's back (or by a bug); a warning is legal but odd history that
// a person may want to look at: legacy ledgers bring dangling ids (COMPATIBILITY.md), and a
// crash can leave a settled fleet with a running agent.

export type CheckLevel = 'error' | 'warning';

export interface ConsistencyCheck {
  name: string;
  level: CheckLevel;
  /** What a failure means, for people: one sentence. */
  about: string;
  /** SELECT … AS what: one row per problem. */
  sql: string;
}

const quoted = (column: string): string => `'"' || ${column} || '"'`;

/** migrations/0015-routing-generations.sql's triggers, by name. */
const ROUTING_TRIGGERS = [
  'capability_terms_inserted_route', 'capability_terms_updated_route', 'capability_terms_deleted_route',
  'capabilities_inserted_route', 'capabilities_updated_route', 'capabilities_deleted_route',
  'agents_inserted_route', 'agents_status_route', 'agents_deleted_route', 'skills_inserted_route',
  'skills_updated_route', 'skills_deleted_route', 'synonyms_inserted_route', 'synonyms_updated_route',
  'synonyms_deleted_route', 'routing_outcomes_inserted_route', 'routing_outcomes_updated_route',
  'routing_outcomes_deleted_route',
];

export const CONSISTENCY_CHECKS: readonly ConsistencyCheck[] = [
  {
    name: 'deliveries_without_message',
    level: 'error',
    about: 'Deliveries whose message is gone (a message was deleted without its deliveries).',
    sql: `SELECT 'delivery of message seq ' || d.message_seq || ' to ' || ${quoted('d.agent_id')} AS what
            FROM deliveries AS d WHERE NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.seq = d.message_seq)`,
  },
  {
    name: 'deliveries_sent_at',
    level: 'error',
    about: 'Deliveries whose sent_at differs from their message\'s (Meshfleet copies it, migration 0005).',
    sql: `SELECT 'delivery of message ' || ${quoted('m.id')} || ' to ' || ${quoted('d.agent_id')} AS what
            FROM deliveries AS d JOIN messages AS m ON m.seq = d.message_seq WHERE d.sent_at IS NOT m.sent_at`,
  },
  {
    name: 'direct_message_delivered_elsewhere',
    level: 'warning',
    about: 'A message to one agent delivered to another agent (Meshfleet never does; a legacy ledger\'s inboxes may have).',
    sql: `SELECT 'message ' || ${quoted('m.id')} || ' to ' || ${quoted('m.to_agent_id')} || ' delivered to ' || ${quoted('d.agent_id')} AS what
            FROM deliveries AS d JOIN messages AS m ON m.seq = d.message_seq
           WHERE m.to_agent_id <> '*' AND d.agent_id <> m.to_agent_id`,
  },
  {
    name: 'broadcast_outside_fleet',
    level: 'warning',
    about: 'A broadcast delivered to its own sender or to an agent of another fleet.',
    sql: `SELECT 'broadcast ' || ${quoted('m.id')} || ' delivered to ' || ${quoted('d.agent_id')} AS what
            FROM deliveries AS d JOIN messages AS m ON m.seq = d.message_seq
            JOIN agents AS a ON a.id = d.agent_id
           WHERE m.to_agent_id = '*' AND (a.fleet_id <> m.fleet_id OR d.agent_id = m.from_agent_id)`,
  },
  {
    name: 'broadcast_missed_member',
    level: 'warning',
    about: 'An agent that was in the fleet when a broadcast was sent (created before it) has no delivery of it; agents without a creation time (legacy) are not checked.',
    sql: `SELECT 'broadcast ' || ${quoted('m.id')} || ' has no delivery to ' || ${quoted('a.id')} AS what
            FROM messages AS m JOIN agents AS a ON a.fleet_id = m.fleet_id
           WHERE m.to_agent_id = '*' AND a.id <> m.from_agent_id AND a.created_at < m.sent_at
             AND NOT EXISTS (SELECT 1 FROM deliveries AS d WHERE d.message_seq = m.seq AND d.agent_id = a.id)`,
  },
  {
    name: 'deliveries_to_unknown_agent',
    level: 'warning',
    about: 'Deliveries to an agent that is not in the database (legacy ledgers hold some).',
    sql: `SELECT 'delivery of message seq ' || d.message_seq || ' to ' || ${quoted('d.agent_id')} AS what
            FROM deliveries AS d WHERE NOT EXISTS (SELECT 1 FROM agents AS a WHERE a.id = d.agent_id)`,
  },
  {
    name: 'messages_outside_fleet',
    level: 'warning',
    about: 'Messages whose fleet is not in the database, or whose sender is not in the database or not in that fleet.',
    sql: `SELECT 'message ' || ${quoted('m.id')} || ' of fleet ' || ${quoted('m.fleet_id')} || ' from ' || ${quoted('m.from_agent_id')} AS what
            FROM messages AS m
           WHERE NOT EXISTS (SELECT 1 FROM fleets AS f WHERE f.id = m.fleet_id)
              OR NOT EXISTS (SELECT 1 FROM agents AS a WHERE a.id = m.from_agent_id AND a.fleet_id = m.fleet_id)`,
  },
  {
    name: 'agents_of_missing_fleet',
    level: 'warning',
    about: 'Agents whose fleet is not in the database (legacy ledgers hold some).',
    sql: `SELECT 'agent ' || ${quoted('a.id')} || ' of fleet ' || ${quoted('a.fleet_id')} AS what
            FROM agents AS a WHERE NOT EXISTS (SELECT 1 FROM fleets AS f WHERE f.id = a.fleet_id)`,
  },
  {
    name: 'settled_fleet_with_live_agents',
    level: 'warning',
    about: 'A fleet marked complete or failed that still has an agent pending or running (left by a crash; prune keeps it).',
    sql: `SELECT 'fleet ' || ${quoted('f.id')} || ' is ' || f.status || ', agent ' || ${quoted('a.id')} || ' is ' || a.status AS what
            FROM fleets AS f JOIN agents AS a ON a.fleet_id = f.id
           WHERE f.status IN ('complete', 'failed') AND a.status IN ('pending', 'running')`,
  },
  {
    name: 'fleet_status_times',
    level: 'warning',
    about: 'A fleet whose status disagrees with its times: settled without completed_at, live with one, or completed before it was created.',
    sql: `SELECT 'fleet ' || ${quoted('f.id')} || ' is ' || f.status || ' with completed_at ' || coalesce(f.completed_at, 'NULL') AS what
            FROM fleets AS f
           WHERE (f.status IN ('complete', 'failed') AND f.completed_at IS NULL)
              OR (f.status IN ('pending', 'running') AND f.completed_at IS NOT NULL)
              OR f.completed_at < f.created_at`,
  },
  {
    name: 'agent_status_times',
    level: 'warning',
    about: 'An agent whose status disagrees with its times: settled without completed_at, pending with one, running never started, or completed before it started (legacy agents, without created_at, are not checked).',
    sql: `SELECT 'agent ' || ${quoted('a.id')} || ' is ' || a.status || ' with started_at ' || coalesce(a.started_at, 'NULL')
                 || ', completed_at ' || coalesce(a.completed_at, 'NULL') AS what
            FROM agents AS a
           WHERE a.created_at IS NOT NULL AND (
                 (a.status IN ('complete', 'failed') AND a.completed_at IS NULL)
              OR (a.status = 'pending' AND a.completed_at IS NOT NULL)
              OR (a.status = 'running' AND a.started_at IS NULL)
              OR a.completed_at < a.started_at)`,
  },
  {
    name: 'receipts_of_missing_message',
    level: 'warning',
    about: 'Receipts naming a message that is not in the database (legacy ledgers hold some).',
    sql: `SELECT 'receipt ' || r.action || ' of ' || ${quoted('r.message_id')} || ' by ' || ${quoted('r.agent_id')} AS what
            FROM receipts AS r WHERE NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.id = r.message_id)`,
  },
  {
    name: 'reservations_outside_fleet',
    level: 'error',
    about: 'File reservations held by an agent that is not in the database or not in the reservation\'s fleet (prune removes them with their fleet).',
    sql: `SELECT 'reservation ' || r.id || ' of ' || ${quoted('r.pattern')} || ' by ' || ${quoted('r.agent_id')} || ' in fleet ' || ${quoted('r.fleet_id')} AS what
            FROM file_reservations AS r
           WHERE NOT EXISTS (SELECT 1 FROM agents AS a WHERE a.id = r.agent_id AND a.fleet_id = r.fleet_id)`,
  },
  {
    name: 'reservation_times',
    level: 'warning',
    about: 'File reservations whose times disagree: expiring or released before they were made, or released without saying by whom (or the reverse).',
    sql: `SELECT 'reservation ' || r.id || ' of ' || ${quoted('r.pattern')} || ' by ' || ${quoted('r.agent_id')} AS what
            FROM file_reservations AS r
           WHERE r.expires_at < r.created_at OR r.released_at < r.created_at
              OR (r.released_at IS NULL) <> (r.released_by IS NULL)`,
  },
  {
    name: 'routing_triggers',
    level: 'error',
    about: 'Triggers that tell route_work what changed (migration 0015) are missing: servers would route on what they read before a change. Rebuilding a table drops its triggers.',
    sql: `WITH expected (name) AS (VALUES ${ROUTING_TRIGGERS.map((n) => `('${n}')`).join(', ')})
          SELECT 'trigger ' || ${quoted('e.name')} AS what
            FROM expected AS e WHERE NOT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'trigger' AND name = e.name)`,
  },
];
