// What `prune` asks of the database. Every statement here is keyed by an index (the one named
// beside it), so a transaction's cost follows the rows it removes, not the size of the file.
import type BetterSqlite3 from 'better-sqlite3';
import { prepareChainStatements } from './ledger-chain.js';

/** A message about to go, with what goes with it: deliveries by cascade, receipts by its id. */
export interface DoomedMessage {
  seq: number;
  id: string;
  deliveries: number;
  receipts: number;
}

export interface RetentionCounts {
  fleets: number;
  agents: number;
  messages: number;
  deliveries: number;
  receipts: number;
  events: number;
  capabilities: number;
  outcomes: number;
  send_keys: number;
  reservations: number;
  /** Tasks of the fleet (their skills, dependencies and claims cascade). */
  tasks: number;
  councils: number;
  /** Every vote cast in those councils, replaced ones included (voters and votes cascade). */
  council_votes: number;
}

// A fleet may be pruned when it settled before the cutoff and none of its agents is still live.
// Inconsistent rows (a settled fleet with a running agent) happen after crashes; such a fleet
// waits until its agents settle too. `status IN (...)` repeats fleets_settled's WHERE, so that
// index serves the range on completed_at.
const PRUNABLE = `f.status IN ('complete', 'failed') AND f.completed_at < @cutoff`;
const LIVE_AGENT = `SELECT 1 FROM agents AS a WHERE a.fleet_id = f.id AND a.status IN ('pending', 'running')`;

// A capability goes with its agent; one left by a lost agent (legacy) goes with its fleet, unless
// its agent lives on in another fleet.
const CAPABILITIES_OF = `
  SELECT c.agent_id FROM agents AS a JOIN capabilities AS c ON c.agent_id = a.id WHERE a.fleet_id = @fleet
  UNION
  SELECT c.agent_id FROM capabilities AS c
   WHERE c.fleet_id = @fleet AND NOT EXISTS (SELECT 1 FROM agents AS a WHERE a.id = c.agent_id AND a.fleet_id <> @fleet)`;

export interface RetentionStatements {
  /** Fleets that may be pruned, oldest settlement first. Run inside the write transaction. */
  prunableFleets(cutoff: number, limit: number): string[];
  /** Settled before the cutoff but held back by an agent still pending or running. */
  heldBackFleets(cutoff: number): number;
  messagesOf(fleetId: string, limit: number): DoomedMessage[];
  /** Deletes one message (its deliveries cascade) and its receipts; returns the receipts deleted. */
  deleteMessage(message: DoomedMessage): number;
  deleteEventsOf(fleetId: string, limit: number): number;
  deleteOutcomesOf(fleetId: string, limit: number): number;
  deleteSendKeysOf(fleetId: string, limit: number): number;
  deleteReservationsOf(fleetId: string, limit: number): number;
  /** Deletes the fleet row, its agents and their capabilities (skills and terms cascade), its tasks and its councils. */
  deleteFleet(fleetId: string): { agents: number; capabilities: number; tasks: number; councils: number; councilVotes: number };
  deleteFleetlessEvents(cutoff: number, limit: number): number;
  /** What a prune at this cutoff would delete now. One statement, so one consistent snapshot. */
  countPrunable(cutoff: number): RetentionCounts;
}

export function prepareRetentionStatements(db: BetterSqlite3.Database): RetentionStatements {
  const prunable = db.prepare(
    `SELECT f.id FROM fleets AS f WHERE ${PRUNABLE} AND NOT EXISTS (${LIVE_AGENT}) ORDER BY f.completed_at, f.id LIMIT @limit`).pluck();
  const heldBack = db.prepare(`SELECT count(*) FROM fleets AS f WHERE ${PRUNABLE} AND EXISTS (${LIVE_AGENT})`).pluck();
  // messages_by_fleet; the counts are primary-key prefix lookups in deliveries and receipts.
  const messagesOf = db.prepare(
    `SELECT m.seq, m.id,
            (SELECT count(*) FROM deliveries AS d WHERE d.message_seq = m.seq) AS deliveries,
            (SELECT count(*) FROM receipts AS r WHERE r.message_id = m.id) AS receipts
       FROM messages AS m WHERE m.fleet_id = ? ORDER BY m.seq LIMIT ?`);
  const deleteReceipts = db.prepare('DELETE FROM receipts WHERE message_id = ?');
  const deleteMessage = db.prepare('DELETE FROM messages WHERE seq = ?');
  // events_by_fleet (fleet_id = ? implies its WHERE fleet_id IS NOT NULL).
  const deleteEvents = db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE fleet_id = ? ORDER BY id LIMIT ?) RETURNING id').pluck();
  // agents_by_fleet, then routing_outcomes_by_agent_key by its agent_id prefix.
  const deleteOutcomes = db.prepare(
    `DELETE FROM routing_outcomes WHERE id IN (
       SELECT o.id FROM agents AS a JOIN routing_outcomes AS o ON o.agent_id = a.id WHERE a.fleet_id = ? LIMIT ?)`);
  const deleteSendKeys = db.prepare(
    `DELETE FROM send_keys WHERE fleet_id = @fleet AND idempotency_key IN (
       SELECT idempotency_key FROM send_keys WHERE fleet_id = @fleet LIMIT @limit)`);
  const capabilitiesOf = db.prepare(CAPABILITIES_OF).pluck();
  const deleteCapability = db.prepare('DELETE FROM capabilities WHERE agent_id = ?');
  const deleteAgents = db.prepare('DELETE FROM agents WHERE fleet_id = ?');
  // tasks_by_fleet by its fleet_id prefix; skills, dependencies and claims cascade. Deleted here
  // rather than by the fleet row's cascade, so the report can say how many went.
  const deleteTasks = db.prepare('DELETE FROM tasks WHERE fleet_id = ?');
  // councils_by_fleet, then council_votes_by_council: counted before the cascade takes them.
  const countCouncilVotes = db.prepare(
    'SELECT count(*) FROM council_votes WHERE council_id IN (SELECT message_id FROM councils WHERE fleet_id = ?)').pluck();
  // councils_by_fleet; voters and votes cascade.
  const deleteCouncils = db.prepare('DELETE FROM councils WHERE fleet_id = ?');
  const deleteFleetRow = db.prepare('DELETE FROM fleets WHERE id = ?');
  // events_fleetless_by_time.
  const deleteFleetless = db.prepare(
    `DELETE FROM events WHERE id IN (
       SELECT id FROM events WHERE fleet_id IS NULL AND recorded_at < ? ORDER BY recorded_at LIMIT ?) RETURNING id`).pluck();
  // Each deleted message and event keeps its link of the ledger chain, marked pruned in the same
  // transaction, so `meshfleet verify` tells a pruned row from one deleted behind Meshfleet's back.
  const chain = prepareChainStatements(db);
  const pruned = (table: 'messages' | 'events', ids: number[]): number => {
    const at = Date.now();
    for (const id of ids) chain.markPruned(table, id, at);
    return ids.length;
  };
  // file_reservations_by_fleet: a fleet's reservations, live or not.
  const deleteReservations = db.prepare(
    'DELETE FROM file_reservations WHERE id IN (SELECT id FROM file_reservations WHERE fleet_id = ? LIMIT ?)');
  const count = db.prepare(
    `WITH doomed AS (SELECT f.id FROM fleets AS f WHERE ${PRUNABLE} AND NOT EXISTS (${LIVE_AGENT})),
          doomed_agents AS (SELECT a.id FROM doomed AS f JOIN agents AS a ON a.fleet_id = f.id),
          doomed_messages AS (SELECT m.seq, m.id FROM doomed AS f JOIN messages AS m ON m.fleet_id = f.id)
     SELECT (SELECT count(*) FROM doomed) AS fleets,
            (SELECT count(*) FROM doomed_agents) AS agents,
            (SELECT count(*) FROM doomed_messages) AS messages,
            (SELECT count(*) FROM doomed_messages AS m JOIN deliveries AS d ON d.message_seq = m.seq) AS deliveries,
            (SELECT count(*) FROM doomed_messages AS m JOIN receipts AS r ON r.message_id = m.id) AS receipts,
            (SELECT count(*) FROM doomed AS f JOIN events AS e ON e.fleet_id = f.id)
              + (SELECT count(*) FROM events WHERE fleet_id IS NULL AND recorded_at < @cutoff) AS events,
            (SELECT count(*) FROM capabilities AS c
              WHERE c.agent_id IN (SELECT id FROM doomed_agents)
                 OR (c.fleet_id IN (SELECT id FROM doomed)
                     AND NOT EXISTS (SELECT 1 FROM agents AS a WHERE a.id = c.agent_id AND a.fleet_id <> c.fleet_id))) AS capabilities,
            (SELECT count(*) FROM doomed_agents AS a JOIN routing_outcomes AS o ON o.agent_id = a.id) AS outcomes,
            (SELECT count(*) FROM doomed AS f JOIN send_keys AS k ON k.fleet_id = f.id) AS send_keys,
            (SELECT count(*) FROM doomed AS f JOIN file_reservations AS r ON r.fleet_id = f.id) AS reservations,
            (SELECT count(*) FROM doomed AS f JOIN tasks AS t ON t.fleet_id = f.id) AS tasks,
            (SELECT count(*) FROM doomed AS f JOIN councils AS c ON c.fleet_id = f.id) AS councils,
            (SELECT count(*) FROM doomed AS f JOIN councils AS c ON c.fleet_id = f.id
               JOIN council_votes AS v ON v.council_id = c.message_id) AS council_votes`);

  return {
    prunableFleets: (cutoff, limit) => prunable.all({ cutoff, limit }) as string[],
    heldBackFleets: (cutoff) => heldBack.get({ cutoff }) as number,
    messagesOf: (fleetId, limit) => messagesOf.all(fleetId, limit) as DoomedMessage[],
    deleteMessage: (message) => {
      const receipts = deleteReceipts.run(message.id).changes;
      deleteMessage.run(message.seq);
      pruned('messages', [message.seq]);
      return receipts;
    },
    deleteEventsOf: (fleetId, limit) => pruned('events', deleteEvents.all(fleetId, limit) as number[]),
    deleteOutcomesOf: (fleetId, limit) => deleteOutcomes.run(fleetId, limit).changes,
    deleteSendKeysOf: (fleetId, limit) => deleteSendKeys.run({ fleet: fleetId, limit }).changes,
    deleteReservationsOf: (fleetId, limit) => deleteReservations.run(fleetId, limit).changes,
    deleteFleet: (fleetId) => {
      const capabilities = (capabilitiesOf.all({ fleet: fleetId }) as string[])
        .reduce((n, agentId) => n + deleteCapability.run(agentId).changes, 0);
      const tasks = deleteTasks.run(fleetId).changes;
      const agents = deleteAgents.run(fleetId).changes;
      const councilVotes = countCouncilVotes.get(fleetId) as number;
      const councils = deleteCouncils.run(fleetId).changes;
      deleteFleetRow.run(fleetId);
      return { agents, capabilities, tasks, councils, councilVotes };
    },
    deleteFleetlessEvents: (cutoff, limit) => pruned('events', deleteFleetless.all(cutoff, limit) as number[]),
    countPrunable: (cutoff) => count.get({ cutoff }) as RetentionCounts,
  };
}
