import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type Agent, type AgentSpec, attachAgent, createFleet, fleetAgents, fleetStatus, listFleets, MAX_FLEET_AGENTS, requireFleet, setFleetTimeout,
} from '../mesh/fleets.js';
import { MeshError } from '../mesh/errors.js';
import { attachRemoteAgent, finishRemoteAgent } from '../mesh/remote-agents.js';
import { newId } from '../mesh/ids.js';
import { listPremadeAgents, registerPremadeCapabilities } from '../runtime/premade.js';
import { discardAll, prepareWorkspaces, reportWorkspace, type WorkspaceReport, type WorkspaceRequest } from '../runtime/workspaces.js';
import { MAX_CAPTURE_BYTES } from '../runtime/supervisor.js';
import { actingAgent, actingFleet } from './access.js';
import type { ToolDeps } from './deps.js';
import { pageFields, pageOf } from './paging.js';
import { toolResult } from './result.js';
import { agentJson, fleetJson } from './wire.js';
import { agentSpec, id, list, oneOf, page, text, whole } from './schemas.js';

const MAX_ERROR_TEXT_CHARS = 4_000;

/** A remote agent: recorded running, no process; its token and the hub's MCP URL go back to the caller. */
function attachRemote(deps: ToolDeps, fleetId: string, spec: AgentSpec) {
  const mcpUrl = deps.hubUrl?.();
  if (mcpUrl === undefined) {
    throw new MeshError('refused', 'No hub serves this database over HTTP, so a remote agent would have nowhere to connect; nothing was attached.',
      'Start one with `meshfleet hub --db <this database>`, then attach again.');
  }
  const { agent, token } = attachRemoteAgent(deps.store, fleetId, spec);
  return {
    agent_id: agent.id, fleet_id: agent.fleetId, role: agent.role, agent_file: agent.agentFile, runtime: 'remote', token, mcp_url: mcpUrl,
    message: `Agent ${agent.id} attached to fleet ${agent.fleetId}; no process was started. Its MCP client connects to mcp_url with the header "Authorization: Bearer <token>" (the token is shown only here), and calls finish_agent when done.`,
  };
}

/** Registers what premade agents declare, then starts their processes without waiting on any. */
function startAgentProcesses(deps: ToolDeps, agents: readonly Agent[]): void {
  registerPremadeCapabilities(deps.store, agents, deps.projectDir, deps.homeDir);
  deps.agents.start(agents);
}

/**
 * Creates a fleet and starts its agents; what spawn_fleet (and spawn_from_template with spawn: true)
 * answers. Worktrees are made first, while the server goes on answering other calls.
 */
export async function spawnFleet(deps: ToolDeps, specs: (AgentSpec & WorkspaceRequest)[]): Promise<{ fleet_id: string; agent_ids: string[] }> {
  const fleetId = newId('fleet');
  const prepared = await prepareWorkspaces(specs, fleetId, { projectDir: deps.projectDir, dbPath: deps.store.path });
  const { fleet, agents } = await withWorkspaces(prepared, () => createFleet(deps.store, prepared, Date.now(), deps.agents.owner, fleetId));
  startAgentProcesses(deps, agents);
  return { fleet_id: fleet.id, agent_ids: agents.map((a) => a.id) };
}

/** Runs the write that records agents; worktrees made for them are removed when it fails. */
async function withWorkspaces<T>(specs: readonly AgentSpec[], write: () => T): Promise<T> {
  try {
    return write();
  } catch (err) {
    await discardAll(specs.flatMap((spec) => spec.prepared === undefined ? [] : [spec.prepared.workspace]));
    throw err;
  }
}

/** Each worktree's report, one agent after another: collect_results waits for git, the server does not. */
async function workspaceReports(agents: readonly Agent[]): Promise<Map<string, WorkspaceReport>> {
  const reports = new Map<string, WorkspaceReport>();
  for (const agent of agents) if (agent.workspace !== null) reports.set(agent.id, await reportWorkspace(agent.workspace));
  return reports;
}

export function registerFleetTools(server: McpServer, deps: ToolDeps): void {
  const { store, caller } = deps;
  const agentsPage = page(MAX_FLEET_AGENTS, MAX_FLEET_AGENTS);
  /** The fleet a fleet tool reaches: any for the operator, an agent's own otherwise. */
  const fleetOf = (given: string | undefined, action: string): string => actingFleet(caller, given, action);
  const startAgents = (agents: readonly Agent[]): void => startAgentProcesses(deps, agents);
  const fleetArg = caller.kind === 'operator' ? id('fleet_id') : id('fleet_id').optional().describe('Defaults to this agent\'s own fleet (the only one it may use)');

  server.registerTool('spawn_fleet', {
    description: `Start a fleet: one OS process per agent, each told its own id. Returns at once; poll fleet_status or collect_results. At most ${MAX_FLEET_AGENTS} agents.`,
    inputSchema: { agents: list('agents', agentSpec, MAX_FLEET_AGENTS, 1) },
  }, (input) => toolResult(() => spawnFleet(deps, input.agents)));

  server.registerTool('fleet_status', {
    description: 'A fleet and its agents in spawn order: status, profile, pid, attempts, output, error, times (epoch ms). Large answers come in pages (has_more, next_offset).',
    inputSchema: { fleet_id: fleetArg, ...agentsPage },
  }, (input) => toolResult(() => {
    const { fleet, agents } = fleetStatus(store, fleetOf(input.fleet_id, 'read the status of'));
    const shown = pageOf(agents, agentJson, input.offset, input.limit);
    return { fleet: fleetJson(fleet), agents: shown.items, ...pageFields(shown) };
  }));

  server.registerTool('list_fleets', {
    description: 'Fleets, newest first, with agent counts by status; 100 per page (offset, limit up to 1000, has_more, next_offset).',
    inputSchema: page(100, 1_000),
  }, (input) => toolResult(() => {
    const limit = input.limit ?? 100;
    const fleets = listFleets(store, { offset: input.offset ?? 0, limit: limit + 1 });
    const more = fleets.length > limit;
    return {
      fleets: fleets.slice(0, limit).map((f) => ({
        ...fleetJson(f), agent_count: f.agentCount, agents_complete: f.agentsComplete, agents_failed: f.agentsFailed, agents_running: f.agentsRunning,
        agents_interrupted: f.agentsInterrupted, agents_pending: f.agentsPending,
      })),
      has_more: more,
      next_offset: more ? (input.offset ?? 0) + limit : null,
    };
  }));

  server.registerTool('set_fleet_timeout', {
    description: 'Limit how long a fleet may run, in ms counted from its creation; agents still running past it are stopped (SIGTERM, then SIGKILL) and fail. Applies to running agents at once; 0 removes the limit.',
    inputSchema: {
      fleet_id: fleetArg,
      timeout_ms: whole('timeout_ms', 0, Number.MAX_SAFE_INTEGER, ' ms (0: no fleet timeout)'),
    },
  }, (input) => toolResult(() => {
    const fleet = setFleetTimeout(store, fleetOf(input.fleet_id, 'set the timeout of'), input.timeout_ms);
    return { ok: true, fleet_id: fleet.id, timeout_ms: fleet.timeoutMs ?? 0 };
  }));

  server.registerTool('collect_results', {
    description: `Each agent's final output (its stdout, last ${MAX_CAPTURE_BYTES / 1024} KiB) and error (stderr), with role and status. Large answers come in pages (has_more, next_offset).`,
    inputSchema: { fleet_id: fleetArg, ...agentsPage },
  }, (input) => toolResult(async () => {
    const fleet = requireFleet(store, fleetOf(input.fleet_id, 'collect the results of'));
    const agents = fleetAgents(store, fleet.id);
    // Only the agents this page can hold; the page may still end sooner, by bytes.
    const offset = input.offset ?? 0;
    const reports = await workspaceReports(agents.slice(offset, offset + (input.limit ?? agents.length)));
    const shown = pageOf(agents, (a) => ({
      agent_id: a.id, role: a.role, status: a.status, output: a.output, error: a.error,
      ...(a.workspace === null ? {} : { workspace: reports.get(a.id) }),
    }), input.offset, input.limit);
    return { fleet_id: fleet.id, status: fleet.status, results: shown.items, ...pageFields(shown) };
  }));

  server.registerTool('attach_agent', {
    description: 'Add one agent to an existing fleet and start it (a settled fleet runs again). runtime "remote": start no process; the answer carries the token and MCP URL an agent on another machine connects with.',
    inputSchema: {
      fleet_id: fleetArg, ...agentSpec.shape,
      runtime: oneOf('runtime', ['local', 'remote'] as const).optional()
        .describe('local (default): a process the hub starts. remote: the agent runs elsewhere and joins over HTTP with the token returned (shown once)'),
    },
  }, (input) => toolResult(async () => {
    const fleetId = fleetOf(input.fleet_id, 'attach agents to');
    if (input.runtime === 'remote') return attachRemote(deps, fleetId, input);
    const [spec] = await prepareWorkspaces([input], fleetId, { projectDir: deps.projectDir, dbPath: store.path }, () => '');
    const agent = await withWorkspaces([spec!], () => attachAgent(store, fleetId, spec!, Date.now(), deps.agents.owner));
    startAgents([agent]);
    return { agent_id: agent.id, fleet_id: agent.fleetId, role: agent.role, agent_file: agent.agentFile, message: `Agent ${agent.id} attached to fleet ${agent.fleetId} and starting.` };
  }));

  server.registerTool('finish_agent', {
    description: 'End a remote agent\'s run with its result (collect_results shows it); its token stops working. A local agent ends when its process exits, not with this.',
    inputSchema: {
      agent_id: caller.kind === 'operator' ? id('agent_id') : id('agent_id').optional().describe('Defaults to this agent'),
      status: oneOf('status', ['complete', 'failed'] as const).optional().describe('complete (default) or failed'),
      output: text('output', MAX_CAPTURE_BYTES, { empty: true }).optional().describe(`The final result, at most ${MAX_CAPTURE_BYTES} characters`),
      error: text('error', MAX_ERROR_TEXT_CHARS).optional().describe(`Why it failed, at most ${MAX_ERROR_TEXT_CHARS} characters`),
    },
  }, (input) => toolResult(() => {
    const agentId = actingAgent(caller, input.agent_id, 'agent_id', 'finish');
    const agent = finishRemoteAgent(store, agentId, { status: input.status ?? 'complete', output: input.output ?? null, error: input.error ?? null });
    return { agent_id: agent.id, fleet_id: agent.fleetId, status: agent.status };
  }));

  server.registerTool('list_agents', {
    description: 'Premade agent definitions (.opencode/agents/*.md in the project, then ~/.config/opencode/agents) usable as `agent` in spawn_fleet; 100 per page (offset, limit up to 1000).',
    inputSchema: page(100, 1_000),
  }, (input) => toolResult(() => {
    const all = listPremadeAgents(deps.projectDir, deps.homeDir);
    const shown = pageOf(all, ({ filename, name, description, mode }) => ({ filename, name, description, mode }), input.offset, input.limit ?? 100);
    return { count: all.length, agents: shown.items, ...pageFields(shown) };
  }));
}
