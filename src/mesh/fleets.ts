import type { Selectable } from 'kysely';
import type { Store } from '../store/open.js';
import type { AgentProfile, AgentStatus, AgentTable, FleetStatus, FleetTable, WorkspaceState } from '../store/schema.js';
import { MeshError } from './errors.js';
import { recordEvent } from './events.js';
import { newId } from './ids.js';
import { AGENT_NAME, MAX_PROMPT_BYTES, MAX_ROLE_CHARS, quote } from './limits.js';

export const MAX_FLEET_AGENTS = 64;
export const FINAL_AGENT_STATUSES: readonly AgentStatus[] = ['complete', 'failed', 'interrupted'];

export interface AgentSpec {
  role: string;
  prompt: string;
  /** Premade agent stem (.opencode/agents/<stem>.md). */
  agent?: string | null;
  /** worker (default) or lead: what the agent's own server lets it do. */
  profile?: AgentProfile | null;
  /** Set by the spawner when it prepared the agent's own git worktree under this id (runtime/workspaces.ts). */
  prepared?: { id: string; workspace: Workspace };
}

/** An agent's own git worktree. */
export interface Workspace {
  repo: string;
  path: string;
  branch: string;
  /** The commit it was created from. */
  base: string;
  state: WorkspaceState;
}

export interface Fleet {
  id: string;
  status: FleetStatus;
  createdAt: number;
  completedAt: number | null;
  timeoutMs: number | null;
}

export interface Agent {
  id: string;
  fleetId: string;
  role: string;
  prompt: string;
  agentFile: string | null;
  status: AgentStatus;
  pid: number | null;
  retryCount: number;
  output: string | null;
  error: string | null;
  createdAt: number | null;
  startedAt: number | null;
  completedAt: number | null;
  /** Attempts started so far (a retry is a new attempt). */
  attempts: number;
  /** The server instance supervising the agent's process, while it has one. */
  supervisorId: string | null;
  pidStart: string | null;
  profile: AgentProfile;
  /** SHA-256 of the current attempt's MESHFLEET_AGENT_TOKEN; null before the first start. */
  tokenHash: string | null;
  /** Its own git worktree, where it runs; null when it shares the server's folder. */
  workspace: Workspace | null;
}

export interface FleetListing extends Fleet {
  agentCount: number;
  agentsRunning: number;
  agentsComplete: number;
  agentsFailed: number;
  agentsInterrupted: number;
  agentsPending: number;
}

const toFleet = (row: FleetTable): Fleet => ({
  id: row.id, status: row.status, createdAt: row.created_at, completedAt: row.completed_at, timeoutMs: row.timeout_ms,
});

const toAgent = (row: Selectable<AgentTable>): Agent => ({
  id: row.id, fleetId: row.fleet_id, role: row.role, prompt: row.prompt, agentFile: row.agent_file, status: row.status,
  pid: row.pid, retryCount: row.retry_count, output: row.output, error: row.error, createdAt: row.created_at,
  startedAt: row.started_at, completedAt: row.completed_at, attempts: row.attempts, supervisorId: row.supervisor_id, pidStart: row.pid_start,
  profile: row.profile, tokenHash: row.token_hash,
  workspace: row.workspace_path === null || row.workspace_path === undefined ? null : {
    repo: row.workspace_repo!, path: row.workspace_path, branch: row.workspace_branch!, base: row.workspace_base!, state: row.workspace_state ?? 'active',
  },
});

/**
 * Creates a fleet and its agents (pending until a runtime starts them). `owner`, a supervisor's
 * id, claims them at once for the server that will start them itself; without it they wait for
 * the database's hub. `fleetId` is given when worktrees were made for it first.
 */
export function createFleet(
  store: Store, specs: AgentSpec[], now: number = Date.now(), owner: string | null = null, fleetId: string = newId('fleet'),
): { fleet: Fleet; agents: Agent[] } {
  if (specs.length === 0) {
    throw new MeshError('invalid', 'A fleet needs at least one agent; `agents` was empty.', 'Pass agents: [{role, prompt}, …].');
  }
  if (specs.length > MAX_FLEET_AGENTS) {
    throw new MeshError('invalid', `A fleet holds at most ${MAX_FLEET_AGENTS} agents; got ${specs.length}.`, 'Split the work into several fleets.');
  }
  specs.forEach((spec, index) => checkAgentSpec(spec, `agents[${index}].`));
  return store.write(() => {
    store.run(store.sql.insertInto('fleets').values({ id: fleetId, status: 'running', created_at: now, completed_at: null, timeout_ms: null }));
    recordEvent(store, { kind: 'fleet_created', fleetId, data: { agents: specs.length } }, now);
    const agents = specs.map((spec) => insertAgent(store, fleetId, spec, 'agent_spawned', now, owner));
    return { fleet: requireFleet(store, fleetId), agents };
  });
}

/** Adds an agent to an existing fleet; a fleet that had settled runs again. `owner` as for createFleet. */
export function attachAgent(store: Store, fleetId: string, spec: AgentSpec, now: number = Date.now(), owner: string | null = null): Agent {
  checkAgentSpec(spec, '');
  return store.write(() => {
    const fleet = requireFleet(store, fleetId);
    const size = store.first(store.sql.selectFrom('agents').select((eb) => eb.fn.countAll<number>().as('n')).where('fleet_id', '=', fleetId))?.n ?? 0;
    if (size >= MAX_FLEET_AGENTS) {
      throw new MeshError('too_large', `Fleet ${quote(fleetId)} already has ${size} agents; a fleet holds at most ${MAX_FLEET_AGENTS}.`, 'Spawn another fleet for more agents.');
    }
    if (fleet.status !== 'running') {
      store.run(store.sql.updateTable('fleets').set({ status: 'running', completed_at: null }).where('id', '=', fleetId));
    }
    return insertAgent(store, fleetId, spec, 'agent_attached', now, owner);
  });
}

/**
 * What a process can be started with: a prompt travels as one argument (and in an environment
 * variable), which cannot hold NUL or exceed the kernel's per-argument limit; a premade agent
 * is a file stem, never a path.
 */
export function checkAgentSpec(spec: AgentSpec, where: string): void {
  if (spec.role.includes('\0')) {
    throw new MeshError('invalid', `${where}role holds a NUL character, which cannot be passed to a process.`, 'Remove it from the role.');
  }
  if (spec.role.length > MAX_ROLE_CHARS) {
    throw new MeshError('too_large', `${where}role is ${spec.role.length} characters; the limit is ${MAX_ROLE_CHARS}.`, 'Give a short role, e.g. "reviewer"; put the details in the prompt.');
  }
  if (spec.prompt.includes('\0')) {
    throw new MeshError('invalid', `${where}prompt holds a NUL character, which cannot be passed to a process.`, 'Remove it from the prompt.');
  }
  if (spec.prompt.length * 3 > MAX_PROMPT_BYTES) {
    const bytes = Buffer.byteLength(spec.prompt, 'utf8');
    if (bytes > MAX_PROMPT_BYTES) {
      throw new MeshError('too_large', `${where}prompt is ${bytes} bytes of UTF-8; the limit is ${MAX_PROMPT_BYTES}.`,
        'Put the long part in a file and name the file in the prompt.');
    }
  }
  if (spec.agent != null && !AGENT_NAME.test(spec.agent)) {
    throw new MeshError('invalid', `${where}agent ${quote(spec.agent)} is not a premade agent name: 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit, no path.`,
      'Pass a stem from list_agents, e.g. "reviewer" for .opencode/agents/reviewer.md.');
  }
}

function insertAgent(store: Store, fleetId: string, spec: AgentSpec, event: 'agent_spawned' | 'agent_attached', now: number, owner: string | null): Agent {
  const id = spec.prepared?.id ?? newId('agent');
  const workspace = spec.prepared?.workspace ?? null;
  const row = {
    id, fleet_id: fleetId, role: spec.role, prompt: spec.prompt, agent_file: spec.agent ?? null, status: 'pending' as const, profile: spec.profile ?? 'worker',
    pid: null, retry_count: 0, output: null, error: null, created_at: now, started_at: null, completed_at: null,
    attempts: 0, supervisor_id: owner, pid_start: null, token_hash: null,
    workspace_repo: workspace?.repo ?? null, workspace_path: workspace?.path ?? null, workspace_branch: workspace?.branch ?? null,
    workspace_base: workspace?.base ?? null, workspace_state: workspace === null ? null : 'active' as const,
  };
  store.run(store.sql.insertInto('agents').values(row));
  recordEvent(store, { kind: event, fleetId, agentId: id, data: { role: spec.role, agent: spec.agent ?? null, profile: row.profile, ...(workspace === null ? {} : { branch: workspace.branch }) } }, now);
  return toAgent(row);
}

export function requireFleet(store: Store, fleetId: string): Fleet {
  const row = store.first(store.sql.selectFrom('fleets').selectAll().where('id', '=', fleetId));
  if (row === undefined) {
    throw new MeshError('not_found', `No fleet ${quote(fleetId)}.`, 'Use a fleet_id returned by spawn_fleet, or call list_fleets.');
  }
  return toFleet(row);
}

export function getAgent(store: Store, agentId: string): Agent | undefined {
  const row = store.first(store.sql.selectFrom('agents').selectAll().where('id', '=', agentId));
  return row === undefined ? undefined : toAgent(row);
}

export function fleetAgents(store: Store, fleetId: string): Agent[] {
  return store.all(store.sql.selectFrom('agents').selectAll().where('fleet_id', '=', fleetId).orderBy('created_at').orderBy('id')).map(toAgent);
}

export function fleetStatus(store: Store, fleetId: string): { fleet: Fleet; agents: Agent[] } {
  const fleet = requireFleet(store, fleetId);
  return { fleet, agents: fleetAgents(store, fleetId) };
}

/** Fleets, newest first, a page at a time (`offset` fleets skipped, at most `limit`). */
export function listFleets(store: Store, page: { offset?: number; limit?: number } = {}): FleetListing[] {
  const rows = store.all(store.sql.selectFrom('fleet_summary').innerJoin('fleets', 'fleets.id', 'fleet_summary.fleet_id')
    .select(['fleets.id', 'fleets.status', 'fleets.created_at', 'fleets.completed_at', 'fleets.timeout_ms',
      'fleet_summary.agents', 'fleet_summary.agents_running', 'fleet_summary.agents_complete', 'fleet_summary.agents_failed',
      'fleet_summary.agents_interrupted', 'fleet_summary.agents_pending'])
    .orderBy('fleets.created_at', 'desc').orderBy('fleets.id', 'desc') // ids sort by creation, too
    .limit(page.limit ?? -1).offset(page.offset ?? 0));
  return rows.map((row) => ({
    ...toFleet(row), agentCount: row.agents, agentsRunning: row.agents_running,
    agentsComplete: row.agents_complete, agentsFailed: row.agents_failed,
    agentsInterrupted: row.agents_interrupted, agentsPending: row.agents_pending,
  }));
}

export function setFleetTimeout(store: Store, fleetId: string, timeoutMs: number, now: number = Date.now()): Fleet {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
    throw new MeshError('invalid', `timeout_ms must be a whole number of milliseconds, 0 or more; got ${timeoutMs}.`, 'Pass e.g. 600000 for ten minutes, or 0 for no fleet timeout.');
  }
  return store.write(() => {
    requireFleet(store, fleetId);
    store.run(store.sql.updateTable('fleets').set({ timeout_ms: timeoutMs === 0 ? null : timeoutMs }).where('id', '=', fleetId));
    recordEvent(store, { kind: 'fleet_timeout_set', fleetId, data: { timeout_ms: timeoutMs } }, now);
    return requireFleet(store, fleetId);
  });
}

/**
 * Whether `supervisorId` may write this agent's progress: it has not reached a final status, and
 * it is that supervisor's or nobody's yet. A server that was judged dead and taken over (stopped,
 * or hung past the heartbeat bound) may wake up later; what it then reports about agents that
 * another server now runs must change nothing.
 */
function isOwnedBy(agent: Agent | undefined, supervisorId: string | undefined): agent is Agent {
  if (agent === undefined || FINAL_AGENT_STATUSES.includes(agent.status)) return false;
  return supervisorId === undefined || agent.supervisorId === null || agent.supervisorId === supervisorId;
}

/**
 * A runtime started a new attempt of an agent's process, supervised by `supervisorId`.
 * `tokenHash` is the hash of the attempt's MESHFLEET_AGENT_TOKEN: a new attempt's token replaces the last.
 * False, and nothing written, when the agent is final or another supervisor's: the process must go.
 */
export function markAgentStarted(
  store: Store,
  agentId: string,
  attempt: { pid: number; pidStart: string | null; supervisorId: string; number: number; tokenHash: string },
  now: number = Date.now(),
): boolean {
  return store.write(() => {
    const agent = getAgent(store, agentId);
    if (!isOwnedBy(agent, attempt.supervisorId)) return false;
    store.run(store.sql.updateTable('agents').set({
      status: 'running', pid: attempt.pid, pid_start: attempt.pidStart, supervisor_id: attempt.supervisorId, attempts: attempt.number,
      retry_count: Math.max(0, attempt.number - 1), started_at: now, completed_at: null, output: null, token_hash: attempt.tokenHash,
    }).where('id', '=', agentId));
    recordEvent(store, { kind: 'agent_started', fleetId: agent.fleetId, agentId, data: { pid: attempt.pid, attempt: attempt.number } }, now);
    return true;
  });
}

/**
 * A failed attempt will be retried after `delayMs`: the agent waits, pending, with its last error.
 * With `supervisorId`, only while the agent is still that supervisor's.
 */
export function markAgentRetrying(
  store: Store,
  agentId: string,
  retry: { attempt: number; delayMs: number; error: string | null; supervisorId?: string },
  now: number = Date.now(),
): void {
  store.write(() => {
    const agent = getAgent(store, agentId);
    if (!isOwnedBy(agent, retry.supervisorId)) return;
    store.run(store.sql.updateTable('agents').set({ status: 'pending', pid: null, pid_start: null, error: retry.error }).where('id', '=', agentId));
    recordEvent(store, { kind: 'agent_retried', fleetId: agent.fleetId, agentId, data: { failed_attempt: retry.attempt, delay_ms: retry.delayMs, error: retry.error } }, now);
  });
}

/**
 * An agent reached a final status; its fleet settles once every agent has. Handled once: a final
 * agent is not changed. With `supervisorId`, only while the agent is still that supervisor's.
 */
export function markAgentFinished(
  store: Store,
  agentId: string,
  outcome: { status: 'complete' | 'failed' | 'interrupted'; output: string | null; error: string | null; supervisorId?: string },
  now: number = Date.now(),
): void {
  store.write(() => {
    const agent = getAgent(store, agentId);
    if (!isOwnedBy(agent, outcome.supervisorId)) return;
    store.run(store.sql.updateTable('agents')
      .set({ status: outcome.status, output: outcome.output, error: outcome.error, completed_at: now, supervisor_id: null })
      .where('id', '=', agentId));
    const kind = outcome.status === 'complete' ? 'agent_finished' : outcome.status === 'failed' ? 'agent_failed' : 'agent_interrupted';
    recordEvent(store, { kind, fleetId: agent.fleetId, agentId, data: outcome.error === null ? undefined : { error: outcome.error } }, now);
    settleFleet(store, agent.fleetId, now);
  });
}

function settleFleet(store: Store, fleetId: string, now: number): void {
  const statuses = fleetAgents(store, fleetId).map((a) => a.status);
  if (statuses.length === 0 || !statuses.every((s) => FINAL_AGENT_STATUSES.includes(s))) return;
  const status: FleetStatus = statuses.every((s) => s === 'complete') ? 'complete' : 'failed';
  store.run(store.sql.updateTable('fleets').set({ status, completed_at: now }).where('id', '=', fleetId));
  recordEvent(store, { kind: 'fleet_settled', fleetId, data: { status } }, now);
}
