// The read model people look at (`meshfleet inspect`, the dashboard): what the mesh holds now,
// read without changing anything, each view in one read transaction, so its parts agree (a
// fleet's counts and its agents are of one moment). Ids that name nothing are MeshErrors saying
// where to find one.
import type { Store } from '../store/open.js';
import {
  agentOverview, fleetAgentOverviews, fleetMessages, fleetOverviews, inboxEntries, recentAgentOverviews, recentEvents,
  type AgentOverview, type EventEntry, type FleetOverview, type InboxEntry, type MessageOverview,
} from '../store/read-model.js';
import {
  fleetCouncils, fleetTasks, liveReservations, type CouncilOverview, type ReservationOverview, type TaskOverview,
} from '../store/board-read.js';
import { dueDecision } from './councils.js';
import { MeshError } from './errors.js';
import { quote } from './limits.js';

export type { CouncilOverview, ReservationOverview, TaskDependency, TaskOverview } from '../store/board-read.js';
export type { AgentOverview, EventEntry, FleetOverview, InboxEntry, MessageOverview } from '../store/read-model.js';

export interface MeshOverview {
  fleets: FleetOverview[];
  recentAgents: AgentOverview[];
  recentEvents: EventEntry[];
}

export interface FleetDetail {
  fleet: FleetOverview;
  agents: AgentOverview[];
  /** The fleet's last messages, in send order, and how many it has in all. */
  messages: MessageOverview[];
  messagesTotal: number;
  events: EventEntry[];
  /** File reservations live at the moment read, soonest to expire first. */
  reservations: ReservationOverview[];
  /** The last councils, oldest of them first. */
  councils: CouncilOverview[];
}

export interface FleetBoard {
  fleet: FleetOverview;
  /** The first tasks in creation order, and how many the fleet has. */
  tasks: TaskOverview[];
  total: number;
}

export interface AgentInbox {
  agent: AgentOverview;
  entries: InboxEntry[];
  /** Unacknowledged messages in all (entries holds the first of them). */
  total: number;
}

/** Newest fleets first, the agents most recently started, the last events (oldest of them first). */
export function meshOverview(store: Store, limits: { fleets: number; agents: number; events: number }): MeshOverview {
  return store.read(() => ({
    fleets: fleetOverviews(store, limits.fleets),
    recentAgents: recentAgentOverviews(store, limits.agents),
    recentEvents: recentEvents(store, limits.events),
  }));
}

export function fleetDetail(store: Store, fleetId: string, limits: { messages: number; events: number; now?: number }): FleetDetail {
  return store.read(() => readFleetDetail(store, fleetId, limits));
}

function knownFleet(store: Store, fleetId: string): FleetOverview {
  const [fleet] = fleetOverviews(store, 1, fleetId);
  if (fleet === undefined) {
    throw new MeshError('not_found', `No fleet ${quote(fleetId)} in ${store.path}.`, 'Run `meshfleet inspect` to list the fleets, and pass one of their ids.');
  }
  return fleet;
}

function readFleetDetail(store: Store, fleetId: string, limits: { messages: number; events: number; now?: number }): FleetDetail {
  const fleet = knownFleet(store, fleetId);
  const { messages, total } = fleetMessages(store, fleetId, limits.messages);
  const now = limits.now ?? Date.now();
  // Lists as long as the message list: a fleet holds at most a bounded number of either in practice.
  return {
    fleet, agents: fleetAgentOverviews(store, fleetId), messages, messagesTotal: total, events: recentEvents(store, limits.events, fleetId),
    reservations: liveReservations(store, fleetId, now, Math.max(limits.messages, 1)),
    councils: fleetCouncils(store, fleetId, Math.max(limits.messages, 1)).map((c) => withDueOutcome(store, c, now)),
  };
}

/**
 * A council past its deadline is decided at the deadline even when no hub or server has recorded
 * it yet; looking must not write, so the outcome is computed here and marked as not yet recorded.
 */
function withDueOutcome(store: Store, council: CouncilOverview, now: number): CouncilOverview {
  if (council.outcome !== null || council.deadlineAt === null || now < council.deadlineAt) return council;
  const due = dueDecision(store, council.id, now);
  return due === null ? council : { ...council, outcome: due.outcome, decidedAt: due.decidedAt, awaitingRecord: true };
}

/** A fleet's task board: its first `limit` tasks in creation order, each with its claim and dependencies. */
export function fleetBoard(store: Store, fleetId: string, limit: number): FleetBoard {
  return store.read(() => ({ fleet: knownFleet(store, fleetId), ...fleetTasks(store, fleetId, limit) }));
}

export function agentInbox(store: Store, agentId: string, limit: number): AgentInbox {
  return store.read(() => readAgentInbox(store, agentId, limit));
}

function readAgentInbox(store: Store, agentId: string, limit: number): AgentInbox {
  const agent = agentOverview(store, agentId);
  if (agent === undefined) {
    throw new MeshError('not_found', `No agent ${quote(agentId)} in ${store.path}.`, 'Run `meshfleet inspect --fleet FLEET_ID` to list a fleet\'s agents, and pass one of their ids.');
  }
  const { entries, total } = inboxEntries(store, agentId, limit);
  return { agent, entries, total };
}

/** One line of the dashboard's feed: a message or an event, in time order. */
export type FeedItem =
  | { kind: 'message'; at: number; message: MessageOverview }
  | { kind: 'event'; at: number; event: EventEntry };

export interface DashboardSnapshot {
  fleets: FleetOverview[];
  /** The fleet shown in detail: the one asked for, else the newest; null when there is none. */
  selected: { fleet: FleetOverview; agents: AgentOverview[] } | null;
  /** The selected fleet's last messages and events merged, oldest first (all events with no fleet). */
  feed: FeedItem[];
}

export function dashboardSnapshot(store: Store, wanted: string | null, limits: { fleets: number; feed: number }): DashboardSnapshot {
  return store.read(() => readDashboardSnapshot(store, wanted, limits));
}

function readDashboardSnapshot(store: Store, wanted: string | null, limits: { fleets: number; feed: number }): DashboardSnapshot {
  const fleets = fleetOverviews(store, limits.fleets);
  const fleet = fleets.find((f) => f.id === wanted) ?? fleets[0];
  if (fleet === undefined) {
    return { fleets, selected: null, feed: recentEvents(store, limits.feed).map((event) => ({ kind: 'event', at: event.recordedAt, event })) };
  }
  const feed: FeedItem[] = [
    ...fleetMessages(store, fleet.id, limits.feed).messages.map((message): FeedItem => ({ kind: 'message', at: message.sentAt, message })),
    ...recentEvents(store, limits.feed, fleet.id).map((event): FeedItem => ({ kind: 'event', at: event.recordedAt, event })),
  ];
  // Stable: a message and the event it caused share a millisecond and keep their own order.
  feed.sort((a, b) => a.at - b.at);
  return { fleets, selected: { fleet, agents: fleetAgentOverviews(store, fleet.id) }, feed: feed.slice(-limits.feed) };
}
