// Per-agent secrets. Each attempt of an agent gets a new random token in MESHFLEET_AGENT_TOKEN;
// only its SHA-256 is stored, so reading the database does not reveal a usable token.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/open.js';

export function newAgentToken(): string {
  return `mfa_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether `token` is the current token of `agentId` (false for an agent without one). */
export function agentTokenMatches(store: Store, agentId: string, token: string): boolean {
  const row = store.first(store.sql.selectFrom('agents').select('token_hash').where('id', '=', agentId));
  return tokenMatchesHash(row?.token_hash ?? null, token);
}

/** Whether `token` hashes to `tokenHash`, compared in constant time; false when there is no hash. */
export function tokenMatchesHash(tokenHash: string | null, token: string): boolean {
  if (tokenHash === null) return false;
  const expected = Buffer.from(tokenHash, 'hex');
  const given = Buffer.from(hashToken(token), 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
