import type { Store } from '../store/open.js';
import { writeCapabilityTerms } from '../store/terms.js';
import { MeshError } from './errors.js';
import { quote } from './limits.js';
import { recordEvent } from './events.js';
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
    writeCapabilityTerms(store.db, cap.agentId, cap.role, cap.skills);
    recordEvent(store, { kind: 'capability_registered', fleetId: cap.fleetId, agentId: cap.agentId, data: { role: cap.role, skills: cap.skills } }, now);
  });
}
