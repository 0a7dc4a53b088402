// Fleets of every age and state, each with a row of every kind prune deletes, and the database
// as it should look once given fleets are pruned.
import type BetterSqlite3 from 'better-sqlite3';
import { expect } from 'vitest';
import { recordEvent } from '../../src/mesh/events.js';
import { createFleet, markAgentFinished, markAgentStarted } from '../../src/mesh/fleets.js';
import { registerCapability } from '../../src/mesh/capabilities.js';
import { ackMessage, sendMessage } from '../../src/mesh/messages.js';
import { recordRoutingOutcome } from '../../src/routing/route-work.js';
import type { Store } from '../../src/store/open.js';
import { rawDatabase, withRawDatabase } from './database.js';

export const DAY_MS = 86_400_000;

export interface SeededFleet { fleetId: string; agentIds: string[] }

/**
 * A fleet created at `at` whose agents started, registered capabilities, messaged each other
 * (direct and broadcast, some acknowledged), recorded outcomes, receipts, a send key,
 * reservations, a task board and a council; then
 * settled one second later as `settle` says (null: its agents keep running).
 */
export function seedFleet(store: Store, at: number, options: { agents?: number; settle?: 'complete' | 'failed' | null; payloadBytes?: number } = {}): SeededFleet {
  const { fleet, agents } = createFleet(store, Array.from({ length: options.agents ?? 2 }, (_, i) => ({ role: `role ${i}`, prompt: 'do it' })), at);
  const agentIds = agents.map((a) => a.id);
  const payload = 'x'.repeat(options.payloadBytes ?? 20);
  for (const [i, agentId] of agentIds.entries()) {
    markAgentStarted(store, agentId, { pid: 1000 + i, pidStart: null, supervisorId: 'sup-test', number: 1, tokenHash: 'not-a-real-hash' }, at + 10);
    registerCapability(store, { agentId, fleetId: fleet.id, role: `role ${i}`, skills: ['typescript', 'code-review'] }, at + 20);
    recordRoutingOutcome(store, { agentId, capabilityKey: 'typescript', success: i % 2 === 0 }, at + 30);
  }
  const [first, second] = agentIds as [string, string];
  const direct = sendMessage(store, { fleetId: fleet.id, fromAgentId: first, toAgentId: second, type: 'handoff', payload }, at + 40);
  const broadcast = sendMessage(store, { fleetId: fleet.id, fromAgentId: second, toAgentId: '*', type: 'alert', payload }, at + 50);
  ackMessage(store, second, direct.messageId, at + 60);
  ackMessage(store, first, broadcast.messageId, at + 60);
  // Receipts come only from legacy imports; both go straight into the file.
  withRawDatabase(store.path, (db) => db.transaction(() => {
    const receipt = db.prepare('INSERT INTO receipts (message_id, agent_id, action, recorded_at, note) VALUES (?, ?, ?, ?, ?)');
    receipt.run(direct.messageId, second, 'ack', at + 60, null);
    receipt.run(broadcast.messageId, first, 'seen', at + 60, 'noted');
    db.prepare('INSERT INTO send_keys (fleet_id, idempotency_key, request_sha256, result, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(fleet.id, 'key-1', 'ab'.repeat(32), JSON.stringify({ message_ids: [direct.messageId] }), at + 40);
    const reserve = db.prepare('INSERT INTO file_reservations (fleet_id, agent_id, pattern, exclusive, created_at, expires_at, released_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    reserve.run(fleet.id, first, 'src/**', 1, at + 40, at + 3_600_000, null);
    reserve.run(fleet.id, second, 'docs/*.md', 0, at + 40, at + 3_600_000, at + 70);
    seedBoardAndCouncil(db, fleet.id, [first, second], broadcast.messageId, at);
  }).immediate());
  if (options.settle !== null) {
    for (const [i, agentId] of agentIds.entries()) {
      const failed = options.settle === 'failed' && i === 0;
      markAgentFinished(store, agentId, { status: failed ? 'failed' : 'complete', output: 'done', error: failed ? 'boom' : null }, at + 1_000);
    }
  }
  return { fleetId: fleet.id, agentIds };
}

/**
 * Two tasks (one done, one claimed and waiting for it, each with a skill) and a decided council
 * whose proposal is `proposalId`, with both agents voting and the first voting twice.
 */
function seedBoardAndCouncil(db: BetterSqlite3.Database, fleetId: string, [first, second]: [string, string], proposalId: string, at: number): void {
  const task = db.prepare(`INSERT INTO tasks (id, fleet_id, title, description, status, created_at, updated_at)
    VALUES (?, ?, ?, 'x', ?, ?, ?)`);
  const [schema, api] = [`task-schema-${fleetId}`, `task-api-${fleetId}`];
  task.run(schema, fleetId, 'schema', 'done', at + 40, at + 80);
  task.run(api, fleetId, 'api', 'claimed', at + 40, at + 90);
  db.prepare('INSERT INTO task_skills (task_id, position, skill) VALUES (?, 0, ?), (?, 0, ?)').run(schema, 'sql', api, 'typescript');
  db.prepare('INSERT INTO task_dependencies (task_id, depends_on_id) VALUES (?, ?)').run(api, schema);
  db.prepare('INSERT INTO task_claims (task_id, agent_id, claimed_at, expires_at) VALUES (?, ?, ?, ?)').run(api, second, at + 90, at + 600_000);
  db.prepare(`INSERT INTO councils (message_id, fleet_id, proposer_id, subject, quorum, silence, opened_at, deadline_at, outcome, decided_at, reason)
    VALUES (?, ?, ?, 'ship it', 2, 'abstain', ?, NULL, 'ratified', ?, 'approvals 2 of quorum 2')`).run(proposalId, fleetId, second, at + 50, at + 70);
  db.prepare('INSERT INTO council_voters (council_id, agent_id, weight, required) VALUES (?, ?, 1, 0), (?, ?, 1, 0)').run(proposalId, first, proposalId, second);
  const vote = db.prepare('INSERT INTO council_votes (council_id, agent_id, approve, note, cast_at, superseded_at) VALUES (?, ?, ?, NULL, ?, ?)');
  vote.run(proposalId, first, 0, at + 55, at + 65);
  vote.run(proposalId, first, 1, at + 65, null);
  vote.run(proposalId, second, 1, at + 70, null);
}

export function seedFleetlessEvent(store: Store, at: number, name: string): void {
  store.write(() => recordEvent(store, { kind: 'template_saved', data: { name } }, at));
}

export interface RetentionMesh {
  oldComplete: SeededFleet;
  oldFailed: SeededFleet;
  recentComplete: SeededFleet;
  runningSinceLongAgo: SeededFleet;
  /** Settled long ago, yet one agent is still 'running' (a crash can leave that). */
  settledWithRunningAgent: SeededFleet;
}

/** Fleets around a 30-day cutoff before `now`, and fleetless events on both sides of it. */
export function seedRetentionMesh(store: Store, now: number): RetentionMesh {
  const old = now - 60 * DAY_MS;
  const mesh: RetentionMesh = {
    oldComplete: seedFleet(store, old, { agents: 3, settle: 'complete' }),
    oldFailed: seedFleet(store, old + 3_600_000, { agents: 2, settle: 'failed' }),
    recentComplete: seedFleet(store, now - DAY_MS, { settle: 'complete' }),
    runningSinceLongAgo: seedFleet(store, old - 30 * DAY_MS, { settle: null }),
    settledWithRunningAgent: seedFleet(store, old, { settle: 'complete' }),
  };
  rawDatabase(store.path).run("UPDATE agents SET status = 'running' WHERE id = ?", mesh.settledWithRunningAgent.agentIds[0]);
  seedFleetlessEvent(store, old, 'old');
  seedFleetlessEvent(store, now - DAY_MS, 'recent');
  return mesh;
}

type Dump = Record<string, unknown[]>;
type Row = Record<string, unknown>;

/** `dump` without the rows a prune of `fleetIds` at `cutoffAt` deletes, and how many went per kind. */
export function expectedAfterPrune(dump: Dump, fleetIds: readonly string[], cutoffAt: number): { dump: Dump; counts: Record<string, number> } {
  const fleets = new Set(fleetIds);
  const rows = (table: string) => (dump[table] ?? []) as Row[];
  const agents = new Set(rows('agents').filter((a) => fleets.has(a.fleet_id as string)).map((a) => a.id as string));
  const messages = rows('messages').filter((m) => fleets.has(m.fleet_id as string));
  const seqs = new Set(messages.map((m) => m.seq));
  const messageIds = new Set(messages.map((m) => m.id));
  const tasks = new Set(rows('tasks').filter((t) => fleets.has(t.fleet_id as string)).map((t) => t.id as string));
  const councils = new Set(rows('councils').filter((c) => fleets.has(c.fleet_id as string)).map((c) => c.message_id as string));
  const gone: Record<string, (row: Row) => boolean> = {
    fleets: (r) => fleets.has(r.id as string),
    agents: (r) => fleets.has(r.fleet_id as string),
    messages: (r) => fleets.has(r.fleet_id as string),
    deliveries: (r) => seqs.has(r.message_seq),
    receipts: (r) => messageIds.has(r.message_id),
    events: (r) => (r.fleet_id === null ? (r.recorded_at as number) < cutoffAt : fleets.has(r.fleet_id as string)),
    capabilities: (r) => agents.has(r.agent_id as string),
    capability_skills: (r) => agents.has(r.agent_id as string),
    capability_terms: (r) => agents.has(r.agent_id as string),
    routing_outcomes: (r) => agents.has(r.agent_id as string),
    send_keys: (r) => fleets.has(r.fleet_id as string),
    file_reservations: (r) => fleets.has(r.fleet_id as string),
    tasks: (r) => fleets.has(r.fleet_id as string),
    task_skills: (r) => tasks.has(r.task_id as string),
    task_dependencies: (r) => tasks.has(r.task_id as string),
    task_claims: (r) => tasks.has(r.task_id as string),
    councils: (r) => councils.has(r.message_id as string),
    council_voters: (r) => councils.has(r.council_id as string),
    council_votes: (r) => councils.has(r.council_id as string),
  };
  const after: Dump = {};
  const counts: Record<string, number> = {};
  for (const [table, tableRows] of Object.entries(dump)) {
    const isGone = gone[table];
    after[table] = isGone === undefined ? tableRows : (tableRows as Row[]).filter((r) => !isGone(r));
    if (isGone !== undefined) counts[table] = tableRows.length - after[table]!.length;
  }
  // The links of deleted messages and events stay, marked pruned (migrations/NNNN-ledger-chain.sql).
  const deletedEvents = new Set(rows('events').filter((r) => gone.events!(r)).map((r) => r.id));
  const pruned = (link: Row) => link.pruned_at === null
    && (link.ref_table === 'messages' ? seqs.has(link.ref_id) : deletedEvents.has(link.ref_id));
  if (dump.ledger_chain !== undefined) {
    after.ledger_chain = rows('ledger_chain').map((link) => (pruned(link) ? { ...link, pruned_at: expect.any(Number) } : link));
  }
  // route_work's counters (migrations/NNNN-routing-generations.sql) move for every part whose tables lost rows, and only those.
  if (dump.routing_generations !== undefined) {
    const moved: Record<string, boolean> = {
      terms: counts.capability_terms! > 0, agents: counts.agents! + counts.capabilities! > 0, outcomes: counts.routing_outcomes! > 0, taxonomy: false,
    };
    after.routing_generations = rows('routing_generations').map((g) => (moved[g.part as string] ? { ...g, generation: expect.any(Number) } : g));
    // And each removed term and agent is stamped with a newer generation; no other stamp moves.
    // (Rows compared by key: the table may come back in its index's order.)
    const changed = new Set([
      ...rows('capability_terms').filter(gone.capability_terms!).map((r) => `terms ${r.term as string}`),
      ...[...agents, ...rows('capabilities').filter(gone.capabilities!).map((r) => r.agent_id as string)].map((id) => `agents ${id}`),
    ]);
    const stamped = new Map(rows('routing_changes').map((r) => [`${r.part as string} ${r.key as string}`, r.generation as number]));
    after.routing_changes = expect.toSatisfy((actual: Row[]) => {
      const now = new Map(actual.map((r) => [`${r.part as string} ${r.key as string}`, r.generation as number]));
      const keys = new Set([...stamped.keys(), ...changed]);
      return now.size === keys.size && [...keys].every((key) => (changed.has(key) ? now.get(key)! > (stamped.get(key) ?? -1) : now.get(key) === stamped.get(key)));
    }, 'a newer stamp for each removed term and agent, and no other change');
  }
  return {
    dump: after,
    counts: {
      fleets: counts.fleets!, agents: counts.agents!, messages: counts.messages!, deliveries: counts.deliveries!,
      receipts: counts.receipts!, events: counts.events!, capabilities: counts.capabilities!, outcomes: counts.routing_outcomes!,
      sendKeys: counts.send_keys!, reservations: counts.file_reservations!,
      tasks: counts.tasks!, councils: counts.councils!, councilVotes: counts.council_votes!,
    },
  };
}
