// next_task: the ready task an agent should take, scored for it as route_work would score it
// for the task, then claimed. Scoring reads; each claim is its own short write, so the write
// lock is never held while tasks are scored, and a task another agent took meanwhile is skipped.
import { MeshError } from '../mesh/errors.js';
import { DEFAULT_LEASE_MS, MAX_NEXT_TASK_CANDIDATES, quote } from '../mesh/limits.js';
import { requireAgent } from '../mesh/messages.js';
import { claimTask, type Claim } from '../mesh/task-claims.js';
import { routingTextOf, type TaskStatus } from '../mesh/tasks.js';
import type { Store } from '../store/open.js';
import { scoreAgentFor } from './route-work.js';

export interface NextTask {
  claim: Claim;
  /** The agent's route_work score for the task (0 when nothing of it matches). */
  score: number;
  matched: string[];
}

export interface NextTaskAnswer {
  next: NextTask | null;
  /** The fleet's board after the call, by status: with none open or claimed, no task will become ready by itself. */
  counts: Record<TaskStatus, number>;
}

/**
 * Claims the best ready task of the agent's fleet for it: highest priority first, then the
 * agent's route_work score for the task, then the oldest. Null when no task is ready.
 */
export function nextTask(store: Store, agentId: string, leaseMs: number = DEFAULT_LEASE_MS, now: number = Date.now()): NextTaskAnswer {
  const { fleet_id: fleetId, status } = requireAgent(store, agentId);
  if (status !== 'pending' && status !== 'running') {
    throw new MeshError('refused', `Agent ${quote(agentId)} is ${status}; it takes no more tasks.`, 'Call next_task for a pending or running agent.');
  }
  const scores = new Map<string, { score: number; matched: string[] }>();
  const candidates = store.tasks.ready(fleetId, now, MAX_NEXT_TASK_CANDIDATES).map((row) => {
    const text = routingTextOf({ title: row.title, description: row.description, skills: JSON.parse(row.skills_json) as string[] });
    let scored = scores.get(text);
    if (scored === undefined) {
      const match = scoreAgentFor(store, text, agentId, fleetId);
      scored = { score: match?.score ?? 0, matched: match?.matched ?? [] };
      scores.set(text, scored);
    }
    return { row, ...scored };
  });
  candidates.sort((a, b) => b.row.priority - a.row.priority || b.score - a.score || a.row.seq - b.row.seq);
  for (const { row, score, matched } of candidates) {
    try {
      const claim = claimTask(store, row.id, agentId, leaseMs, now);
      return { next: { claim, score, matched }, counts: store.tasks.countsByStatus(fleetId) };
    } catch (err) {
      // Taken by another agent since it was read (or no longer ready): the next one.
      if (err instanceof MeshError && err.code === 'conflict') continue;
      throw err;
    }
  }
  return { next: null, counts: store.tasks.countsByStatus(fleetId) };
}
