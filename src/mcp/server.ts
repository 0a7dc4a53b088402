import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ChangeFeed } from '../mesh/changes.js';
import { seedRoutingDefaults } from '../routing/seed.js';
import type { RuntimeConfig } from '../runtime/adapters.js';
import { Supervisor, type SupervisorOptions } from '../runtime/supervisor.js';
import type { Store } from '../store/open.js';
import { accessOf, identifyCaller, mayUse, type Caller } from './access.js';
import type { AgentLauncher, HubLink, ToolDeps } from './deps.js';
import { InboxPush, type PushOptions } from './push.js';
import { registerFleetTools } from './fleets.js';
import { registerMessageTools } from './messages.js';
import { failed, malformedTextAt, useJsonErrors } from './result.js';
import { registerReservationTools } from './reservations.js';
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
  useJsonErrors(server, deps.caller);
  const offered = offeredTools(server, deps.caller);
  registerFleetTools(offered, deps);
  registerMessageTools(offered, deps);
  registerRoutingTools(offered, deps);
  registerTemplateTools(offered, deps);
  registerSystemTools(offered, deps);
  registerReservationTools(offered, deps);
  return server;
}

type ToolHandler = (args: unknown, extra: unknown) => unknown;

/**
 * The registerTool of a server, limited to the tools its caller may use (TOOL_ACCESS): the
 * others are not registered at all, so tools/list shows a caller only what it can call, and a
 * smaller list is less context for its model. Every handler also refuses text with lone
 * surrogates, which UTF-8 cannot store unaltered.
 */
function offeredTools(server: McpServer, caller: Caller): McpServer {
  const register = (name: string, config: unknown, handler: ToolHandler): unknown => {
    if (accessOf(name) === undefined) throw new Error(`tool ${name} is missing from TOOL_ACCESS in src/mcp/access.ts`);
    if (!mayUse(caller, name)) return undefined;
    const checked: ToolHandler = (args, extra) => {
      const at = malformedTextAt(args);
      if (at !== undefined) {
        return failed(`${at} holds a lone UTF-16 surrogate (half of a character), which cannot be stored as UTF-8 unaltered. Nothing was changed. Send well-formed text.`);
      }
      return handler(args, extra);
    };
    return (server.registerTool as (...args: unknown[]) => unknown).call(server, name, config, checked);
  };
  return new Proxy(server, {
    get: (target, property, receiver) => (property === 'registerTool' ? register : Reflect.get(target, property, receiver)),
  });
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
  /** MESHFLEET_AGENT_TOKEN: proves the server runs for that agent. */
  agentToken?: string;
  /** The database's hub starts this server's agents; without it, this server starts them itself (--no-hub). */
  hub?: HubLink;
}

/** Everything one server process's tools share. close() ends agents, streams and polling. */
export function createToolDeps(store: Store, config: ServerConfig): ToolDeps & { close(): Promise<void> } {
  const caller = identifyCaller(store, config.agentId, config.agentToken);
  seedRoutingDefaults(store);
  const changes = new ChangeFeed(store);
  const { agents, stopAgents } = config.hub === undefined
    ? ownSupervisor(store, config, caller)
    : { agents: hubLauncher(config.hub, caller), stopAgents: async () => config.hub!.stop() };
  // An agent's own server never takes an operator token: the agent chose its environment, and
  // with one it could open every agent's stream. Its streams open by their URL key or its own token.
  const push = new InboxPush(store, changes, caller.kind === 'operator' ? config.push : { ...config.push, token: undefined });
  return {
    store, changes, agents, push, startedAt: Date.now(), version: config.version,
    projectDir: config.projectDir, homeDir: config.homeDir, caller, waits: { pending: 0 },
    close: async () => {
      await stopAgents();
      await push.close();
      changes.stop();
    },
  };
}

/** Agents as this server's own children, ended with it (--no-hub, and tests). */
function ownSupervisor(store: Store, config: ServerConfig, caller: Caller): { agents: AgentLauncher; stopAgents: () => Promise<void> } {
  const supervisor = new Supervisor(store, config.runtime, config.env, { reclaims: caller.kind === 'operator', ...config.supervision });
  supervisor.begin();
  return {
    agents: {
      owner: supervisor.id,
      start: (agents) => { for (const agent of agents) supervisor.start(agent); },
      get runningHere() { return supervisor.running; },
    },
    stopAgents: () => supervisor.stopAll('the meshfleet server that started this agent stopped'),
  };
}

/** Agents left to the database's hub: recorded pending, and a hub started when none lives. */
function hubLauncher(hub: HubLink, caller: Caller): AgentLauncher {
  // Recovering what dead servers left is the operator's server's duty, as reclaiming was before hubs.
  if (caller.kind === 'operator') hub.ensureIfNeeded();
  return { owner: null, start: () => hub.ensure(), runningHere: 0 };
}
