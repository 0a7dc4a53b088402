// routing_outcomes (migrations 0001, 0002): what an agent's work for a capability key came to.
import type BetterSqlite3 from 'better-sqlite3';

/** Outcomes of one agent for one lower-cased key. */
export interface OutcomeTallyRow {
  agent_id: string;
  /** The agent's fleet; NULL when the agent is not in the agents table (legacy history). */
  fleet_id: string | null;
  capability_key: string;
  wins: number;
  total: number;
}

export interface OutcomeStatements {
  insert(agentId: string, capabilityKey: string, succeeded: boolean, recordedAt: number): void;
  /** Outcomes of one agent for one key, compared lower-cased. */
  tally(agentId: string, capabilityKey: string): { wins: number; total: number };
  /** Tallies per agent and lower-cased key, by agent then key; either filter may be null. */
  tallies(filter: { agentId: string | null; fleetId: string | null }, limit: number, offset: number): OutcomeTallyRow[];
}

export function prepareOutcomeStatements(db: BetterSqlite3.Database): OutcomeStatements {
  const insert = db.prepare('INSERT INTO routing_outcomes (agent_id, capability_key, succeeded, recorded_at) VALUES (?, ?, ?, ?)');
  // routing_outcomes_by_agent_key (agent_id, lower(capability_key)): the expression must match it as written.
  const tally = db.prepare(
    'SELECT coalesce(sum(succeeded), 0) AS wins, count(*) AS total FROM routing_outcomes WHERE agent_id = ? AND lower(capability_key) = ?');
  const tallies = db.prepare(`
    SELECT o.agent_id, ag.fleet_id, lower(o.capability_key) AS capability_key, sum(o.succeeded) AS wins, count(*) AS total
      FROM routing_outcomes AS o LEFT JOIN agents AS ag ON ag.id = o.agent_id
     WHERE (@agent IS NULL OR o.agent_id = @agent) AND (@fleet IS NULL OR ag.fleet_id = @fleet)
     GROUP BY o.agent_id, lower(o.capability_key)
     ORDER BY o.agent_id, lower(o.capability_key)
     LIMIT @limit OFFSET @offset`);
  return {
    tallies: (filter, limit, offset) => tallies.all({ agent: filter.agentId, fleet: filter.fleetId, limit, offset }) as OutcomeTallyRow[],
    insert: (agentId, capabilityKey, succeeded, recordedAt) => {
      insert.run(agentId, capabilityKey, succeeded ? 1 : 0, recordedAt);
    },
    tally: (agentId, capabilityKey) => tally.get(agentId, capabilityKey) as { wins: number; total: number },
  };
}
