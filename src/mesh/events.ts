import type { Store } from '../store/open.js';

export type EventKind =
  | 'fleet_created' | 'fleet_settled' | 'fleet_timeout_set'
  | 'agent_spawned' | 'agent_attached' | 'agent_started' | 'agent_finished' | 'agent_failed' | 'agent_interrupted'
  | 'agent_retried' | 'agent_timed_out' | 'agent_recovered' | 'supervisor_reclaimed'
  | 'messages_sent' | 'capability_registered' | 'routing_outcome_recorded'
  | 'template_saved' | 'template_deleted' | 'template_imported';

export interface EventRecord {
  kind: EventKind;
  fleetId?: string | null;
  agentId?: string | null;
  data?: Record<string, unknown>;
}

/** Records what happened. Call inside the write transaction of the change it describes. */
export function recordEvent(store: Store, event: EventRecord, at: number = Date.now()): void {
  store.hot.insertEvent(event.kind, event.fleetId ?? null, event.agentId ?? null,
    event.data === undefined ? null : JSON.stringify(event.data), at);
}
