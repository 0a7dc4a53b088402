import type { Store } from '../store/open.js';
import { MeshError } from './errors.js';
import { quote } from './limits.js';
import { recordEvent } from './events.js';
import { MAX_MODEL_CHARS, MAX_ROLE_CHARS, MAX_SKILLS, MAX_TERM_CHARS } from './limits.js';
import { requireAgent } from './messages.js';

export interface Capability {
  agentId: string;
  fleetId: string;
  role: string;
  skills: string[];
  model?: string | null;
  contextWindow?: number | null;
}

/** Registers (or replaces) what an agent says it can do. */
export function registerCapability(store: Store, cap: Capability, now: number = Date.now()): void {
  checkCapability(cap);
  store.write(() => {
    const agent = requireAgent(store, cap.agentId);
    if (agent.fleet_id !== cap.fleetId) {
      throw new MeshError('refused', `Agent ${quote(cap.agentId)} belongs to fleet ${quote(agent.fleet_id)}, not ${quote(cap.fleetId)}.`,
        `Register it with fleet_id ${quote(agent.fleet_id)}.`);
    }
    store.run(store.sql.deleteFrom('capabilities').where('agent_id', '=', cap.agentId)); // its skills go with it
    store.run(store.sql.insertInto('capabilities').values({
      agent_id: cap.agentId, fleet_id: cap.fleetId, role: cap.role, model: cap.model ?? null,
      context_window: cap.contextWindow ?? null, registered_at: now,
    }));
    cap.skills.forEach((skill, position) => store.run(store.sql.insertInto('capability_skills').values({ agent_id: cap.agentId, position, skill })));
    store.capabilityTerms.replace(cap.agentId, cap.role, cap.skills);
    recordEvent(store, { kind: 'capability_registered', fleetId: cap.fleetId, agentId: cap.agentId, data: { role: cap.role, skills: cap.skills } }, now);
  });
}

/** Bounds what one registration stores: route_work reads every term of every capability it meets. */
function checkCapability(cap: Capability): void {
  const tooLong = (field: string, value: string, limit: number, hint: string): void => {
    if (value.length > limit) throw new MeshError('too_large', `${field} is ${value.length} characters; the limit is ${limit}.`, hint);
  };
  tooLong('role', cap.role, MAX_ROLE_CHARS, 'Name the role in a few words; skills list the details.');
  if (cap.model != null) tooLong('model', cap.model, MAX_MODEL_CHARS, 'Give the model\'s id, e.g. "claude-sonnet-4".');
  if (cap.skills.length > MAX_SKILLS) {
    throw new MeshError('too_large', `skills has ${cap.skills.length} items; the limit is ${MAX_SKILLS}.`, 'List the skills this agent is best at; the taxonomy relates the rest.');
  }
  cap.skills.forEach((skill, i) => tooLong(`skills[${i}]`, skill, MAX_TERM_CHARS, 'A skill is a word or two, e.g. "react" or "sql tuning".'));
}
