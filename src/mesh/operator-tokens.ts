// Operator tokens: what a person or a host on another machine sends to the hub's /mcp to act as
// the operator. Made and revoked from the CLI; only the SHA-256 is stored.
import { randomBytes } from 'node:crypto';
import type { Store } from '../store/open.js';
import { MeshError } from './errors.js';
import { quote } from './limits.js';
import { hashToken } from './tokens.js';

export const MAX_TOKEN_NAME_CHARS = 100;

export interface OperatorToken {
  id: number;
  name: string | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export function newOperatorToken(): string {
  return `mfo_${randomBytes(32).toString('base64url')}`;
}

/** Stores a new token's hash; the token itself is returned once and kept nowhere. */
export function createOperatorToken(store: Store, name: string | undefined, now: number = Date.now()): { id: number; token: string } {
  if (name !== undefined && (name.trim() === '' || name.length > MAX_TOKEN_NAME_CHARS || /[\x00-\x1f\x7f]/.test(name))) {
    throw new MeshError('invalid', `--name must be 1 to ${MAX_TOKEN_NAME_CHARS} printable characters; got ${quote(name)}.`, 'Name the token for whom or what it is, e.g. --name ci-runner.');
  }
  const token = newOperatorToken();
  const id = store.write(() => {
    store.run(store.sql.insertInto('operator_tokens').values({ name: name ?? null, token_hash: hashToken(token), created_at: now, last_used_at: null, revoked_at: null }));
    return store.first(store.sql.selectFrom('operator_tokens').select('id').where('token_hash', '=', hashToken(token)))!.id;
  });
  return { id, token };
}

export function listOperatorTokens(store: Store): OperatorToken[] {
  return store.all(store.sql.selectFrom('operator_tokens').select(['id', 'name', 'created_at', 'last_used_at', 'revoked_at']).orderBy('id'))
    .map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at }));
}

/** Revokes at once: the hub checks the table on every request. Revoking twice changes nothing. */
export function revokeOperatorToken(store: Store, id: number, now: number = Date.now()): { alreadyRevoked: boolean } {
  return store.write(() => {
    const row = store.first(store.sql.selectFrom('operator_tokens').select('revoked_at').where('id', '=', id));
    if (row === undefined) throw new MeshError('not_found', `No operator token with id ${id}.`, 'Run `meshfleet token list` for the ids.');
    if (row.revoked_at !== null) return { alreadyRevoked: true };
    store.run(store.sql.updateTable('operator_tokens').set({ revoked_at: now }).where('id', '=', id));
    return { alreadyRevoked: false };
  });
}
