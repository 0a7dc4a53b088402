// Claims on tasks: who works on what, under a lease. Every change is one IMMEDIATE transaction,
// so when agents of several processes claim one task at once exactly one wins. A claim ends by
// completion, release, block, lease expiry, or the end of its agent's process (the supervisor
// records that end and returnClaimsOf runs in the same transaction).
import type { Store } from '../store/open.js';
import type { TaskRow } from '../store/task-statements.js';
import { MeshError } from './errors.js';
import { recordEvent } from './events.js';
import { DEFAULT_LEASE_MS, MAX_PAYLOAD_BYTES, MAX_DESCRIPTION_CHARS, quote } from './limits.js';
import { requireAgent } from './messages.js';
import { expireClaims } from './task-leases.js';
import { requireTask, taskKeys } from './tasks.js';

/** Who acts on a claim: the agent holding it, or (lead, operator) the fleet's authority over any. */
export type ClaimActor = { agentId: string; lead: boolean } | { operator: true };

export interface Claim { taskId: string; agentId: string; leaseExpiresAt: number; renewed: boolean }

const LIVE = ['pending', 'running'];

/**
 * Claims a ready task for an agent under a lease of `leaseMs`. Claiming a task the agent already
 * holds renews its lease. Refused, with what to do, when the task is claimed by another agent, is
 * finished or blocked, or waits for dependencies.
 */
export function claimTask(store: Store, taskId: string, agentId: string, leaseMs: number = DEFAULT_LEASE_MS, now: number = Date.now()): Claim {
  return store.write(() => {
    const agent = requireAgent(store, agentId);
    if (!LIVE.includes(agent.status)) {
      throw new MeshError('refused', `Agent ${quote(agentId)} is ${agent.status}; a claim would never be worked on.`, 'Claim tasks for a pending or running agent.');
    }
    requireTask(store, taskId, now, agent.fleet_id);
    expireClaims(store, agent.fleet_id, now);
    const task = requireTask(store, taskId, now);
    const expiresAt = now + leaseMs;
    if (task.status === 'claimed' && task.claimed_by === agentId) {
      store.tasks.claim(taskId, agentId, now, expiresAt);
      recordEvent(store, { kind: 'task_lease_renewed', fleetId: task.fleet_id, agentId, data: { task_id: taskId, lease_expires_at: expiresAt } }, now);
      return { taskId, agentId, leaseExpiresAt: expiresAt, renewed: true };
    }
    refuseUnclaimable(store, task);
    store.tasks.claim(taskId, agentId, now, expiresAt);
    recordEvent(store, { kind: 'task_claimed', fleetId: task.fleet_id, agentId, data: { task_id: taskId, lease_expires_at: expiresAt } }, now);
    return { taskId, agentId, leaseExpiresAt: expiresAt, renewed: false };
  });
}

function refuseUnclaimable(store: Store, task: TaskRow): void {
  if (task.status === 'claimed') {
    throw new MeshError('conflict', `Task ${quote(task.id)} is claimed by agent ${quote(task.claimed_by)} (lease until ${new Date(task.lease_expires_at!).toISOString()}).`,
      'Call next_task for another ready task, or list_tasks with ready: true.');
  }
  if (task.status !== 'open') {
    throw new MeshError('conflict', `Task ${quote(task.id)} is ${task.status}${task.blocked_reason === null ? '' : ` (${quote(task.blocked_reason)})`}; only an open task can be claimed.`,
      task.status === 'done' ? 'Call next_task for another ready task.' : 'A lead or the operator can release_task it back to the board.');
  }
  if (task.waiting_on > 0) {
    const waiting = store.tasks.dependenciesOf(task.id).filter((d) => d.status !== 'done');
    const named = waiting.slice(0, 5).map((d) => `${d.id} (${d.status})`).join(', ');
    throw new MeshError('conflict', `Task ${quote(task.id)} waits for ${waiting.length} unfinished ${waiting.length === 1 ? 'dependency' : 'dependencies'}: ${named}${waiting.length > 5 ? ', …' : ''}.`,
      'Claim it once they are done; next_task only offers ready tasks.');
  }
}

/**
 * Finishes a claimed task: done (success) or failed. Records a routing outcome for the task's
 * keys and the agent that held it, so route_work and next_task learn from it. The holder may
 * finish its claim after its lease expired, until the claim is returned (see expireClaims).
 */
export function completeTask(
  store: Store, taskId: string, actor: ClaimActor, outcome: { success: boolean; result: string }, fleetId?: string, now: number = Date.now(),
): { status: 'done' | 'failed'; agentId: string; keys: string[]; nowReady: string[] } {
  const bytes = Buffer.byteLength(outcome.result, 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new MeshError('too_large', `result is ${bytes} bytes; the limit is ${MAX_PAYLOAD_BYTES}.`, 'Report less, or write it to a file and report the path.');
  }
  return store.write(() => {
    const task = requireTask(store, taskId, now, fleetId);
    const holder = task.status === 'claimed' ? task.claimed_by : null;
    if (holder === null || ('agentId' in actor && actor.agentId !== holder)) {
      const state = holder === null ? `${task.status}, not claimed` : `claimed by agent ${quote(holder)}, not by agent ${quote((actor as { agentId: string }).agentId)}`;
      throw new MeshError('conflict', `Task ${quote(taskId)} is ${state}; nothing was recorded.`,
        task.status === 'open' ? 'The claim was returned (released, its lease expired, or its agent ended): claim it again before completing it.' : 'Only the agent holding a claim completes it; call next_task for other work.');
    }
    const status = outcome.success ? 'done' : 'failed';
    store.tasks.dropClaim(taskId);
    store.tasks.finish(taskId, status, holder, outcome.result, now);
    const keys = taskKeys({ title: task.title, description: task.description, skills: JSON.parse(task.skills_json) as string[] });
    for (const key of keys) store.outcomes.insert(holder, key, outcome.success, now);
    const nowReady = outcome.success
      ? store.tasks.dependentsOf(taskId, Number.MAX_SAFE_INTEGER).filter((id) => store.tasks.get(id, now)?.ready === 1)
      : [];
    recordEvent(store, {
      kind: outcome.success ? 'task_completed' : 'task_failed', fleetId: task.fleet_id, agentId: holder,
      data: { task_id: taskId, result_bytes: bytes, outcome_keys: keys, now_ready: nowReady },
    }, now);
    return { status, agentId: holder, keys, nowReady };
  });
}

/**
 * Puts a task back on the board (open). The holder releases its own claim; a lead or the
 * operator may also release another agent's claim, or reopen a blocked or failed task.
 */
export function releaseTask(store: Store, taskId: string, actor: ClaimActor, fleetId?: string, now: number = Date.now()): { previous: string } {
  return store.write(() => {
    const task = requireTask(store, taskId, now, fleetId);
    const authority = !('agentId' in actor) || actor.lead;
    const holds = task.status === 'claimed' && 'agentId' in actor && task.claimed_by === actor.agentId;
    if (!holds && !(authority && ['claimed', 'blocked', 'failed'].includes(task.status))) {
      throw new MeshError(task.status === 'claimed' || task.status === 'open' ? 'refused' : 'conflict',
        task.status === 'claimed'
          ? `Task ${quote(taskId)} is claimed by agent ${quote(task.claimed_by)}; only it, a lead or the operator can release it.`
          : `Task ${quote(taskId)} is ${task.status}; there is nothing ${authority ? 'to release' : 'of yours to release'}.`,
        authority ? 'release_task takes a claimed, blocked or failed task back to open.' : 'Release only tasks you claimed.');
    }
    store.tasks.dropClaim(taskId);
    store.tasks.reopen(taskId, now);
    recordEvent(store, {
      kind: task.status === 'claimed' ? 'task_released' : 'task_reopened', fleetId: task.fleet_id, agentId: 'agentId' in actor ? actor.agentId : null,
      data: { task_id: taskId, was: task.status, holder: task.claimed_by },
    }, now);
    return { previous: task.status };
  });
}

/** Marks a task blocked with a reason (its claim ends). The holder, a lead or the operator. */
export function blockTask(store: Store, taskId: string, actor: ClaimActor, reason: string, fleetId?: string, now: number = Date.now()): void {
  if (reason.trim() === '') throw new MeshError('invalid', 'reason must not be empty.', 'Say what the task waits for, so a lead can unblock it.');
  if (reason.length > MAX_DESCRIPTION_CHARS) {
    throw new MeshError('too_large', `reason is ${reason.length} characters; the limit is ${MAX_DESCRIPTION_CHARS}.`, 'Say it shorter.');
  }
  store.write(() => {
    const task = requireTask(store, taskId, now, fleetId);
    const authority = !('agentId' in actor) || actor.lead;
    const holds = task.status === 'claimed' && 'agentId' in actor && task.claimed_by === actor.agentId;
    if (!holds && !(authority && (task.status === 'open' || task.status === 'claimed'))) {
      throw new MeshError(task.status === 'claimed' || task.status === 'open' ? 'refused' : 'conflict',
        task.status === 'claimed' || task.status === 'open'
          ? `Task ${quote(taskId)} is ${task.status}${task.claimed_by === null ? '' : ` by agent ${quote(task.claimed_by)}`}; only its holder, a lead or the operator can block it.`
          : `Task ${quote(taskId)} is ${task.status}; only open or claimed tasks can be blocked.`,
        'Tell your lead what blocks it (send_message).');
    }
    store.tasks.dropClaim(taskId);
    store.tasks.block(taskId, reason, now);
    recordEvent(store, { kind: 'task_blocked', fleetId: task.fleet_id, agentId: 'agentId' in actor ? actor.agentId : null, data: { task_id: taskId, reason, holder: task.claimed_by } }, now);
  });
}
