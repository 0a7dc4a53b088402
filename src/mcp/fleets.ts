import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type Agent, type AgentSpec, attachAgent, createFleet, fleetAgents, fleetStatus, listFleets, MAX_FLEET_AGENTS, requireFleet, setFleetTimeout,
} from '../mesh/fleets.js';
import { newId } from '../mesh/ids.js';
import { listPremadeAgents, registerPremadeCapabilities } from '../runtime/premade.js';
import { discard, prepareWorkspaces, reportWorkspace, type WorkspaceRequest } from '../runtime/workspaces.js';
import { MAX_CAPTURE_BYTES } from '../runtime/supervisor.js';
import { actingFleet } from './access.js';
import type { ToolDeps } from './deps.js';
import { pageFields, pageOf } from './paging.js';
import { toolResult } from './result.js';
import { agentJson, fleetJson } from './wire.js';
import { agentSpec, id, list, page, whole } from './schemas.js';

/** Registers what premade agents declare, then starts their processes without waiting on any. */
function startAgentProcesses(deps: ToolDeps, agents: readonly Agent[]): void {
  registerPremadeCapabilities(deps.store, agents, deps.projectDir, deps.homeDir);
  deps.agents.start(agents);
}

/** Creates a fleet and starts its agents; what spawn_fleet (and spawn_from_template with spawn: true) answers. */
export function spawnFleet(deps: ToolDeps, specs: (AgentSpec & WorkspaceRequest)[]): { fleet_id: string; agent_ids: string[] } {
  const fleetId = newId('fleet');
  const prepared = prepareWorkspaces(specs, fleetId, { projectDir: deps.projectDir, dbPath: deps.store.path });
  const { fleet, agents } = withWorkspaces(prepared, () => createFleet(deps.store, prepared, Date.now(), deps.agents.owner, fleetId));
  startAgentProcesses(deps, agents);
  return { fleet_id: fleet.id, agent_ids: agents.map((a) => a.id) };
}

/** Runs the write that records agents; worktrees made for them are removed when it fails. */
function withWorkspaces<T>(specs: readonly AgentSpec[], write: () => T): T {
  try {
    return write();
  } catch (err) {
    for (const spec of specs) if (spec.prepared !== undefined) discard(spec.prepared.workspace);
    throw err;
  }
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
  }, (input) => toolResult(() => {
    const fleet = requireFleet(store, fleetOf(input.fleet_id, 'collect the results of'));
    const shown = pageOf(fleetAgents(store, fleet.id), (a) => ({
      agent_id: a.id, role: a.role, status: a.status, output: a.output, error: a.error,
      ...(a.workspace === null ? {} : { workspace: reportWorkspace(a.workspace) }),
    }), input.offset, input.limit);
    return { fleet_id: fleet.id, status: fleet.status, results: shown.items, ...pageFields(shown) };
  }));

  server.registerTool('attach_agent', {
    description: 'Add one agent to an existing fleet and start it (a settled fleet runs again).',
    inputSchema: { fleet_id: fleetArg, ...agentSpec.shape },
  }, (input) => toolResult(() => {
    const fleetId = fleetOf(input.fleet_id, 'attach agents to');
    const [spec] = prepareWorkspaces([input], fleetId, { projectDir: deps.projectDir, dbPath: store.path }, () => '');
    const agent = withWorkspaces([spec!], () => attachAgent(store, fleetId, spec!, Date.now(), deps.agents.owner));
    startAgents([agent]);
    return { agent_id: agent.id, fleet_id: agent.fleetId, role: agent.role, agent_file: agent.agentFile, message: `Agent ${agent.id} attached to fleet ${agent.fleetId} and starting.` };
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
