// The statements behind every HTTP request to the hub: who a bearer token belongs to, and the
// heartbeat its use writes. Prepared once; each runs on an index of migrations/0006.
import type BetterSqlite3 from 'better-sqlite3';
import type { AgentProfile, AgentStatus } from './schema.js';
import { lazy } from './statements.js';

export interface TokenAgentRow {
  id: string;
  fleet_id: string;
  profile: AgentProfile;
  status: AgentStatus;
}

export interface AccessStatements {
  /** The agent whose current token hashes to `tokenHash` (agents_by_token). */
  agentByTokenHash(tokenHash: string): TokenAgentRow | undefined;
  /** The id of the unrevoked operator token hashing to `tokenHash` (operator_tokens_by_hash). */
  operatorTokenId(tokenHash: string): number | undefined;
  /** Heartbeats: never moves last_seen_at backwards. Returns the rows changed. */
  touchAgent(agentId: string, now: number): number;
  touchOperatorToken(id: number, now: number): number;
}

export function prepareAccessStatements(db: BetterSqlite3.Database): AccessStatements {
  const agent = lazy(() => db.prepare('SELECT id, fleet_id, profile, status FROM agents WHERE token_hash = ?'));
  const operator = lazy(() => db.prepare('SELECT id FROM operator_tokens WHERE token_hash = ? AND revoked_at IS NULL').pluck());
  const touchAgent = lazy(() => db.prepare('UPDATE agents SET last_seen_at = @now WHERE id = @id AND (last_seen_at IS NULL OR last_seen_at < @now)'));
  const touchOperator = lazy(() => db.prepare('UPDATE operator_tokens SET last_used_at = @now WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @now)'));
  return {
    agentByTokenHash: (tokenHash) => agent().get(tokenHash) as TokenAgentRow | undefined,
    operatorTokenId: (tokenHash) => operator().get(tokenHash) as number | undefined,
    touchAgent: (agentId, now) => touchAgent().run({ id: agentId, now }).changes,
    touchOperatorToken: (id, now) => touchOperator().run({ id, now }).changes,
  };
}
