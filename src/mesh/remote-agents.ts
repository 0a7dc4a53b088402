// Agents that run on another machine: the hub starts no process for them. They are running from
// the moment they are attached, prove themselves with their token on every HTTP request (each
// request is a heartbeat), and end by calling finish_agent, by silence, or by a deadline.
import type { Store } from '../store/open.js';
import { MeshError } from './errors.js';
import { recordEvent } from './events.js';
import { attachAgent, FINAL_AGENT_STATUSES, getAgent, markAgentFinished, type Agent, type AgentSpec } from './fleets.js';
import { quote } from './limits.js';
import { hashToken, newAgentToken } from './tokens.js';

/** Adds a remote agent to a fleet, running at once with a new token, returned here only. */
export function attachRemoteAgent(store: Store, fleetId: string, spec: AgentSpec, now: number = Date.now()): { agent: Agent; token: string } {
  const token = newAgentToken();
  const agent = store.write(() => {
    const attached = attachAgent(store, fleetId, spec, now);
    store.run(store.sql.updateTable('agents').set({
      runtime: 'remote', status: 'running', token_hash: hashToken(token), attempts: 1, started_at: now, last_seen_at: now,
    }).where('id', '=', attached.id));
    recordEvent(store, { kind: 'agent_started', fleetId, agentId: attached.id, data: { remote: true, attempt: 1 } }, now);
    return getAgent(store, attached.id)!;
  });
  return { agent, token };
}

export interface AgentEnd {
  status: 'complete' | 'failed';
  output: string | null;
  error: string | null;
}

/**
 * A remote agent reports its end (a local agent's end is its process's exit, which the hub
 * records). Once only: a final agent keeps its first end.
 */
export function finishRemoteAgent(store: Store, agentId: string, end: AgentEnd, now: number = Date.now()): Agent {
  return store.write(() => {
    const agent = getAgent(store, agentId);
    if (agent === undefined) throw new MeshError('not_found', `No agent ${quote(agentId)}.`, 'Use an agent id from fleet_status.');
    if (agent.runtime !== 'remote') {
      throw new MeshError('refused', `Agent ${quote(agentId)} runs as a process the hub started; its end is that process's exit, with its output.`,
        'finish_agent is for agents attached with runtime "remote". To stop a fleet early, set_fleet_timeout.');
    }
    if (FINAL_AGENT_STATUSES.includes(agent.status)) {
      throw new MeshError('conflict', `Agent ${quote(agentId)} already ended: ${agent.status}${agent.error === null ? '' : ` (${agent.error})`}.`, 'Nothing to do; collect_results shows its end.');
    }
    markAgentFinished(store, agentId, { status: end.status, output: end.output, error: end.error }, now);
    return getAgent(store, agentId)!;
  });
}

export interface RunningRemoteAgent {
  id: string;
  fleetId: string;
  startedAt: number | null;
  lastSeenAt: number | null;
  fleetCreatedAt: number;
  fleetTimeoutMs: number | null;
}

/** Remote agents still running, for the hub's deadline and silence checks (agents_remote_running). */
export function runningRemoteAgents(store: Store): RunningRemoteAgent[] {
  return store.all(store.sql.selectFrom('agents').innerJoin('fleets', 'fleets.id', 'agents.fleet_id')
    .select(['agents.id', 'agents.fleet_id', 'agents.started_at', 'agents.last_seen_at', 'fleets.created_at as fleet_created_at', 'fleets.timeout_ms'])
    .where('agents.runtime', '=', 'remote').where('agents.status', '=', 'running'))
    .map((r) => ({ id: r.id, fleetId: r.fleet_id, startedAt: r.started_at, lastSeenAt: r.last_seen_at, fleetCreatedAt: r.fleet_created_at, fleetTimeoutMs: r.timeout_ms }));
}
