import type { Store } from '../store/open.js';

export type EventKind =
  | 'fleet_created' | 'fleet_settled' | 'fleet_timeout_set'
  | 'agent_spawned' | 'agent_attached' | 'agent_started' | 'agent_finished' | 'agent_failed' | 'agent_interrupted'
  | 'agent_retried' | 'agent_timed_out' | 'agent_recovered' | 'supervisor_reclaimed' | 'hub_started' | 'hub_stopped'
  | 'messages_sent' | 'capability_registered' | 'routing_outcome_recorded'
  | 'template_saved' | 'template_deleted' | 'template_imported'
  | 'files_reserved' | 'files_released'
  | 'workspace_removed' | 'workspace_kept';

export interface EventRecord {
  kind: EventKind;
  fleetId?: string | null;
  agentId?: string | null;
  data?: Record<string, unknown>;
}

/** An event names what happened; the thing itself lives in its own table, so a string in event data is cut to this. */
export const MAX_EVENT_STRING_CHARS = 200;
/** The whole of an event's data, in UTF-8 bytes of its JSON. */
export const MAX_EVENT_DATA_BYTES = 2_048;

/** Records what happened. Call inside the write transaction of the change it describes. */
export function recordEvent(store: Store, event: EventRecord, at: number = Date.now()): void {
  store.hot.insertEvent(event.kind, event.fleetId ?? null, event.agentId ?? null,
    event.data === undefined ? null : boundedJson(event.data), at);
}

/**
 * The data as JSON of at most MAX_EVENT_DATA_BYTES. Callers pass whole inputs (a role, an error
 * text) and an event is written on every change: unbounded, one large input would be copied into
 * every event about it.
 */
export function boundedJson(data: Record<string, unknown>): string {
  const json = JSON.stringify(cutStrings(data));
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes <= MAX_EVENT_DATA_BYTES) return json;
  // Too many values even after cutting each: keep the start of the JSON as text, and say so.
  let keep = MAX_EVENT_DATA_BYTES - 100;
  for (;;) {
    const cut = JSON.stringify({ cut: `data was ${bytes} bytes of JSON; its start is kept`, start: cutAt(json, keep) });
    if (Buffer.byteLength(cut, 'utf8') <= MAX_EVENT_DATA_BYTES) return cut;
    keep = Math.floor(keep * 0.8); // escapes and multi-byte characters made it longer than counted
  }
}

function cutStrings(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.length <= MAX_EVENT_STRING_CHARS ? value : `${cutAt(value, MAX_EVENT_STRING_CHARS)}… (${value.length} characters)`;
  }
  if (Array.isArray(value)) return value.map(cutStrings);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [cutAt(key, MAX_EVENT_STRING_CHARS), cutStrings(v)]));
  }
  return value;
}

/** The first `chars` UTF-16 units, not splitting a surrogate pair. */
function cutAt(text: string, chars: number): string {
  if (text.length <= chars) return text;
  const last = text.charCodeAt(chars - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? chars - 1 : chars);
}
