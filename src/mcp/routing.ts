import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { registerCapability } from '../mesh/capabilities.js';
import { recordRoutingOutcome, routeWork } from '../routing/route-work.js';
import type { ToolDeps } from './deps.js';
import { toolResult } from './result.js';
import { id } from './schemas.js';

export function registerRoutingTools(server: McpServer, { store }: ToolDeps): void {
  server.registerTool('register_capability', {
    description: 'Say what an agent can do, so route_work can pick it. Replaces the agent\'s earlier registration.',
    inputSchema: {
      agent_id: id('agent_id'),
      fleet_id: id('fleet_id'),
      role: z.string().min(1, 'role must not be empty'),
      skills: z.array(z.string().min(1, 'a skill must not be empty')).describe('e.g. ["react", "css", "testing"]'),
      model: z.string().optional(),
      context_window: z.int().min(1, 'context_window must be a positive number of tokens').optional(),
    },
  }, (input) => toolResult(() => {
    registerCapability(store, {
      agentId: input.agent_id, fleetId: input.fleet_id, role: input.role, skills: input.skills,
      model: input.model ?? null, contextWindow: input.context_window ?? null,
    });
    return { ok: true, agent_id: input.agent_id, fleet_id: input.fleet_id, role: input.role, skills: input.skills };
  }));

  server.registerTool('route_work', {
    description: 'Rank registered agents for a task description (keywords on role and skills, adjusted by recorded outcomes). Best first.',
    inputSchema: {
      description: z.string().min(1, 'description must not be empty'),
      top_n: z.int('top_n must be a whole number').min(1, 'top_n must be 1 or more').optional().describe('How many matches (default 1)'),
      fleet_id: z.string().min(1).optional().describe('Only agents of this fleet'),
    },
  }, (input) => toolResult(() => ({
    matches: routeWork(store, input.description, { topN: input.top_n, fleetId: input.fleet_id })
      .map((m) => ({ agent_id: m.agentId, score: m.score, role: m.role, weight: m.weight, fleet_id: m.fleetId, matched: m.matched })),
  })));

  server.registerTool('record_routing_outcome', {
    description: 'Record whether routed work succeeded; it is stored and adjusts that agent\'s future route_work scores.',
    inputSchema: { agent_id: id('agent_id'), capability_key: id('capability_key').describe('The skill or role the work needed, e.g. "react"'), success: z.boolean() },
  }, (input) => toolResult(() => {
    const tally = recordRoutingOutcome(store, { agentId: input.agent_id, capabilityKey: input.capability_key, success: input.success });
    return { ok: true, agent_id: input.agent_id, capability_key: input.capability_key, successes: tally.successes, failures: tally.failures };
  }));
}
