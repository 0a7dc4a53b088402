// What `meshfleet inspect` and the dashboard show: read-only queries, none on a hot path, so they
// are built with kysely and run on the Store's connection. Long texts are cut in SQL (substr), so
// a fleet of 64 agents with 64 KiB of output each costs a page of heads, not 4 MiB.
import { sql } from 'kysely';
import { connectionOf } from './connection.js';
import type { Store } from './open.js';
import type { AgentStatus, FleetStatus } from './schema.js';

export interface AgentCounts { total: number; pending: number; running: number; complete: number; failed: number; interrupted: number }

export interface FleetOverview {
  id: string;
  status: FleetStatus;
  createdAt: number;
  completedAt: number | null;
  timeoutMs: number | null;
  agents: AgentCounts;
  messages: number;
}

export interface AgentOverview {
  id: string;
  fleetId: string;
  role: string;
  profile: string;
  status: AgentStatus;
  pid: number | null;
  attempts: number;
  createdAt: number | null;
  startedAt: number | null;
  completedAt: number | null;
  /** The first characters of its output (stdout) and error (stderr), and their full lengths. */
  outputHead: string | null;
  outputChars: number;
  errorHead: string | null;
  inboxPending: number;
}

export interface MessageOverview {
  seq: number;
  id: string;
  fleetId: string;
  fromAgentId: string;
  toAgentId: string;
  type: string;
  payloadHead: string;
  payloadChars: number;
  correlationId: string | null;
  sentAt: number;
  recipients: number;
  /** Recipients that have not acknowledged it. */
  pending: number;
  /** Receipts recorded for it (one per agent and action). */
  receipts: number;
}

export interface InboxEntry {
  messageId: string;
  fleetId: string;
  fromAgentId: string;
  type: string;
  payloadHead: string;
  payloadChars: number;
  correlationId: string | null;
  sentAt: number;
  readAt: number | null;
}

export interface EventEntry {
  id: number;
  kind: string;
  fleetId: string | null;
  agentId: string | null;
  data: string | null;
  recordedAt: number;
}

/** How much of a long text a view shows. */
export const HEAD_CHARS = 200;

export function fleetOverviews(store: Store, limit: number, fleetId?: string): FleetOverview[] {
  let query = store.sql.selectFrom('fleet_summary').innerJoin('fleets', 'fleets.id', 'fleet_summary.fleet_id')
    .select(['fleets.id', 'fleets.status', 'fleets.created_at', 'fleets.completed_at', 'fleets.timeout_ms', 'fleet_summary.agents',
      'fleet_summary.agents_pending', 'fleet_summary.agents_running', 'fleet_summary.agents_complete', 'fleet_summary.agents_failed',
      'fleet_summary.agents_interrupted', 'fleet_summary.messages'])
    .orderBy('fleets.created_at', 'desc').orderBy('fleets.id', 'desc').limit(limit);
  if (fleetId !== undefined) query = query.where('fleets.id', '=', fleetId);
  return store.all(query).map((row) => ({
    id: row.id, status: row.status, createdAt: row.created_at, completedAt: row.completed_at, timeoutMs: row.timeout_ms,
    agents: {
      total: row.agents, pending: row.agents_pending, running: row.agents_running, complete: row.agents_complete,
      failed: row.agents_failed, interrupted: row.agents_interrupted,
    },
    messages: row.messages,
  }));
}

function agentQuery(store: Store) {
  return store.sql.selectFrom('agents').select((eb) => [
    'id', 'fleet_id', 'role', 'profile', 'status', 'pid', 'attempts', 'created_at', 'started_at', 'completed_at',
    sql<string | null>`substr(${eb.ref('output')}, 1, ${HEAD_CHARS})`.as('output_head'),
    sql<number>`coalesce(length(${eb.ref('output')}), 0)`.as('output_chars'),
    sql<string | null>`substr(${eb.ref('error')}, 1, ${HEAD_CHARS})`.as('error_head'),
    // deliveries_pending (agent_id, message_seq, sent_at) WHERE acked = 0: one index range per agent.
    eb.selectFrom('deliveries').select((d) => d.fn.countAll<number>().as('n'))
      .whereRef('deliveries.agent_id', '=', 'agents.id').where('deliveries.acked', '=', sql.lit(0)).as('inbox_pending'),
  ]);
}

type AgentQueryRow = Awaited<ReturnType<ReturnType<typeof agentQuery>['execute']>>[number];

const toAgent = (row: AgentQueryRow): AgentOverview => ({
  id: row.id, fleetId: row.fleet_id, role: row.role, profile: row.profile, status: row.status, pid: row.pid, attempts: row.attempts,
  createdAt: row.created_at, startedAt: row.started_at, completedAt: row.completed_at, outputHead: row.output_head,
  outputChars: row.output_chars, errorHead: row.error_head, inboxPending: row.inbox_pending ?? 0,
});

/** A fleet's agents in spawn order. */
export function fleetAgentOverviews(store: Store, fleetId: string): AgentOverview[] {
  return store.all(agentQuery(store).where('fleet_id', '=', fleetId).orderBy('created_at').orderBy('id')).map(toAgent);
}

/** The agents most recently started (or created, for those not started yet), newest first. */
export function recentAgentOverviews(store: Store, limit: number): AgentOverview[] {
  // The newest ids first, then their columns: the inbox count is taken for `limit` agents, not all.
  const latest = sql`coalesce(started_at, created_at, 0)`;
  const ids = store.sql.selectFrom('agents').select('id').orderBy(latest, 'desc').orderBy('id', 'desc').limit(limit);
  return store.all(agentQuery(store).where('id', 'in', ids).orderBy(latest, 'desc').orderBy('id', 'desc')).map(toAgent);
}

export function agentOverview(store: Store, agentId: string): AgentOverview | undefined {
  const row = store.first(agentQuery(store).where('id', '=', agentId));
  return row === undefined ? undefined : toAgent(row);
}

/** The last `limit` messages of a fleet, in send order, with how many recipients still hold each. */
export function fleetMessages(store: Store, fleetId: string, limit: number): { messages: MessageOverview[]; total: number } {
  // messages_by_fleet (fleet_id, seq): the newest `limit`, read backwards.
  const rows = store.all(store.sql.selectFrom('messages').select((eb) => [
    'seq', 'id', 'fleet_id', 'from_agent_id', 'to_agent_id', 'type', 'correlation_id', 'sent_at',
    sql<string>`substr(${eb.ref('payload')}, 1, ${HEAD_CHARS})`.as('payload_head'),
    sql<number>`length(${eb.ref('payload')})`.as('payload_chars'),
    eb.selectFrom('deliveries').select((d) => d.fn.countAll<number>().as('n')).whereRef('deliveries.message_seq', '=', 'messages.seq').as('recipients'),
    eb.selectFrom('deliveries').select((d) => d.fn.countAll<number>().as('n')).whereRef('deliveries.message_seq', '=', 'messages.seq')
      .where('deliveries.acked', '=', sql.lit(0)).as('pending'),
    // receipts' primary key (message_id, agent_id, action): one index range per message.
    eb.selectFrom('receipts').select((r) => r.fn.countAll<number>().as('n')).whereRef('receipts.message_id', '=', 'messages.id').as('receipts'),
  ]).where('fleet_id', '=', fleetId).orderBy('seq', 'desc').limit(limit));
  const total = store.first(store.sql.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).where('fleet_id', '=', fleetId))?.n ?? 0;
  return {
    total,
    messages: rows.reverse().map((row) => ({
      seq: row.seq, id: row.id, fleetId: row.fleet_id, fromAgentId: row.from_agent_id, toAgentId: row.to_agent_id, type: row.type,
      payloadHead: row.payload_head, payloadChars: row.payload_chars, correlationId: row.correlation_id, sentAt: row.sent_at,
      recipients: row.recipients ?? 0, pending: row.pending ?? 0, receipts: row.receipts ?? 0,
    })),
  };
}

/** An agent's unacknowledged messages, oldest first, the first `limit` of them; reading marks nothing. */
export function inboxEntries(store: Store, agentId: string, limit: number): { entries: InboxEntry[]; total: number } {
  const pending = store.sql.selectFrom('deliveries').innerJoin('messages', 'messages.seq', 'deliveries.message_seq')
    .where('deliveries.agent_id', '=', agentId).where('deliveries.acked', '=', sql.lit(0));
  const rows = store.all(pending.select((eb) => [
    'messages.id', 'messages.fleet_id', 'messages.from_agent_id', 'messages.type', 'messages.correlation_id', 'messages.sent_at',
    'deliveries.read_at',
    sql<string>`substr(${eb.ref('messages.payload')}, 1, ${HEAD_CHARS})`.as('payload_head'),
    sql<number>`length(${eb.ref('messages.payload')})`.as('payload_chars'),
  ]).orderBy('deliveries.message_seq').limit(limit));
  // deliveries_pending alone: no message needs reading to count them.
  const total = store.first(store.sql.selectFrom('deliveries').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('agent_id', '=', agentId).where('acked', '=', sql.lit(0)))?.n ?? 0;
  return {
    total,
    entries: rows.map((row) => ({
      messageId: row.id, fleetId: row.fleet_id, fromAgentId: row.from_agent_id, type: row.type, payloadHead: row.payload_head,
      payloadChars: row.payload_chars, correlationId: row.correlation_id, sentAt: row.sent_at, readAt: row.read_at,
    })),
  };
}

/** The last `limit` events, oldest of them first; of one fleet when `fleetId` is given. */
export function recentEvents(store: Store, limit: number, fleetId?: string): EventEntry[] {
  let query = store.sql.selectFrom('events').select(['id', 'kind', 'fleet_id', 'agent_id', 'data', 'recorded_at'])
    .orderBy('id', 'desc').limit(limit);
  // events_by_fleet (fleet_id, id) for one fleet; the primary key, backwards, for all.
  if (fleetId !== undefined) query = query.where('fleet_id', '=', fleetId);
  return store.all(query).reverse().map((row) => ({
    id: row.id, kind: row.kind, fleetId: row.fleet_id, agentId: row.agent_id, data: row.data, recordedAt: row.recorded_at,
  }));
}

/**
 * PRAGMA data_version: changes whenever another connection commits to the file, so a view can
 * poll it (no table is read) and query again only when something happened.
 */
export function dataVersion(store: Store): number {
  return connectionOf(store).pragma('data_version', { simple: true }) as number;
}
