// Agents' own worktrees as the database knows them; git itself is src/runtime/workspaces.ts.
import type { Store } from '../store/open.js';
import { recordEvent } from './events.js';
import { getAgent, type Agent } from './fleets.js';

/** Agents whose fleet has settled and whose worktree still waits to be removed or kept. */
export function workspacesToRetire(store: Store, limit = 64): Agent[] {
  const ids = store.all(store.sql.selectFrom('agents as a').innerJoin('fleets as f', 'f.id', 'a.fleet_id').select('a.id')
    .where('a.workspace_state', '=', 'active').where('f.status', 'in', ['complete', 'failed'])
    .orderBy('f.completed_at').orderBy('a.id').limit(limit));
  return ids.map((row) => getAgent(store, row.id)).filter((a): a is Agent => a !== undefined);
}

/** Records what became of an agent's worktree after its fleet settled. */
export function recordWorkspaceRetired(store: Store, agentId: string, state: 'removed' | 'kept', uncommitted: string[], now: number = Date.now()): void {
  store.write(() => {
    const agent = getAgent(store, agentId);
    if (agent?.workspace?.state !== 'active') return;
    store.run(store.sql.updateTable('agents').set({ workspace_state: state }).where('id', '=', agentId));
    recordEvent(store, {
      kind: state === 'removed' ? 'workspace_removed' : 'workspace_kept', fleetId: agent.fleetId, agentId,
      data: { branch: agent.workspace.branch, path: agent.workspace.path, ...(state === 'kept' ? { uncommitted: uncommitted.slice(0, 10) } : {}) },
    }, now);
  });
}

/** Every agent with a worktree (newest first), for `meshfleet workspaces`. */
export function listWorkspaces(store: Store, limit = 1_000): Agent[] {
  const ids = store.all(store.sql.selectFrom('agents').select('id').where('workspace_path', 'is not', null).orderBy('created_at', 'desc').limit(limit));
  return ids.map((row) => getAgent(store, row.id)).filter((a): a is Agent => a !== undefined);
}
