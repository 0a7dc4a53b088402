// `meshfleet verify` as a user runs it: exit codes, --json, --export and --against, and that it
// never changes the file.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFleet } from '../../src/mesh/fleets.js';
import { sendMessages } from '../../src/mesh/messages.js';
import { loadMigrations } from '../../src/store/migrator.js';
import { openStore } from '../../src/store/open.js';
import { databasePerTest, migrationsUpTo, rawDatabase } from '../helpers/database.js';
import { dumpDatabase, FIXTURES, runCli, runCliAsync, sha256 } from '../helpers/files.js';

let dir: string;
let dbPath: string;
databasePerTest((paths) => ({ dir, db: dbPath } = paths));

function smallHistory(): string[] {
  const store = openStore(dbPath);
  try {
    const { fleet, agents } = createFleet(store, [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'p' }]);
    return sendMessages(store, [1, 2, 3].map((i) => ({ fleetId: fleet.id, fromAgentId: agents[0]!.id, toAgentId: agents[1]!.id, type: 'handoff', payload: `m${i}` }))).messageIds;
  } finally {
    store.close();
  }
}

describe('meshfleet verify', () => {
  it('a demo fleet verifies clean: exit 0, and --json gives every check with its level and result', async () => {
    const demo = await runCliAsync(['demo', '--db', dbPath]);
    expect(demo.code, demo.stderr).toBe(0);
    const run = runCli(['verify', '--db', dbPath, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(Object.keys(report)).toEqual(['database', 'checked_at', 'ok', 'errors', 'warnings', 'counts', 'checks', 'chain', 'upgraded_copy']);
    expect(report).toMatchObject({ database: dbPath, ok: true, errors: 0, warnings: 0, upgraded_copy: false });
    expect(Object.keys(report.counts)).toEqual(['fleets', 'agents', 'messages', 'deliveries', 'deliveries_pending', 'events', 'receipts', 'chain_links', 'chain_links_pruned']);
    expect(report.counts.messages).toBeGreaterThan(0);
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining([
      'deliveries_without_message', 'broadcast_missed_member', 'settled_fleet_with_live_agents', 'chain_links', 'chain_rows', 'chain_order', 'chain_coverage',
      'routing_triggers',
    ]));
    for (const check of report.checks) {
      expect(Object.keys(check)).toEqual(['name', 'level', 'passed', 'found', 'about', 'examples']);
      expect(check).toMatchObject({ passed: true, found: 0, examples: [] });
    }
    expect(report.chain).toEqual({
      head: { position: report.counts.chain_links, chain_hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
      first_problem: null, backfilled_rows: 0, started_at: expect.any(String), legacy_imports: 0,
    });
  }, 60_000);

  it('exit 1 naming the first altered row; the head is exported only from a chain that verifies, and --against catches a rewrite', () => {
    const ids = smallHistory();
    const head = join(dir, 'head.json');
    const exported = runCli(['verify', '--db', dbPath, '--export', head]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain(`Head written to ${head}`);
    const kept = JSON.parse(readFileSync(head, 'utf8'));
    const rows = rawDatabase(dbPath).value<number>('SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM events)');
    expect(kept).toMatchObject({ format: 'meshfleet-ledger-head/1', database: dbPath, position: rows, chain_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });

    rawDatabase(dbPath).run("UPDATE messages SET payload = 'changed' WHERE id = ?", ids[1]);
    const broken = runCli(['verify', '--db', dbPath, '--export', join(dir, 'second.json')]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(new RegExp(`^First problem: link \\d+: messages seq 2 \\(message "${ids[1]}"\\) was altered`, 'm'));
    expect(broken.stdout).toMatch(/^chain_rows +error +FAILED: 1$/m);
    expect(broken.stderr).toContain('the chain has errors, so its head was not written');
    expect(existsSync(join(dir, 'second.json'))).toBe(false);

    // Whoever edited it recomputes the chain: on its own it verifies, against the kept head it does not.
    rawDatabase(dbPath).run("UPDATE messages SET payload = 'm2' WHERE id = ?", ids[1]);
    rawDatabase(dbPath).run('UPDATE ledger_chain SET chain_hash = ? WHERE position = ?', 'f'.repeat(64), kept.position);
    const against = runCli(['verify', '--db', dbPath, '--against', head, '--json']);
    expect(against.code).toBe(1);
    const report = JSON.parse(against.stdout);
    expect(report.checks.find((c: { name: string }) => c.name === 'chain_head')).toMatchObject({ level: 'error', passed: false, found: 1 });
    expect(report.chain.against).toEqual({ position: kept.position, chain_hash: kept.chain_hash });
  });

  it('names a routing trigger that was dropped (a table rebuilt by hand loses its triggers): exit 1', () => {
    smallHistory();
    rawDatabase(dbPath).exec('DROP TRIGGER capability_terms_deleted_route;');
    const run = runCli(['verify', '--db', dbPath, '--json']);
    expect(run.code, run.stderr).toBe(1);
    const check = JSON.parse(run.stdout).checks.find((c: { name: string }) => c.name === 'routing_triggers');
    expect(check).toMatchObject({ level: 'error', passed: false, found: 1, examples: ['trigger "capability_terms_deleted_route"'] });
  });

  it('never changes the file it checks', () => {
    expect(runCli(['migrate', join(FIXTURES, 'ledger-v2.json'), '--db', dbPath]).code).toBe(0);
    const before = sha256(dbPath);
    const run = runCli(['verify', '--db', dbPath]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('1 legacy import(s): their rows were chained when imported, not when the old system wrote them.');
    expect(sha256(dbPath)).toBe(before);
  });

  it('checks a file of the schema before the chain on a private upgraded copy, and leaves the file as it was', () => {
    // As the release before the chain left a file: its schema, a fleet and a message.
    const chain = loadMigrations().find((m) => m.name.endsWith('-ledger-chain.sql'))!.version;
    openStore(dbPath, { migrations: migrationsUpTo(dir, chain - 1) }).close();
    rawDatabase(dbPath).exec(`
      INSERT INTO fleets (id, status, created_at) VALUES ('fleet-old', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status) VALUES ('a1', 'fleet-old', 'writer', 'p', 'running'), ('a2', 'fleet-old', 'reader', 'p', 'running');
      INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, type, payload, sent_at) VALUES ('m1', 'fleet-old', 'a1', 'a2', 'handoff', 'hello', 2);`);
    const old = dumpDatabase(dbPath);
    const copy = runCli(['verify', '--db', dbPath, '--export', join(dir, 'head.json')]);
    expect(copy.code).toBe(1);
    expect(copy.stdout).toContain('checked on a private upgraded copy');
    expect(copy.stderr).toContain('has no chain yet');
    expect(dumpDatabase(dbPath)).toEqual(old);
  });

  it('a legacy import chains what it imports, in ledger order, and a second import adds no link', () => {
    for (const ledger of ['ledger-v0.json', 'ledger-v1-dangling.json', 'ledger-v1-unicode.json', 'ledger-v2.json']) {
      const db = join(dir, `${ledger}.db`);
      expect(runCli(['migrate', join(FIXTURES, ledger), '--db', db]).code).toBe(0);
      const report = JSON.parse(runCli(['verify', '--db', db, '--json']).stdout);
      expect(report, ledger).toMatchObject({ ok: true, chain: { legacy_imports: 1, first_problem: null } });
      expect(report.counts.chain_links).toBe(report.counts.messages + report.counts.events);
      expect(rawDatabase(db).values("SELECT m.id FROM ledger_chain AS c JOIN messages AS m ON m.seq = c.ref_id WHERE c.ref_table = 'messages' ORDER BY c.position"))
        .toEqual(rawDatabase(db).values('SELECT id FROM messages ORDER BY seq'));
      expect(runCli(['migrate', join(FIXTURES, ledger), '--db', db]).code).toBe(0);
      expect(rawDatabase(db).value('SELECT count(*) FROM ledger_chain')).toBe(report.counts.chain_links);
    }
  });

  it('exit 2 for bad flags, exit 1 for a missing database or a head file that is not one', () => {
    expect(runCli(['verify', '--db', dbPath, '--bogus']).code).toBe(2);
    expect(runCli(['verify', 'extra']).code).toBe(2);
    const missing = runCli(['verify', '--db', join(dir, 'none.db')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nothing to verify');
    smallHistory();
    const noFile = runCli(['verify', '--db', dbPath, '--against', join(dir, 'nope.json')]);
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toContain('ENOENT');
    writeFileSync(join(dir, 'bad.json'), '{"format":"meshfleet-ledger-head/1","position":-1,"chain_hash":"00"}');
    const bad = runCli(['verify', '--db', dbPath, '--against', join(dir, 'bad.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('position must be a whole number, 0 or more');
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
