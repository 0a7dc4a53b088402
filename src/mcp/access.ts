// Who may call what. One table decides which tools a server offers to its caller, and the
// functions below decide what a call may touch; every tool goes through both.
import { MeshError } from '../mesh/errors.js';
import { getAgent } from '../mesh/fleets.js';
import { quote } from '../mesh/limits.js';
import { tokenMatchesHash } from '../mesh/tokens.js';
import type { Store } from '../store/open.js';
import type { AgentProfile } from '../store/schema.js';

/**
 * The operator is a server started without MESHFLEET_AGENT_ID (the person's host): everything.
 * An agent's own server acts as that agent only, inside its own fleet, with its profile's tools.
 */
export type Caller =
  | { kind: 'operator' }
  | { kind: AgentProfile; agentId: string; fleetId: string };

export type CallerKind = Caller['kind'];

const EVERYONE = ['operator', 'lead', 'worker'] as const;
const LEADS = ['operator', 'lead'] as const;
const OPERATOR = ['operator'] as const;

/**
 * The authorization table (the README prints it). "own" limits in the tools' handlers: an agent
 * reads and writes only its own inbox and fleet; a lead's fleet tools reach only its own fleet.
 */
export const TOOL_ACCESS: Readonly<Record<string, readonly CallerKind[]>> = {
  spawn_fleet: OPERATOR,
  list_fleets: OPERATOR,
  fleet_status: EVERYONE, // own fleet
  collect_results: EVERYONE, // own fleet
  set_fleet_timeout: LEADS, // own fleet
  attach_agent: LEADS, // own fleet
  list_agents: LEADS,
  send_message: EVERYONE, // as itself, in its fleet
  send_messages: EVERYONE, // as itself, in its fleet
  get_inbox: EVERYONE, // its own
  ack_message: EVERYONE, // its own
  wait_for_messages: EVERYONE, // its own
  subscribe_inbox: EVERYONE, // its own
  register_capability: EVERYONE, // its own
  route_work: EVERYONE, // own fleet's agents
  record_routing_outcome: LEADS, // own fleet's agents
  get_routing_stats: EVERYONE, // own fleet's agents
  set_skill_taxonomy: OPERATOR,
  get_skill_taxonomy: EVERYONE,
  set_synonyms: OPERATOR,
  list_synonyms: EVERYONE,
  save_fleet_template: OPERATOR,
  list_fleet_templates: EVERYONE,
  get_fleet_template: EVERYONE,
  export_fleet_template: EVERYONE,
  spawn_from_template: EVERYONE, // the spec for all; spawn: true (start the fleet) the operator only, as spawn_fleet
  delete_fleet_template: OPERATOR,
  import_fleet_template: OPERATOR,
  ping: EVERYONE,
  get_health: OPERATOR,
  prune: OPERATOR,
  reserve_files: EVERYONE, // as itself, in its fleet
  renew_reservations: EVERYONE, // its own
  release_reservations: EVERYONE, // its own; a lead any of its fleet's, the operator any
  list_reservations: EVERYONE, // own fleet
};

/** Who may use a tool; undefined for a name that is no tool (own keys only: "constructor" is none). */
export function accessOf(tool: string): readonly CallerKind[] | undefined {
  return Object.hasOwn(TOOL_ACCESS, tool) ? TOOL_ACCESS[tool] : undefined;
}

export function mayUse(caller: Caller, tool: string): boolean {
  return accessOf(tool)?.includes(caller.kind) ?? false;
}

/** Who may use a tool, in words, for refusals. */
function allowedWords(tool: string): string {
  const kinds = accessOf(tool) ?? [];
  if (kinds.includes('worker')) return 'every caller';
  if (kinds.includes('lead')) return 'the operator (a server without MESHFLEET_AGENT_ID) and agents spawned with profile "lead"';
  return 'the operator only (a server started without MESHFLEET_AGENT_ID)';
}

export function describeCaller(caller: Caller): string {
  return caller.kind === 'operator' ? 'the operator' : `${caller.kind} agent "${caller.agentId}" of fleet "${caller.fleetId}"`;
}

/** What a call of a tool this server does not offer gets back. */
export function unknownToolMessage(caller: Caller, tool: string): string {
  const kinds = accessOf(tool);
  if (kinds === undefined) return `No tool ${quote(tool)}. Call tools/list for the tools this server offers.`;
  return `${tool} is not offered to ${describeCaller(caller)}: it is for ${allowedWords(tool)}. `
    + (caller.kind === 'worker' && kinds.includes('lead') ? 'Ask the operator to spawn this agent with profile "lead", or ask your lead.' : 'Ask the operator to do it.');
}

/**
 * Who a server acts for: the operator, or (MESHFLEET_AGENT_ID) that agent, proven by its
 * MESHFLEET_AGENT_TOKEN. Agents from before schema 4 have no token and are taken at their id.
 */
export function identifyCaller(store: Store, agentId: string | undefined, token: string | undefined): Caller {
  if (agentId === undefined) return { kind: 'operator' };
  const agent = getAgent(store, agentId);
  if (agent === undefined) {
    throw new MeshError('not_found', `MESHFLEET_AGENT_ID is ${quote(agentId)}, but ${store.path} has no such agent.`,
      'Start the server with the MESHFLEET_DB the agent was spawned on, or without MESHFLEET_AGENT_ID for the operator\'s access.');
  }
  if (agent.tokenHash !== null && (token === undefined || !tokenMatchesHash(agent.tokenHash, token))) {
    throw new MeshError('refused', `MESHFLEET_AGENT_TOKEN is ${token === undefined ? 'missing' : 'not the token of agent ' + quote(agentId)}; this server will not act as that agent.`,
      'An agent\'s server inherits MESHFLEET_AGENT_ID and MESHFLEET_AGENT_TOKEN from the agent process; run it from there, with both unchanged.');
  }
  return { kind: agent.profile, agentId: agent.id, fleetId: agent.fleetId };
}

/**
 * Which agent a call acts for. An agent's server acts as that agent: ids default to its own and
 * naming another is refused. The operator's server needs the id given.
 */
export function actingAgent(caller: Caller, given: string | undefined, field: string, action: string): string {
  if (caller.kind === 'operator') {
    if (given === undefined) throw new MeshError('invalid', `${field} is required.`, 'Pass the id of the agent this call is for (this server acts for no agent of its own).');
    return given;
  }
  if (given !== undefined && given !== caller.agentId) {
    throw new MeshError('refused', `This server acts as agent "${caller.agentId}"; it cannot ${action} as ${quote(given)}.`, `Leave out ${field}: it defaults to this agent.`);
  }
  return caller.agentId;
}

/** The fleet a call is in: as given (an agent: only its own), else the acting agent's own. */
export function actingFleet(caller: Caller, given: string | undefined, action = 'act in'): string {
  if (caller.kind === 'operator') {
    if (given === undefined) throw new MeshError('invalid', 'fleet_id is required.', 'Pass the fleet_id returned by spawn_fleet (this server acts for no agent of its own).');
    return given;
  }
  if (given !== undefined && given !== caller.fleetId) {
    throw new MeshError('refused', `This server acts as agent "${caller.agentId}" of fleet "${caller.fleetId}"; it cannot ${action} fleet ${quote(given)}.`,
      'Leave out fleet_id: it defaults to this agent\'s fleet.');
  }
  return caller.fleetId;
}

/** An agent a lead acts on (record_routing_outcome): the operator any, a lead its own fleet's. */
export function fleetMember(store: Store, caller: Caller, agentId: string, action: string): string {
  if (caller.kind === 'operator') return agentId;
  const agent = getAgent(store, agentId);
  if (agent === undefined || agent.fleetId !== caller.fleetId) {
    throw new MeshError('refused', `Agent ${quote(agentId)} is not in this agent's fleet "${caller.fleetId}"; it cannot ${action} for it.`,
      'Name an agent of your own fleet (see fleet_status).');
  }
  return agentId;
}
