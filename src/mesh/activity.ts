// What happened in a fleet since a cursor: its events and its messages, merged in time order.
// For watchers that follow a fleet from another process (`meshfleet demo`); reads only.
import type { Store } from '../store/open.js';

export type Activity =
  | { at: number; kind: 'event'; event: string; agentId: string | null; data: Record<string, unknown> }
  | { at: number; kind: 'message'; fromAgentId: string; toAgentId: string; type: string; payload: string; correlationId: string | null; id: string };

export interface ActivityCursor { eventId: number; messageSeq: number }

/** Where "new" starts: everything already stored is behind it. */
export function activityCursor(store: Store): ActivityCursor {
  const event = store.first(store.sql.selectFrom('events').select((eb) => eb.fn.max('id').as('id')));
  const message = store.first(store.sql.selectFrom('messages').select((eb) => eb.fn.max('seq').as('seq')));
  return { eventId: event?.id ?? 0, messageSeq: message?.seq ?? 0 };
}

/** The fleet's events and messages after the cursor (at most `limit` of each), oldest first, and the cursor past them. */
export function activitySince(store: Store, fleetId: string, cursor: ActivityCursor, limit = 500): { items: Activity[]; cursor: ActivityCursor } {
  const events = store.all(store.sql.selectFrom('events').selectAll()
    .where('id', '>', cursor.eventId).where('fleet_id', '=', fleetId).orderBy('id').limit(limit));
  const messages = store.all(store.sql.selectFrom('messages').selectAll()
    .where('seq', '>', cursor.messageSeq).where('fleet_id', '=', fleetId).orderBy('seq').limit(limit));
  const items: Activity[] = [
    ...events.map((e): Activity => ({ at: e.recorded_at, kind: 'event', event: e.kind, agentId: e.agent_id, data: e.data === null ? {} : JSON.parse(e.data) as Record<string, unknown> })),
    ...messages.map((m): Activity => ({
      at: m.sent_at, kind: 'message', id: m.id, fromAgentId: m.from_agent_id, toAgentId: m.to_agent_id, type: m.type, payload: m.payload, correlationId: m.correlation_id,
    })),
  ];
  // Stable: at equal times, events keep their order and come before messages.
  items.sort((a, b) => a.at - b.at);
  return {
    items,
    cursor: { eventId: events.at(-1)?.id ?? cursor.eventId, messageSeq: messages.at(-1)?.seq ?? cursor.messageSeq },
  };
}

export interface FleetMessageCounts {
  messages: number;
  deliveries: number;
  broadcasts: number;
  byType: Record<string, number>;
}

/** How many messages a fleet sent, by type, and how many deliveries they made. */
export function fleetMessageCounts(store: Store, fleetId: string): FleetMessageCounts {
  const rows = store.all(store.sql.selectFrom('messages')
    .select(['type', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.sum<number>(eb.case().when('to_agent_id', '=', '*').then(1).else(0).end()).as('broadcasts')])
    .where('fleet_id', '=', fleetId).groupBy('type'));
  const deliveries = store.first(store.sql.selectFrom('deliveries').innerJoin('messages', 'messages.seq', 'deliveries.message_seq')
    .select((eb) => eb.fn.countAll<number>().as('n')).where('messages.fleet_id', '=', fleetId));
  return {
    messages: rows.reduce((sum, r) => sum + Number(r.n), 0),
    deliveries: Number(deliveries?.n ?? 0),
    broadcasts: rows.reduce((sum, r) => sum + Number(r.broadcasts), 0),
    byType: Object.fromEntries(rows.map((r) => [r.type, Number(r.n)])),
  };
}
