import { MeshError } from '../mesh/errors.js';
import type { ToolDeps } from './deps.js';

/**
 * Which agent a call acts for. A server started with MESHFLEET_AGENT_ID (an agent's own) acts
 * as that agent: ids default to its own and naming another is refused, so no agent can speak or
 * read for another. The host's server, without one, needs the id given.
 */
export function actingAgent(deps: ToolDeps, given: string | undefined, field: string, action: string): string {
  const self = deps.identity;
  if (self === undefined) {
    if (given === undefined) throw new MeshError('invalid', `${field} is required.`, 'Pass the id of the agent this call is for (this server acts for no agent of its own).');
    return given;
  }
  if (given !== undefined && given !== self.agentId) {
    throw new MeshError('refused', `This server acts as agent "${self.agentId}"; it cannot ${action} as "${given}".`, `Leave out ${field}: it defaults to this agent.`);
  }
  return self.agentId;
}

/** The fleet a call is in: as given, else the acting agent's own. */
export function actingFleet(deps: ToolDeps, given: string | undefined): string {
  if (given !== undefined) return given;
  if (deps.identity !== undefined) return deps.identity.fleetId;
  throw new MeshError('invalid', 'fleet_id is required.', 'Pass the fleet_id returned by spawn_fleet (this server acts for no agent of its own).');
}
