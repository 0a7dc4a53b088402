// What each schema version promises when an older database is opened by this build. Rows are
// written and read over a plain connection, as sqlite3 would, not through the Store.
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { claimPendingAgents, countUnclaimedAgents, readHubLease } from '../../src/hub/lease.js';
import { getInbox } from '../../src/mesh/messages.js';
import { verifyLedger } from '../../src/mesh/verify.js';
import { routeWork } from '../../src/routing/route-work.js';
import { loadMigrations } from '../../src/store/migrator.js';
import { openStore } from '../../src/store/open.js';
import { databasePerTest, migrationsUpTo, queryDb, rawDatabase } from '../helpers/database.js';
import { markAgentFinished } from '../../src/mesh/fleets.js';
import { claimTask } from '../../src/mesh/task-claims.js';
import { createTasks } from '../../src/mesh/tasks.js';
import { spawnSync } from 'node:child_process';
import { getReceipts } from '../../src/mesh/receipts.js';
import { searchMessages } from '../../src/mesh/search.js';
import { getThread } from '../../src/mesh/threads.js';
import { FIXTURES, hasSqliteCli, runCli } from '../helpers/files.js';
import { eventually, startHarness } from '../helpers/mesh.js';
import { outcomeFactor } from '../../src/routing/outcomes.js';

let dir: string;
let dbPath: string;
databasePerTest((paths) => ({ dir, db: dbPath } = paths));

/** The migrations of schema `version` and below, as an install of that release had them. */
/** A database as the release of schema `version` left it, holding `rows`; then this build opens it. */
function upgradeFrom(version: number, rows: string): void {
  openStore(dbPath, { migrations: migrationsUpTo(dir, version) }).close();
  const old = new BetterSqlite3(dbPath);
  old.exec(rows);
  old.close();
  openStore(dbPath).close();
}

describe('schema 1 → 2', () => {
  it('indexes the roles and skills of existing capabilities, so route_work finds agents registered before the upgrade', () => {
    upgradeFrom(1, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status) VALUES ('a1', 'f', 'API Writer', 'p', 'running');
      INSERT INTO capabilities (agent_id, fleet_id, role, registered_at) VALUES ('a1', 'f', 'API Writer', 1);
      INSERT INTO capability_skills (agent_id, position, skill) VALUES ('a1', 0, 'React-Native'), ('a1', 1, 'Docs');
      INSERT INTO routing_outcomes (agent_id, capability_key, succeeded, recorded_at) VALUES ('a1', 'Docs', 1, 1);`);
    expect(queryDb<{ term: string }>(dbPath, 'SELECT term FROM capability_terms ORDER BY term').map((row) => row.term))
      .toEqual(['api', 'api writer', 'docs', 'native', 'react', 'react-native', 'writer']);
    const upgraded = openStore(dbPath);
    expect(routeWork(upgraded, 'writer needed for docs').map((m) => m.agentId)).toEqual(['a1']);
    upgraded.close();
  });

  it('a legacy import writes the terms too', () => {
    expect(runCli(['migrate', join(FIXTURES, 'ledger-v1.json'), '--db', dbPath]).code).toBe(0);
    const store = openStore(dbPath);
    expect(routeWork(store, 'react page', { topN: 5 }).map((m) => m.agentId)).toEqual(['s-ui']);
    store.close();
  });
});

describe('schema 2 → 3', () => {
  it('counts the attempts of agents that started before the upgrade', () => {
    upgradeFrom(2, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status, retry_count, started_at) VALUES ('ran', 'f', 'r', 'p', 'failed', 2, 5);
      INSERT INTO agents (id, fleet_id, role, prompt, status) VALUES ('never', 'f', 'r', 'p', 'pending');`);
    expect(queryDb(dbPath, 'SELECT id, attempts, supervisor_id FROM agents ORDER BY id')).toEqual([
      { id: 'never', attempts: 0, supervisor_id: null }, { id: 'ran', attempts: 3, supervisor_id: null },
    ]);
  });
});

describe('schema 3 → 4', () => {
  it('makes every existing agent a worker without a token, and template seats keep no profile', () => {
    upgradeFrom(3, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status) VALUES ('a', 'f', 'r', 'p', 'pending');
      INSERT INTO templates (name, version, created_at) VALUES ('t', 1, 1);
      INSERT INTO template_agents (template_name, template_version, position, role, prompt) VALUES ('t', 1, 0, 'r', 'p');`);
    expect(queryDb(dbPath, 'SELECT id, profile, token_hash FROM agents')).toEqual([{ id: 'a', profile: 'worker', token_hash: null }]);
    expect(queryDb(dbPath, 'SELECT profile FROM template_agents')).toEqual([{ profile: null }]);
    const conn = new BetterSqlite3(dbPath);
    try {
      expect(() => conn.prepare("UPDATE agents SET profile = 'admin'").run()).toThrow(/CHECK constraint/);
    } finally {
      conn.close();
    }
  });
});

describe('schema 4 → 5', () => {
  it('gives existing deliveries their message\'s sent_at, so get_inbox since finds messages sent before the upgrade', () => {
    // Clocks out of order: the second message was stamped before the first.
    upgradeFrom(4, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status) VALUES ('a', 'f', 'r', 'p', 'running'), ('b', 'f', 'r', 'p', 'running');
      INSERT INTO messages (seq, id, fleet_id, from_agent_id, to_agent_id, type, payload, sent_at) VALUES
        (1, 'm1', 'f', 'a', 'b', 'result', 'x', 3000), (2, 'm2', 'f', 'a', 'b', 'result', 'x', 1000), (3, 'm3', 'f', 'a', 'b', 'result', 'x', 2000);
      INSERT INTO deliveries (message_seq, agent_id) VALUES (1, 'b'), (2, 'b');
      INSERT INTO deliveries (message_seq, agent_id, acked, acked_at) VALUES (3, 'b', 1, 4000);`);
    expect(queryDb(dbPath, 'SELECT message_seq, sent_at FROM deliveries ORDER BY message_seq'))
      .toEqual([{ message_seq: 1, sent_at: 3000 }, { message_seq: 2, sent_at: 1000 }, { message_seq: 3, sent_at: 2000 }]);
    const upgraded = openStore(dbPath);
    try {
      expect(getInbox(upgraded, 'b', { sinceMs: 999 }).messages.map((m) => m.id)).toEqual(['m1', 'm2']);
      expect(getInbox(upgraded, 'b', { sinceMs: 1000 }).messages.map((m) => m.id)).toEqual(['m1']);
      expect(getInbox(upgraded, 'b', { sinceMs: 3000 }).messages).toEqual([]);
    } finally {
      upgraded.close();
    }
  });
});

describe('schema 5 → 6', () => {
  it('adds file reservations with no rows and a live_reservations view, existing fleets untouched, readable at the sqlite3 prompt', () => {
    upgradeFrom(5, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status) VALUES ('a1', 'f', 'coder', 'p', 'running');`);
    expect(queryDb(dbPath, 'SELECT count(*) AS n FROM file_reservations')).toEqual([{ n: 0 }]);
    expect(queryDb(dbPath, 'SELECT id, status FROM fleets')).toEqual([{ id: 'f', status: 'running' }]);
    const now = Date.now();
    rawDatabase(dbPath).run(`INSERT INTO file_reservations (fleet_id, agent_id, pattern, exclusive, created_at, expires_at) VALUES
      ('f', 'a1', 'src/**', 1, ${now}, ${now + 3_600_000}), ('f', 'a1', 'old/**', 1, ${now - 10}, ${now - 5})`);
    expect(queryDb(dbPath, 'SELECT pattern FROM live_reservations')).toEqual([{ pattern: 'src/**' }]);
  });
});

describe('schema 6 → 7', () => {
  it('starts with no hub, and agents left pending and unstarted before the upgrade wait in the hub\'s queue; legacy rows do not', () => {
    upgradeFrom(6, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status, created_at) VALUES ('waiting', 'f', 'r', 'p', 'pending', 5);
      INSERT INTO agents (id, fleet_id, role, prompt, status) VALUES ('legacy', 'f', 'r', 'p', 'pending');`);
    expect(queryDb(dbPath, 'SELECT count(*) AS n FROM hub_lease')).toEqual([{ n: 0 }]);
    const upgraded = openStore(dbPath);
    try {
      expect(readHubLease(upgraded)).toBeUndefined();
      expect(countUnclaimedAgents(upgraded)).toBe(1);
      expect(claimPendingAgents(upgraded, 'hub-1', 10).map((a) => a.id)).toEqual(['waiting']);
    } finally {
      upgraded.close();
    }
  });
});

describe('schema 7 → 8', () => {
  it('gives existing agents no workspace (they keep running where they did), and the new columns take one', () => {
    upgradeFrom(7, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status) VALUES ('a1', 'f', 'coder', 'p', 'running');`);
    expect(queryDb(dbPath, 'SELECT workspace_path, workspace_state FROM agents')).toEqual([{ workspace_path: null, workspace_state: null }]);
    rawDatabase(dbPath).run("UPDATE agents SET workspace_path = '/w', workspace_state = 'kept' WHERE id = 'a1'");
    expect(() => rawDatabase(dbPath).run("UPDATE agents SET workspace_state = 'lost' WHERE id = 'a1'")).toThrow(/CHECK constraint failed/);
  });
});

describe('schema 8 → 9', () => {
  it('derives the terms of existing capabilities with the new tokenizer: names whole, parts marked, no bare numbers', () => {
    upgradeFrom(8, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status) VALUES ('a', 'f', 'DevOps', 'p', 'running'), ('b', 'f', 'Firmware', 'p', 'running');
      INSERT INTO capabilities (agent_id, fleet_id, role, registered_at) VALUES ('a', 'f', 'DevOps', 1), ('b', 'f', 'Firmware', 1);
      INSERT INTO capability_skills (agent_id, position, skill) VALUES ('a', 0, 'CI/CD'), ('a', 1, 'aws_lambda'), ('b', 0, 'fw3_3_1');`);
    expect(queryDb(dbPath, 'SELECT agent_id, term, part FROM capability_terms ORDER BY agent_id, term')).toEqual([
      { agent_id: 'a', term: 'aws', part: 1 }, { agent_id: 'a', term: 'aws_lambda', part: 0 }, { agent_id: 'a', term: 'cd', part: 1 },
      { agent_id: 'a', term: 'ci', part: 1 }, { agent_id: 'a', term: 'ci/cd', part: 0 }, { agent_id: 'a', term: 'devops', part: 0 },
      { agent_id: 'a', term: 'lambda', part: 1 },
      { agent_id: 'b', term: 'firmware', part: 0 }, { agent_id: 'b', term: 'fw3', part: 1 }, { agent_id: 'b', term: 'fw3_3_1', part: 0 },
    ]);
    expect(queryDb(dbPath, "SELECT count(*) AS n FROM meshfleet_meta WHERE key = 'derive_capability_terms'")).toEqual([{ n: 0 }]);
    const upgraded = openStore(dbPath);
    try {
      expect(routeWork(upgraded, 'ci/cd pipeline is broken').map((m) => m.agentId)).toEqual(['a']);
      expect(routeWork(upgraded, 'fix bug 1').map((m) => m.agentId)).toEqual([]);
    } finally {
      upgraded.close();
    }
  });
});

// The ledger chain's migration, by name: its number follows whatever lands before it.
const CHAIN = loadMigrations().find((m) => m.name.endsWith('-ledger-chain.sql'))!.version;

describe(`schema ${CHAIN - 1} → ${CHAIN}`, () => {
  it('chains existing messages in seq order, then events in id order, once; verify then holds them to it and says they were chained by the upgrade', () => {
    upgradeFrom(CHAIN - 1, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status, created_at, started_at) VALUES ('a', 'f', 'r', 'p', 'running', 1, 1), ('b', 'f', 'r', 'p', 'running', 1, 1);
      INSERT INTO messages (seq, id, fleet_id, from_agent_id, to_agent_id, type, payload, sent_at) VALUES
        (4, 'm4', 'f', 'a', 'b', 'result', 'x', 3000), (2, 'm2', 'f', 'a', 'b', 'result', 'y', 1000);
      INSERT INTO deliveries (message_seq, agent_id) VALUES (2, 'b'), (4, 'b');
      INSERT INTO events (id, kind, fleet_id, data, recorded_at) VALUES (7, 'fleet_created', 'f', '{}', 1), (3, 'agent_spawned', 'f', NULL, 1);`);
    expect(queryDb(dbPath, 'SELECT position, ref_table, ref_id, fleet_id, pruned_at FROM ledger_chain ORDER BY position')).toEqual([
      { position: 1, ref_table: 'messages', ref_id: 2, fleet_id: 'f', pruned_at: null },
      { position: 2, ref_table: 'messages', ref_id: 4, fleet_id: 'f', pruned_at: null },
      { position: 3, ref_table: 'events', ref_id: 3, fleet_id: 'f', pruned_at: null },
      { position: 4, ref_table: 'events', ref_id: 7, fleet_id: 'f', pruned_at: null },
    ]);
    expect(queryDb(dbPath, "SELECT key, value FROM meshfleet_meta WHERE key = 'chain_backfilled_rows'")).toEqual([{ key: 'chain_backfilled_rows', value: '4' }]);
    const upgraded = openStore(dbPath); // opening again chains nothing twice
    try {
      const report = verifyLedger(upgraded);
      expect(report.ok).toBe(true);
      expect(report.chain.backfilledRows).toBe(4);
      expect(report.counts.chain_links).toBe(4);
    } finally {
      upgraded.close();
    }
    const edited = new BetterSqlite3(dbPath);
    edited.prepare("UPDATE messages SET payload = 'z' WHERE id = 'm2'").run();
    edited.close();
    const run = runCli(['verify', '--db', dbPath]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('First problem: link 1: messages seq 2 (message "m2") was altered');
    expect(run.stdout).toMatch(/^4 rows from before the chain were linked by the upgrade of \S+; the chain proves nothing about them before that\.$/m);
  });
});

describe('schema 9 → 10', () => {
  it('fleets and agents from before the upgrade get an empty board they can plan on and claim from; an agent\'s end returns its claims', () => {
    upgradeFrom(9, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status, created_at) VALUES ('a', 'f', 'r', 'p', 'running', 1);`);
    expect(queryDb(dbPath, 'SELECT * FROM ready_tasks')).toEqual([]);
    const upgraded = openStore(dbPath);
    try {
      const [first, second] = createTasks(upgraded, 'f', [{ ref: 'x', title: 'First', description: 'd' }, { title: 'Second', description: 'd', dependsOn: ['x'] }], null);
      expect(queryDb(dbPath, 'SELECT task_id FROM ready_tasks')).toEqual([{ task_id: first!.id }]);
      claimTask(upgraded, first!.id, 'a');
      markAgentFinished(upgraded, 'a', { status: 'failed', output: null, error: 'killed' });
      expect(queryDb(dbPath, 'SELECT task_id, status, claimed_by, waiting_on FROM task_board')).toEqual([
        { task_id: first!.id, status: 'open', claimed_by: null, waiting_on: 0 },
        { task_id: second!.id, status: 'open', claimed_by: null, waiting_on: 1 },
      ]);
    } finally {
      upgraded.close();
    }
  });
});

describe('schema 10 → 11', () => {
  it('threads, indexes for search and keeps receipts of messages stored before the upgrade', async () => {
    // A reply chain, a free-form correlation id, a reply across fleets (no thread), a receipt.
    upgradeFrom(10, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1), ('g', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status) VALUES ('a', 'f', 'r', 'p', 'running'), ('b', 'f', 'r', 'p', 'running'), ('z', 'g', 'r', 'p', 'running');
      INSERT INTO messages (seq, id, fleet_id, from_agent_id, to_agent_id, type, payload, correlation_id, sent_at) VALUES
        (1, 'm3', 'f', 'b', 'a', 'result', 'the reply to a reply', 'm2', 3),
        (2, 'm1', 'f', 'a', 'b', 'handoff', 'please refactor the parser', NULL, 1),
        (3, 'm2', 'f', 'b', 'a', 'question', 'which parser exactly', 'm1', 2),
        (4, 't1', 'f', 'a', 'b', 'handoff', 'free form thread', 'task-7', 4),
        (5, 'x1', 'g', 'z', 'z', 'handoff', 'names a message of another fleet', 'm1', 5);
      INSERT INTO deliveries (message_seq, agent_id) VALUES (1, 'a'), (2, 'b'), (3, 'a'), (4, 'b'), (5, 'z');
      INSERT INTO receipts (message_id, agent_id, action, recorded_at, note) VALUES ('m1', 'b', 'seen', 7, 'old');`);
    expect(queryDb(dbPath, 'SELECT id, subject, thread_id FROM messages ORDER BY seq')).toEqual([
      // m3 was stored before its parents (seq order is not reply order): it still joins m1's thread.
      { id: 'm3', subject: null, thread_id: 'm1' }, { id: 'm1', subject: null, thread_id: 'm1' }, { id: 'm2', subject: null, thread_id: 'm1' },
      { id: 't1', subject: null, thread_id: 'task-7' }, { id: 'x1', subject: null, thread_id: 'm1' },
    ]);
    const upgraded = openStore(dbPath);
    try {
      expect(getThread(upgraded, 'm2', 'f', 0, 100).messages.map((m) => m.id)).toEqual(['m3', 'm1', 'm2']);
      expect(getThread(upgraded, 'm1', 'g', 0, 100).messages.map((m) => m.id)).toEqual(['x1']);
      expect(searchMessages(upgraded, 'parser', { literal: false, fleetId: 'f', fromAgentId: null, toAgentId: null, sinceMs: null, limit: 10 }).hits.map((h) => h.messageId).sort())
        .toEqual(['m1', 'm2']);
      expect(getReceipts(upgraded, 'm1', 'f', 0, 10).receipts).toEqual([{ messageId: 'm1', agentId: 'b', action: 'seen', note: 'old', recordedAt: 7 }]);
      // Writers that leave thread_id out (sqlite3, a legacy import) get it from the trigger.
      rawDatabase(dbPath).run("INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, type, payload, correlation_id, sent_at) VALUES ('m4', 'f', 'a', 'b', 'result', 'late reply', 'm3', 9)");
      expect(getThread(upgraded, 'm1', 'f', 0, 100).messages.map((m) => m.id)).toEqual(['m3', 'm1', 'm2', 'm4']);
      expect(searchMessages(upgraded, 'late', { literal: false, fleetId: null, fromAgentId: null, toAgentId: null, sinceMs: null, limit: 10 }).hits.map((h) => h.messageId)).toEqual(['m4']);
    } finally {
      upgraded.close();
    }
  });

  it.skipIf(!hasSqliteCli())('the stock sqlite3 CLI reads the new tables, views, triggers and the full-text index', async () => {
    openStore(dbPath).close();
    const h = await startHarness({}, { dir, dbPath });
    try {
      const { fleet_id: fleetId, agent_ids: [lead, coder] } = await h.ok('spawn_fleet', { agents: [{ role: 'l', prompt: 'p' }, { role: 'c', prompt: 'p' }] });
      const root = (await h.ok('send_message', { fleet_id: fleetId, from_agent_id: lead, to_agent_id: coder, type: 'handoff', payload: 'refactor the parser', subject: 'Parser' })).message_id;
      await h.ok('receipt', { agent_id: coder, message_id: root, action: 'started' });
      const council = await h.ok('open_council', { fleet_id: fleetId, from_agent_id: lead, subject: 'merge it', quorum: 1 });
      await h.ok('cast_vote', { message_id: council.council_id, agent_id: coder, approve: true });
      // New messages wait in messages_fts_pending until a tick or a search indexes them.
      await eventually(() => expect(rawDatabase(dbPath).value('SELECT count(*) FROM messages_fts_pending')).toBe(0));
    } finally {
      await h.close();
    }
    const cli = (sql: string) => {
      const run = spawnSync('sqlite3', [dbPath, sql], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      return run.stdout.trim();
    };
    expect(cli("SELECT id FROM messages WHERE seq IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'parser')")).not.toBe('');
    expect(cli('SELECT subject, messages FROM threads ORDER BY first_sent_at')).toBe('Parser|1\nmerge it|1');
    expect(cli('SELECT action FROM message_receipts')).toBe('started');
    expect(cli('SELECT status, approvals, total_weight FROM council_tally')).toBe('ratified|1|1');
    expect(cli('SELECT vote, votes_cast FROM council_ballots')).toBe('approve|1');
    expect(cli("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1); PRAGMA integrity_check;")).toBe('ok');
  });
});

describe('schema 11 → 12', () => {
  it('keeps every existing agent a local one, never seen over HTTP, and starts with no operator tokens', () => {
    upgradeFrom(11, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status, token_hash) VALUES ('a', 'f', 'r', 'p', 'running', 'abc');`);
    expect(queryDb(dbPath, 'SELECT id, runtime, last_seen_at FROM agents')).toEqual([{ id: 'a', runtime: null, last_seen_at: null }]);
    expect(queryDb(dbPath, 'SELECT count(*) AS n FROM operator_tokens')).toEqual([{ n: 0 }]);
    const conn = new BetterSqlite3(dbPath);
    try {
      expect(() => conn.prepare("UPDATE agents SET runtime = 'ssh'").run()).toThrow(/CHECK constraint/);
      // The token lookup of every HTTP request is an index search, not a scan of agents.
      expect(conn.prepare("EXPLAIN QUERY PLAN SELECT id FROM agents WHERE token_hash = 'abc'").all()).toEqual([expect.objectContaining({ detail: expect.stringContaining('USING INDEX agents_by_token') })]);
    } finally {
      conn.close();
    }
  });
});

// The people views' migration, by name: its number follows whatever lands before it.
const VIEWS = loadMigrations().find((m) => m.name.endsWith('-people-views.sql'))!.version;

describe(`schema ${VIEWS - 1} → ${VIEWS}`, () => {
  it('adds views only: outcomes recorded before the upgrade show in agent_scores with route_work\'s factor', () => {
    upgradeFrom(VIEWS - 1, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status, attempts, started_at, completed_at) VALUES ('a', 'f', 'coder', 'p', 'complete', 1, 10, 70);
      INSERT INTO routing_outcomes (agent_id, capability_key, succeeded, recorded_at) VALUES
        ('a', 'React', 1, 1), ('a', 'react', 1, 2), ('a', 'react', 1, 3), ('a', 'react', 1, 4), ('a', 'react', 1, 5), ('a', 'react', 0, 6);`);
    const expected = outcomeFactor(5, 6);
    expect(queryDb(dbPath, 'SELECT agent_id, fleet_id, role, capability_key, successes, failures, factor, wilson_lower, wilson_upper FROM agent_scores')).toEqual([{
      agent_id: 'a', fleet_id: 'f', role: 'coder', capability_key: 'react', successes: 5, failures: 1,
      factor: expected.factor, wilson_lower: expected.lower, wilson_upper: expected.upper,
    }]);
    expect(queryDb(dbPath, 'SELECT agent_id, status, run_ms FROM agent_summary')).toEqual([{ agent_id: 'a', status: 'complete', run_ms: 60 }]);
    expect(queryDb(dbPath, 'SELECT count(*) AS n FROM routing_outcomes')).toEqual([{ n: 6 }]);
  });
});

// The routing counters' migration, by name.
const GENERATIONS = loadMigrations().find((m) => m.name.endsWith('-routing-generations.sql'))!.version;

describe(`schema ${GENERATIONS - 1} → ${GENERATIONS}`, () => {
  it('routes agents registered before the upgrade, and a change from another connection is seen by the next route', () => {
    upgradeFrom(GENERATIONS - 1, `
      INSERT INTO fleets (id, status, created_at) VALUES ('f', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status) VALUES ('a1', 'f', 'coder', 'p', 'running'), ('a2', 'f', 'coder', 'p', 'running');
      INSERT INTO capabilities (agent_id, fleet_id, role, registered_at) VALUES ('a1', 'f', 'coder', 1), ('a2', 'f', 'coder', 1);
      INSERT INTO capability_skills (agent_id, position, skill) VALUES ('a1', 0, 'kafka'), ('a2', 0, 'kafka');
      INSERT INTO capability_terms (term, agent_id, field, source, part) VALUES ('coder', 'a1', 'role', 'coder', 0), ('kafka', 'a1', 'skill', 'kafka', 0),
        ('coder', 'a2', 'role', 'coder', 0), ('kafka', 'a2', 'skill', 'kafka', 0);
      INSERT INTO routing_outcomes (agent_id, capability_key, succeeded, recorded_at) VALUES ('a2', 'kafka', 1, 1), ('a2', 'kafka', 1, 2), ('a2', 'kafka', 1, 3),
        ('a2', 'kafka', 1, 4), ('a2', 'kafka', 1, 5), ('a2', 'kafka', 1, 6);`);
    expect(queryDb(dbPath, 'SELECT part FROM routing_generations ORDER BY part')).toEqual(['agents', 'outcomes', 'taxonomy', 'terms'].map((part) => ({ part })));
    const store = openStore(dbPath);
    try {
      expect(routeWork(store, 'kafka lag', { topN: 2 }).map((m) => m.agentId)).toEqual(['a2', 'a1']);
      // Without the outcomes they tie, and the id decides; then a1 ends and ranks after the live one.
      rawDatabase(dbPath).run('DELETE FROM routing_outcomes');
      expect(routeWork(store, 'kafka lag', { topN: 2 }).map((m) => m.agentId)).toEqual(['a1', 'a2']);
      rawDatabase(dbPath).run("UPDATE agents SET status = 'failed' WHERE id = 'a1'");
      expect(routeWork(store, 'kafka lag', { topN: 2 }).map((m) => [m.agentId, m.live])).toEqual([['a2', true], ['a1', false]]);
    } finally {
      store.close();
    }
  });
});
