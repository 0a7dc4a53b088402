import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ChangeFeed } from '../mesh/changes.js';
import { MeshError } from '../mesh/errors.js';
import { getAgent } from '../mesh/fleets.js';
import { seedRoutingDefaults } from '../routing/seed.js';
import type { RuntimeConfig } from '../runtime/adapters.js';
import { Supervisor, type SupervisorOptions } from '../runtime/supervisor.js';
import type { Store } from '../store/open.js';
import type { ToolDeps } from './deps.js';
import { InboxPush, type PushOptions } from './push.js';
import { registerFleetTools } from './fleets.js';
import { registerMessageTools } from './messages.js';
import { useJsonErrors } from './result.js';
import { registerRoutingTools } from './routing.js';
import { registerSystemTools } from './system.js';
import { registerTemplateTools } from './templates.js';

export const SERVER_INSTRUCTIONS = [
  'Meshfleet coordinates a fleet of agents on one SQLite database.',
  'spawn_fleet starts agents as processes; they message each other with send_message / get_inbox / ack_message',
  '(wait_for_messages blocks until something arrives); route_work names the best agent for a task; collect_results gathers outputs.',
  'Every result is JSON; errors are {"error": "..."} saying what was wrong and what to do.',
].join(' ');

export function createMcpServer(deps: ToolDeps): McpServer {
  const server = new McpServer({ name: 'meshfleet', version: deps.version }, { instructions: SERVER_INSTRUCTIONS });
  useJsonErrors(server);
  registerFleetTools(server, deps);
  registerMessageTools(server, deps);
  registerRoutingTools(server, deps);
  registerTemplateTools(server, deps);
  registerSystemTools(server, deps);
  return server;
}

export interface ServerConfig {
  version: string;
  runtime: RuntimeConfig;
  push: PushOptions;
  /** The environment agents inherit. */
  env: NodeJS.ProcessEnv;
  projectDir: string;
  homeDir: string;
  /** Retry, timeout and recovery settings (MESHFLEET_RETRY_BASE_MS, MESHFLEET_AGENT_TIMEOUT_MS). */
  supervision?: Partial<SupervisorOptions>;
  /** MESHFLEET_AGENT_ID: this server is that agent's own, and acts as it only. */
  agentId?: string;
}

/** Everything one server process's tools share. close() ends agents, streams and polling. */
export function createToolDeps(store: Store, config: ServerConfig): ToolDeps & { close(): Promise<void> } {
  let identity: ToolDeps['identity'];
  if (config.agentId !== undefined) {
    const agent = getAgent(store, config.agentId);
    if (agent === undefined) {
      throw new MeshError('not_found', `MESHFLEET_AGENT_ID is "${config.agentId}", but ${store.path} has no such agent.`,
        'Start the server with the MESHFLEET_DB the agent was spawned on, or without MESHFLEET_AGENT_ID for full access.');
    }
    identity = { agentId: agent.id, fleetId: agent.fleetId };
  }
  seedRoutingDefaults(store);
  const changes = new ChangeFeed(store);
  const supervisor = new Supervisor(store, config.runtime, config.env, { reclaims: identity === undefined, ...config.supervision });
  supervisor.begin();
  const push = new InboxPush(store, changes, config.push);
  return {
    store, changes, supervisor, push, startedAt: Date.now(), version: config.version,
    projectDir: config.projectDir, homeDir: config.homeDir, identity,
    close: async () => {
      await supervisor.stopAll('the meshfleet server that started this agent stopped');
      await push.close();
      changes.stop();
    },
  };
}
