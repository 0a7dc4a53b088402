import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import {
  attachAgent, createFleet, fleetAgents, fleetStatus, listFleets, MAX_FLEET_AGENTS, requireFleet, setFleetTimeout,
} from '../mesh/fleets.js';
import { listPremadeAgents, registerPremadeCapabilities } from '../runtime/premade.js';
import { MAX_CAPTURE_BYTES } from '../runtime/supervisor.js';
import type { ToolDeps } from './deps.js';
import { toolResult } from './result.js';
import { agentJson, fleetJson } from './wire.js';
import { agentSpec, id } from './schemas.js';

export function registerFleetTools(server: McpServer, deps: ToolDeps): void {
  const { store, supervisor } = deps;

  server.registerTool('spawn_fleet', {
    description: `Start a fleet: one OS process per agent, each told its own id. Returns at once; poll fleet_status or collect_results. At most ${MAX_FLEET_AGENTS} agents.`,
    inputSchema: { agents: z.array(agentSpec).min(1, 'agents must hold at least one agent').max(MAX_FLEET_AGENTS, `a fleet holds at most ${MAX_FLEET_AGENTS} agents`) },
  }, (input) => toolResult(() => {
    const { fleet, agents } = createFleet(store, input.agents);
    registerPremadeCapabilities(store, agents, deps.projectDir, deps.homeDir);
    for (const agent of agents) supervisor.start(agent);
    return { fleet_id: fleet.id, agent_ids: agents.map((a) => a.id) };
  }));

  server.registerTool('fleet_status', {
    description: 'A fleet and its agents: status, pid, attempts, output, error, times (epoch ms).',
    inputSchema: { fleet_id: id('fleet_id') },
  }, (input) => toolResult(() => {
    const { fleet, agents } = fleetStatus(store, input.fleet_id);
    return { fleet: fleetJson(fleet), agents: agents.map(agentJson) };
  }));

  server.registerTool('list_fleets', {
    description: 'Every fleet, newest first, with agent counts by status.',
    inputSchema: {},
  }, () => toolResult(() => ({
    fleets: listFleets(store).map((f) => ({
      ...fleetJson(f), agent_count: f.agentCount, agents_complete: f.agentsComplete, agents_failed: f.agentsFailed, agents_running: f.agentsRunning,
    })),
  })));

  server.registerTool('set_fleet_timeout', {
    description: 'Limit how long a fleet may run, in ms counted from its creation; agents still running past it are stopped (SIGTERM, then SIGKILL) and fail. Applies to running agents at once; 0 removes the limit.',
    inputSchema: {
      fleet_id: id('fleet_id'),
      timeout_ms: z.int('timeout_ms must be a whole number of milliseconds').min(0, 'timeout_ms must be 0 or more (0: no fleet timeout)'),
    },
  }, (input) => toolResult(() => {
    const fleet = setFleetTimeout(store, input.fleet_id, input.timeout_ms);
    return { ok: true, fleet_id: fleet.id, timeout_ms: fleet.timeoutMs ?? 0 };
  }));

  server.registerTool('collect_results', {
    description: `Each agent's final output (its stdout, last ${MAX_CAPTURE_BYTES / 1024} KiB) and error (stderr), with role and status.`,
    inputSchema: { fleet_id: id('fleet_id') },
  }, (input) => toolResult(() => {
    const fleet = requireFleet(store, input.fleet_id);
    return {
      fleet_id: fleet.id,
      status: fleet.status,
      results: fleetAgents(store, fleet.id).map((a) => ({ agent_id: a.id, role: a.role, status: a.status, output: a.output, error: a.error })),
    };
  }));

  server.registerTool('attach_agent', {
    description: 'Add one agent to an existing fleet and start it (a settled fleet runs again).',
    inputSchema: { fleet_id: id('fleet_id'), ...agentSpec.shape },
  }, (input) => toolResult(() => {
    const agent = attachAgent(store, input.fleet_id, input);
    registerPremadeCapabilities(store, [agent], deps.projectDir, deps.homeDir);
    supervisor.start(agent);
    return { agent_id: agent.id, fleet_id: agent.fleetId, role: agent.role, agent_file: agent.agentFile, message: `Agent ${agent.id} attached to fleet ${agent.fleetId} and starting.` };
  }));

  server.registerTool('list_agents', {
    description: 'Premade agent definitions (.opencode/agents/*.md in the project, then ~/.config/opencode/agents) usable as `agent` in spawn_fleet.',
    inputSchema: {},
  }, () => toolResult(() => {
    const agents = listPremadeAgents(deps.projectDir, deps.homeDir).map(({ filename, name, description, mode }) => ({ filename, name, description, mode }));
    return { count: agents.length, agents };
  }));
}
