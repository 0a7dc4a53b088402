import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { registerCapability } from '../mesh/capabilities.js';
import { recordRoutingOutcome, routeWork, type RouteMatch } from '../routing/route-work.js';
import { MAX_ROUTING_STATS_PAGE, routingStats } from '../routing/stats.js';
import { listSynonyms, setSynonyms } from '../routing/synonyms.js';
import { getTaxonomy, setTaxonomy } from '../routing/taxonomy.js';
import {
  MAX_MODEL_CHARS, MAX_ROLE_CHARS, MAX_SKILLS, MAX_SYNONYM_PAGE, MAX_SYNONYMS, MAX_TASK_CHARS, MAX_TERM_CHARS, MAX_TOP_N,
} from '../mesh/limits.js';
import { actingAgent, actingFleet, fleetMember } from './access.js';
import type { ToolDeps } from './deps.js';
import { toolResult } from './result.js';
import { flag, id, list, page, text, whole } from './schemas.js';

/** A route_work match as the tool answers it; `meshfleet inspect --routing --json` answers the same. */
export function routeMatchJson(m: RouteMatch, explain: boolean) {
  return {
    agent_id: m.agentId, score: m.score, role: m.role, weight: m.weight, fleet_id: m.fleetId, status: m.status, matched: m.matched,
    ...(explain ? { explanation: { keyword_score: m.keywordScore, reasons: m.reasons, outcome: m.outcome, live: m.live } } : {}),
  };
}

export function registerRoutingTools(server: McpServer, deps: ToolDeps): void {
  const { store, caller } = deps;
  server.registerTool('register_capability', {
    description: 'Say what an agent can do, so route_work can pick it. Replaces the agent\'s earlier registration.',
    inputSchema: {
      agent_id: id('agent_id').optional().describe('Defaults to this server\'s own agent'),
      fleet_id: id('fleet_id').optional().describe('Defaults to this server\'s own agent\'s fleet'),
      role: text('role', MAX_ROLE_CHARS),
      skills: list('skills', text('a skill', MAX_TERM_CHARS), MAX_SKILLS).describe(`e.g. ["react", "css", "testing"]; at most ${MAX_SKILLS}, each at most ${MAX_TERM_CHARS} characters`),
      model: text('model', MAX_MODEL_CHARS).optional(),
      context_window: whole('context_window', 1, Number.MAX_SAFE_INTEGER, ' tokens').optional(),
    },
  }, (input) => toolResult(() => {
    const agentId = actingAgent(caller, input.agent_id, 'agent_id', 'register capabilities');
    const fleetId = actingFleet(caller, input.fleet_id, 'register capabilities in');
    registerCapability(store, {
      agentId, fleetId, role: input.role, skills: input.skills, model: input.model ?? null, contextWindow: input.context_window ?? null,
    });
    return { ok: true, agent_id: agentId, fleet_id: fleetId, role: input.role, skills: input.skills };
  }));

  server.registerTool('route_work', {
    description: 'Rank registered agents for a task: keywords meet roles and skills exactly, through synonyms, or through the skill taxonomy (half the points per step), times a factor from recorded outcomes. Live agents first, best first. explain: true shows why.',
    inputSchema: {
      description: text('description', MAX_TASK_CHARS).describe(`The task in words (at most ${MAX_TASK_CHARS} characters)`),
      top_n: whole('top_n', 1, MAX_TOP_N).optional().describe(`How many matches (default 1, max ${MAX_TOP_N})`),
      fleet_id: id('fleet_id').optional().describe(caller.kind === 'operator' ? 'Only agents of this fleet' : 'Only agents of this fleet: always this agent\'s own'),
      explain: flag('explain').optional().describe('Add each match\'s breakdown: keyword, role or skill, via exact/synonym/taxonomy, distance, points, outcome factor'),
    },
  }, (input) => toolResult(() => ({
    matches: routeWork(store, input.description, {
      topN: input.top_n, fleetId: caller.kind === 'operator' ? input.fleet_id : actingFleet(caller, input.fleet_id, 'route work in'),
    }).map((m) => routeMatchJson(m, input.explain === true)),
  })));

  server.registerTool('set_skill_taxonomy', {
    description: 'Replace the skill taxonomy routing uses: nested JSON such as {"frontend": {"react": ["nextjs", "remix"]}, "backend": ["node"]}. All or nothing.',
    inputSchema: { taxonomy: z.record(z.string(), z.unknown()).describe('Top-level skills mapped to their children') },
  }, (input) => toolResult(() => ({ ok: true, nodes: setTaxonomy(store, input.taxonomy).nodes })));

  server.registerTool('get_skill_taxonomy', {
    description: 'The skill taxonomy routing uses, as nested JSON, with its node count.',
    inputSchema: {},
  }, () => toolResult(() => getTaxonomy(store)));

  server.registerTool('set_synonyms', {
    description: 'Make a term and each listed word synonyms of one another (both ways), replacing the term\'s earlier synonyms; [] removes them.',
    inputSchema: {
      term: text('term', MAX_TERM_CHARS),
      synonyms: list('synonyms', text('a synonym', MAX_TERM_CHARS), MAX_SYNONYMS).describe(`e.g. ["postgresql", "pg"]; at most ${MAX_SYNONYMS}, each at most ${MAX_TERM_CHARS} characters`),
    },
  }, (input) => toolResult(() => ({ ok: true, ...setSynonyms(store, input.term, input.synonyms) })));

  server.registerTool('list_synonyms', {
    description: `Terms routing treats as having synonyms, with them, alphabetically; ${MAX_SYNONYM_PAGE} terms per page: pass the answer's next as after for the next page (next is null on the last).`,
    inputSchema: {
      limit: whole('limit', 1, MAX_SYNONYM_PAGE).optional().describe(`Terms per page (default and max ${MAX_SYNONYM_PAGE})`),
      after: text('after', MAX_TERM_CHARS).optional().describe('The previous page\'s next'),
    },
  }, (input) => toolResult(() => listSynonyms(store, { limit: input.limit, after: input.after })));

  server.registerTool('record_routing_outcome', {
    description: 'Record whether routed work succeeded; it is stored and adjusts that agent\'s future route_work scores.',
    inputSchema: { agent_id: id('agent_id'), capability_key: id('capability_key').describe('The skill or role the work needed, e.g. "react"'), success: flag('success') },
  }, (input) => toolResult(() => {
    fleetMember(store, caller, input.agent_id, 'record outcomes');
    const tally = recordRoutingOutcome(store, { agentId: input.agent_id, capabilityKey: input.capability_key, success: input.success });
    return { ok: true, agent_id: input.agent_id, capability_key: input.capability_key, successes: tally.successes, failures: tally.failures };
  }));

  server.registerTool('get_routing_stats', {
    description: 'What recorded outcomes taught routing: per agent and capability key, successes, failures, the Wilson bounds and the factor route_work multiplies scores by (1 until the evidence is clear, 0.5 – 1.5). Agent id order, then key.',
    inputSchema: {
      agent_id: id('agent_id').optional().describe('Only this agent'),
      fleet_id: id('fleet_id').optional().describe(caller.kind === 'operator' ? 'Only agents of this fleet' : 'Only agents of this fleet: always this agent\'s own'),
      ...page(1_000, MAX_ROUTING_STATS_PAGE),
    },
  }, (input) => toolResult(() => {
    const fleetId = caller.kind === 'operator' ? input.fleet_id : actingFleet(caller, input.fleet_id, 'read routing stats of');
    const { stats, nextOffset } = routingStats(store, { agentId: input.agent_id, fleetId, limit: input.limit, offset: input.offset });
    return {
      stats: stats.map((s) => ({
        agent_id: s.agentId, fleet_id: s.fleetId, capability_key: s.capabilityKey, successes: s.successes, failures: s.failures,
        lower: s.lower, upper: s.upper, factor: s.factor,
      })),
      has_more: nextOffset !== null, next_offset: nextOffset,
    };
  }));
}
