// routing_outcomes (migrations 0001, 0002): what an agent's work for a capability key came to.
import type BetterSqlite3 from 'better-sqlite3';

export interface OutcomeStatements {
  insert(agentId: string, capabilityKey: string, succeeded: boolean, recordedAt: number): void;
  /** Outcomes of one agent for one key, compared lower-cased. */
  tally(agentId: string, capabilityKey: string): { wins: number; total: number };
}

export function prepareOutcomeStatements(db: BetterSqlite3.Database): OutcomeStatements {
  const insert = db.prepare('INSERT INTO routing_outcomes (agent_id, capability_key, succeeded, recorded_at) VALUES (?, ?, ?, ?)');
  // routing_outcomes_by_agent_key (agent_id, lower(capability_key)): the expression must match it as written.
  const tally = db.prepare(
    'SELECT coalesce(sum(succeeded), 0) AS wins, count(*) AS total FROM routing_outcomes WHERE agent_id = ? AND lower(capability_key) = ?');
  return {
    insert: (agentId, capabilityKey, succeeded, recordedAt) => {
      insert.run(agentId, capabilityKey, succeeded ? 1 : 0, recordedAt);
    },
    tally: (agentId, capabilityKey) => tally.get(agentId, capabilityKey) as { wins: number; total: number },
  };
}
