// Tamper evidence: history written through Meshfleet, then edited on a second connection to the
// file the way a person with `sqlite3` would (foreign keys off, as the sqlite3 shell starts).
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordEvent } from '../../src/mesh/events.js';
import { createFleet, markAgentFinished } from '../../src/mesh/fleets.js';
import { sendMessages } from '../../src/mesh/messages.js';
import { reserveFiles } from '../../src/mesh/reservations.js';
import { pruneSettledFleets } from '../../src/mesh/retention.js';
import { verifyLedger, type ChainHead, type VerifyReport } from '../../src/mesh/verify.js';
import type { StoredLink } from '../../src/store/ledger-audit.js';
import { GENESIS_HASH, linkHash, rowHash, type ChainedTable } from '../../src/store/ledger-chain.js';
import { openStore, type Store } from '../../src/store/open.js';
import { databasePerTest } from '../helpers/database.js';

let dbPath: string;
let store: Store;
databasePerTest((paths) => ({ db: dbPath } = paths));
beforeEach(() => { store = openStore(dbPath); });
afterEach(() => store.close());

/** A fleet of three with five messages (two of them broadcasts) and the events they wrote. */
function history(): { fleetId: string; agentIds: string[]; messageIds: string[] } {
  const { fleet, agents } = createFleet(store, [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'p' }, { role: 'c', prompt: 'p' }]);
  const agentIds = agents.map((a) => a.id);
  const { messageIds } = sendMessages(store, Array.from({ length: 5 }, (_, i) => ({
    fleetId: fleet.id, fromAgentId: agentIds[0]!, toAgentId: i % 2 === 1 ? '*' : agentIds[1]!, type: 'handoff', payload: `step ${i}`,
  })));
  return { fleetId: fleet.id, agentIds, messageIds };
}

/** Like `sqlite3 mesh.db`: its own connection, foreign keys off. */
function sqlite3(sql: string): void {
  const db = new BetterSqlite3(dbPath, { timeout: 10_000 });
  try {
    db.pragma('foreign_keys = OFF'); // better-sqlite3 turns them on; the sqlite3 shell leaves them off
    db.exec(sql);
  } finally {
    db.close();
  }
}

const failing = (report: VerifyReport) => report.checks.filter((c) => c.found > 0).map((c) => c.name);
const seqOf = (messageId: string) => store.first(store.sql.selectFrom('messages').select('seq').where('id', '=', messageId))!.seq;
const linkOf = (table: 'messages' | 'events', id: number) => store.first(store.sql.selectFrom('ledger_chain')
  .select('position').where('ref_table', '=', table).where('ref_id', '=', id))!;

describe('a history written through Meshfleet', () => {
  it('verifies clean: every message and event is chained once, in order', () => {
    history();
    const report = verifyLedger(store);
    expect(failing(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.counts.chain_links).toBe(report.counts.messages + report.counts.events);
    expect(report.chain.head.position).toBe(report.counts.chain_links);
    expect(report.chain.firstProblem).toBeNull();
  });
});

describe('edits with sqlite3 are caught and the first row is named', () => {
  it('one message\'s payload edited', () => {
    const { messageIds } = history();
    sqlite3(`UPDATE messages SET payload = 'step 2, but different' WHERE id = '${messageIds[2]}'`);
    const report = verifyLedger(store);
    expect(report.ok).toBe(false);
    expect(failing(report)).toEqual(['chain_rows']);
    expect(report.chain.firstProblem).toMatchObject({ check: 'chain_rows', table: 'messages', id: seqOf(messageIds[2]!), position: linkOf('messages', seqOf(messageIds[2]!)).position });
    expect(report.chain.firstProblem!.problem).toContain(`message "${messageIds[2]}") was altered`);
  });

  it('one event\'s data edited', () => {
    const { fleetId } = history();
    const eventId = store.first(store.sql.selectFrom('events').select('id').where('fleet_id', '=', fleetId).orderBy('id').limit(1))!.id;
    sqlite3(`UPDATE events SET data = '{"forged":true}' WHERE id = ${eventId}`);
    const report = verifyLedger(store);
    expect(failing(report)).toEqual(['chain_rows']);
    expect(report.chain.firstProblem).toMatchObject({ table: 'events', id: eventId, position: linkOf('events', eventId).position });
  });

  it('a message deleted (its deliveries with it)', () => {
    const { messageIds } = history();
    const seq = seqOf(messageIds[1]!);
    sqlite3(`DELETE FROM deliveries WHERE message_seq = ${seq}; DELETE FROM messages WHERE seq = ${seq}`);
    const report = verifyLedger(store);
    expect(failing(report)).toEqual(['chain_rows']);
    expect(report.chain.firstProblem).toMatchObject({ table: 'messages', id: seq });
    expect(report.chain.firstProblem!.problem).toContain('was deleted (not by prune)');
  });

  it('a message inserted without a link', () => {
    const { fleetId, agentIds } = history();
    sqlite3(`INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, type, payload, sent_at)
             VALUES ('msg-forged', '${fleetId}', '${agentIds[0]}', '${agentIds[1]}', 'handoff', 'do it', 1)`);
    const report = verifyLedger(store);
    expect(failing(report)).toEqual(['chain_coverage']);
    expect(report.chain.firstProblem).toMatchObject({ check: 'chain_coverage', table: 'messages', id: seqOf('msg-forged'), position: null });
  });

  it('two messages swapped in send order', () => {
    const { messageIds } = history();
    const [a, b] = [seqOf(messageIds[0]!), seqOf(messageIds[4]!)];
    sqlite3(`UPDATE messages SET seq = -1 WHERE seq = ${a}; UPDATE messages SET seq = ${a} WHERE seq = ${b}; UPDATE messages SET seq = ${b} WHERE seq = -1;`);
    const report = verifyLedger(store);
    expect(failing(report)).toContain('chain_rows');
    expect(report.chain.firstProblem).toMatchObject({ table: 'messages', id: a });
  });

  it('two links swapped (rows moved in the chain)', () => {
    const { messageIds } = history();
    const [p, q] = [linkOf('messages', seqOf(messageIds[1]!)).position, linkOf('messages', seqOf(messageIds[3]!)).position];
    sqlite3(`UPDATE ledger_chain SET position = 1000000 WHERE position = ${p}; UPDATE ledger_chain SET position = ${p} WHERE position = ${q};
             UPDATE ledger_chain SET position = ${q} WHERE position = 1000000;`);
    const report = verifyLedger(store);
    expect(failing(report)).toEqual(expect.arrayContaining(['chain_links', 'chain_order']));
    expect(report.chain.firstProblem).toMatchObject({ check: 'chain_links', position: p });
  });

  it('a rewritten chain passes on its own, and is caught against a head kept before', () => {
    const { messageIds } = history();
    const kept: ChainHead = verifyLedger(store).chain.head;
    sqlite3(`UPDATE messages SET payload = 'rewritten' WHERE id = '${messageIds[0]}'`);
    rewriteChain();
    expect(verifyLedger(store).ok).toBe(true); // what a chain alone cannot prove
    const report = verifyLedger(store, { against: kept });
    expect(failing(report)).toEqual(['chain_head']);
    expect(report.checks.find((c) => c.name === 'chain_head')!.examples[0]).toContain(`link ${kept.position} has hash`);
  });

  it('a chain cut back (the last row and its link deleted) is caught against a kept head', () => {
    history();
    const kept = verifyLedger(store).chain.head;
    const last = store.first(store.sql.selectFrom('ledger_chain').selectAll().orderBy('position', 'desc').limit(1))!;
    sqlite3(`DELETE FROM ${last.ref_table} WHERE ${last.ref_table === 'messages' ? 'seq' : 'id'} = ${last.ref_id};
             DELETE FROM ledger_chain WHERE position = ${last.position}`);
    expect(verifyLedger(store).ok).toBe(true); // what a chain alone cannot prove
    const report = verifyLedger(store, { against: kept });
    expect(failing(report)).toEqual(['chain_head']);
    expect(report.checks.find((c) => c.name === 'chain_head')!.examples[0]).toContain('cut back');
  });
});

/** What an attacker who knows the algorithm does: recompute every row hash and link from the start. */
function rewriteChain(): void {
  const links: { link: StoredLink; hash: string }[] = [];
  store.audit.walkChain((link) => links.push({ link, hash: rowHash(link.refTable as ChainedTable, link.row!) }));
  let previous = GENESIS_HASH;
  const updates = links.map(({ link, hash }) => {
    previous = linkHash(previous, { ...link, refTable: link.refTable as ChainedTable, rowHash: hash });
    return `UPDATE ledger_chain SET row_hash = '${hash}', chain_hash = '${previous}' WHERE position = ${link.position};`;
  });
  sqlite3(updates.join('\n'));
}

describe('prune', () => {
  it('removes rows with their links marked pruned, and the chain still verifies', () => {
    const { fleetId, agentIds } = history();
    for (const id of agentIds) markAgentFinished(store, id, { status: 'complete', output: 'done', error: null });
    recordEvent(store, { kind: 'fleet_settled' }, 1); // a fleetless event, old enough to go
    const before = verifyLedger(store).counts;
    const pruned = pruneSettledFleets(store, { olderThanMs: 0, now: Date.now() + 1_000 });
    expect(pruned.counts.fleets).toBe(1);
    const report = verifyLedger(store);
    expect(failing(report)).toEqual([]);
    expect(report.counts.chain_links).toBe(before.chain_links);
    expect(report.counts.chain_links_pruned).toBe(pruned.counts.messages + pruned.counts.events);
    expect(store.first(store.sql.selectFrom('fleets').select('id').where('id', '=', fleetId))).toBeUndefined();
  });

  it('a new message that takes a pruned message\'s seq is chained as itself', () => {
    const first = history();
    for (const id of first.agentIds) markAgentFinished(store, id, { status: 'complete', output: 'done', error: null });
    pruneSettledFleets(store, { olderThanMs: 0, now: Date.now() + 1_000 });
    const second = history();
    expect(seqOf(second.messageIds[0]!)).toBe(1); // SQLite reuses the freed seq
    expect(failing(verifyLedger(store))).toEqual([]);
  });

  it('a row deleted by hand and marked pruned while its fleet lives on is a warning', () => {
    const { messageIds } = history();
    const seq = seqOf(messageIds[2]!);
    sqlite3(`DELETE FROM deliveries WHERE message_seq = ${seq}; DELETE FROM messages WHERE seq = ${seq};
             UPDATE ledger_chain SET pruned_at = 1 WHERE ref_table = 'messages' AND ref_id = ${seq}`);
    const report = verifyLedger(store);
    expect(failing(report)).toEqual(['chain_pruned_of_live_fleet']);
    expect(report.ok).toBe(true);
    expect(report.warnings).toBe(1);
  });
});

describe('consistency checks', () => {
  it('name deliveries of a missing message, a direct message delivered elsewhere, and a settled fleet with a running agent', () => {
    const { fleetId, agentIds, messageIds } = history();
    sqlite3(`INSERT INTO deliveries (message_seq, agent_id, sent_at) VALUES (999, '${agentIds[1]}', 1);
             UPDATE deliveries SET agent_id = '${agentIds[2]}' WHERE message_seq = ${seqOf(messageIds[0]!)};
             UPDATE fleets SET status = 'complete', completed_at = created_at WHERE id = '${fleetId}';
             UPDATE agents SET status = 'running', started_at = 1 WHERE id = '${agentIds[0]}';`);
    const report = verifyLedger(store);
    expect(failing(report)).toEqual(['deliveries_without_message', 'direct_message_delivered_elsewhere', 'settled_fleet_with_live_agents']);
    expect(report.errors).toBe(1);
    expect(report.warnings).toBe(2);
    const check = (name: string) => report.checks.find((c) => c.name === name)!;
    expect(check('deliveries_without_message').examples).toEqual([`delivery of message seq 999 to "${agentIds[1]}"`]);
    expect(check('direct_message_delivered_elsewhere').examples).toEqual([
      `message "${messageIds[0]}" to "${agentIds[1]}" delivered to "${agentIds[2]}"`,
    ]);
  });

  it('name a file reservation held by an agent outside its fleet', () => {
    const { agentIds } = history();
    const { granted } = reserveFiles(store, { agentId: agentIds[0]!, patterns: ['src/**'], ttlMs: 60_000, exclusive: true, reason: 'refactor' });
    expect(failing(verifyLedger(store))).toEqual([]);
    sqlite3(`UPDATE file_reservations SET agent_id = 'agent-ghost' WHERE id = ${granted[0]!.id}`);
    const report = verifyLedger(store);
    expect(failing(report)).toEqual(['reservations_outside_fleet']);
    expect(report.ok).toBe(false);
  });

  it('a broadcast that missed an agent of the fleet at send time is a warning', () => {
    const { messageIds, agentIds } = history();
    sqlite3(`DELETE FROM deliveries WHERE message_seq = ${seqOf(messageIds[1]!)} AND agent_id = '${agentIds[2]}'`);
    const report = verifyLedger(store);
    expect(failing(report)).toEqual(['broadcast_missed_member']);
    expect(report.checks.find((c) => c.name === 'broadcast_missed_member')!.examples).toEqual([
      `broadcast "${messageIds[1]}" has no delivery to "${agentIds[2]}"`,
    ]);
  });
});
