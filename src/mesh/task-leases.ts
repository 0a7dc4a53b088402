// Claims that end without their holder's word: its process ended, or its lease ran out. Kept
// apart from task-claims.ts so that the records of an agent's end (fleets.ts, supervision.ts)
// can return its claims in their own transaction without importing the whole board.
import type { Store } from '../store/open.js';
import { recordEvent } from './events.js';

/**
 * The agent's process ended or is being replaced: its claims go back to the board. Call inside
 * the transaction that records that end, so no claim outlives its agent's record.
 */
export function returnClaimsOf(store: Store, agentId: string, why: string, now: number): number {
  const claims = store.tasks.claimsOf(agentId);
  for (const claim of claims) {
    store.tasks.dropClaim(claim.task_id);
    store.tasks.setStatus(claim.task_id, 'open', now);
    recordEvent(store, { kind: 'task_claim_returned', fleetId: claim.fleet_id, agentId, data: { task_id: claim.task_id, reason: why } }, now);
  }
  return claims.length;
}

/** Claims of the fleet whose lease has run out go back to the board. Inside a write. */
export function expireClaims(store: Store, fleetId: string, now: number): void {
  for (const claim of store.tasks.expiredClaims(fleetId, now)) {
    store.tasks.dropClaim(claim.task_id);
    store.tasks.setStatus(claim.task_id, 'open', now);
    recordEvent(store, { kind: 'task_lease_expired', fleetId, agentId: claim.agent_id, data: { task_id: claim.task_id } }, now);
  }
}
