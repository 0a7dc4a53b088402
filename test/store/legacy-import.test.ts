import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { databasePerTest, migrate, queryDb } from '../helpers/database.js';
import { dumpDatabase, FIXTURES, hasSqliteCli, runCli, sha256 } from '../helpers/files.js';
import { expectLedgerImported } from '../helpers/ledger-expect.js';

let dir: string;
let db: string;
databasePerTest((paths) => ({ dir, db } = paths));

const fixture = (name: string) => join(FIXTURES, name);
const fixtureLedgers = readdirSync(FIXTURES).filter((f) => f.startsWith('ledger-')).sort();
const query = <T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[] => queryDb<T>(db, sql, ...params);

function writeLedger(name: string, ledger: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof ledger === 'string' ? ledger : JSON.stringify(ledger, null, 2));
  return path;
}

describe('meshfleet migrate imports every record', () => {
  it.each(fixtureLedgers)('fixtures/%s, without changing the file', (name) => {
    const before = sha256(fixture(name));
    const result = migrate(fixture(name), '--db', db);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expectLedgerImported(db, fixture(name));
    expect(sha256(fixture(name))).toBe(before);
  });

  it('all fixtures into one database, side by side', () => {
    for (const name of fixtureLedgers) expect(migrate(fixture(name), '--db', db).code).toBe(0);
    for (const name of fixtureLedgers) expectLedgerImported(db, fixture(name));
    expect(query('SELECT count(*) AS n FROM legacy_imports')).toEqual([{ n: fixtureLedgers.length }]);
  });
});

describe('meshfleet migrate keeps each recipient\'s own delivery state', () => {
  it('a v2 broadcast is one message with a delivery per recipient; receipts give read and ack times', () => {
    expect(migrate(fixture('ledger-v2.json'), '--db', db).code).toBe(0);
    expect(query("SELECT count(*) AS n FROM messages WHERE id = 'v-plan'")).toEqual([{ n: 1 }]);
    expect(query(`SELECT d.agent_id, d.acked, d.read_at, d.acked_at FROM deliveries d JOIN messages m ON m.seq = d.message_seq
                  WHERE m.id = 'v-plan' ORDER BY d.agent_id`)).toEqual([
      { agent_id: 'r-rev', acked: 0, read_at: 1721000110000, acked_at: null }, // still in its inbox, seen
      { agent_id: 'r-test', acked: 1, read_at: null, acked_at: 1721000120000 }, // acknowledged with a receipt
    ]);
    expect(query("SELECT agent_id, message_id FROM inbox WHERE fleet_id = 'f-rel'")).toEqual([
      { agent_id: 'r-lead', message_id: 'v-done' }, { agent_id: 'r-rev', message_id: 'v-plan' },
    ]);
  });

  it('a v1 acknowledged flag becomes acknowledged deliveries, but an inbox that still holds the message keeps it pending', () => {
    expect(migrate(fixture('ledger-v1.json'), '--db', db).code).toBe(0);
    // x-freeze was broadcast to the fleet; s-ui acknowledged it (setting the one global flag),
    // s-qa never did and still had it in its inbox.
    expect(query(`SELECT d.agent_id, d.acked, d.acked_at FROM deliveries d JOIN messages m ON m.seq = d.message_seq
                  WHERE m.id = 'x-freeze' ORDER BY d.agent_id`)).toEqual([
      { agent_id: 's-qa', acked: 0, acked_at: null },
      { agent_id: 's-ui', acked: 1, acked_at: null },
    ]);
  });

  it('fleet_summary counts agents by status and messages per fleet', () => {
    expect(migrate(fixture('ledger-v1.json'), '--db', db).code).toBe(0);
    expect(query('SELECT * FROM fleet_summary')).toEqual([{
      fleet_id: 'f-shop', status: 'running', created_at: 1711000000000, completed_at: null, agents: 3, agents_pending: 0,
      agents_running: 1, agents_complete: 1, agents_failed: 0, agents_interrupted: 1, messages: 4,
    }]);
  });
});

describe('meshfleet migrate keeps what it does not model yet', () => {
  it('ratifications, unknown fields of records and of the ledger land in legacy_extras', () => {
    expect(migrate(fixture('ledger-v2.json'), '--db', db).code).toBe(0);
    const extras = Object.fromEntries(query<{ kind: string; record_key: string; body: string }>('SELECT * FROM legacy_extras')
      .map((row) => [`${row.kind} ${row.record_key}`, JSON.parse(row.body)]));
    expect(extras).toEqual({
      'ledger.fields ': { mesh_name: 'team-alpha' },
      'agents.fields r-rev': { heartbeat_at: 1721000900000 },
      'capabilities.fields r-rev': { reputation: 0.9 },
      'template_agents.fields release@v2/1': { model: 'opus' },
      'ratification v-plan': expect.objectContaining({ proposer: 'r-lead', quorum: 2, required_signoffs: ['r-rev'], status: 'open' }),
    });
  });

  it('v0 templates keyed by bare name arrive as version 1; v2 keeps every version', () => {
    expect(migrate(fixture('ledger-v0.json'), '--db', db).code).toBe(0);
    expect(migrate(fixture('ledger-v2.json'), '--db', db).code).toBe(0);
    expect(query('SELECT name, version FROM templates ORDER BY name, version')).toEqual([
      { name: 'docs-pair', version: 1 }, { name: 'release', version: 1 }, { name: 'release', version: 2 },
    ]);
  });
});

describe('meshfleet migrate is exact about awkward text', () => {
  it('keeps NUL characters, emoji and every script byte for byte; reports the unpaired surrogate it cannot store', () => {
    const result = migrate(fixture('ledger-v1-unicode.json'), '--db', db);
    expect(result.code).toBe(0);
    const [nul] = query<{ payload: string }>("SELECT payload FROM messages WHERE id = 'u-nul'");
    expect(nul!.payload).toBe('before\u0000after\u0000\u0000end');
    const [emoji] = query<{ payload: string }>("SELECT payload FROM messages WHERE id = 'u-emoji'");
    expect(emoji!.payload).toBe('deploy 🚀🔥 done ✅ 👩🏽‍💻 family: 👨‍👩‍👧‍👦');
    expect(result.stdout).toContain('messages["u-lone"].payload: holds an unpaired UTF-16 surrogate');
    expect(query("SELECT payload FROM messages WHERE id = 'u-lone'")).toEqual([{ payload: 'half a pair: \ufffd then text' }]);
  });

  it('an unpaired surrogate anywhere is reported where it was, and a second import still changes nothing', () => {
    const ledger = JSON.parse(readFileSync(fixture('ledger-v1.json'), 'utf8'));
    ledger.agents['s-ui'].prompt = 'build the cart page \ud800';
    const path = writeLedger('lone.json', JSON.stringify(ledger)); // JSON.stringify escapes it as \ud800
    const first = migrate(path, '--db', db);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('agents["s-ui"].prompt: holds an unpaired UTF-16 surrogate');
    expect(query("SELECT prompt FROM agents WHERE id = 's-ui'")).toEqual([{ prompt: 'build the cart page \ufffd' }]);
    const second = migrate(path, '--db', db);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('nothing changed');
  });

  it('a 64 KiB payload arrives whole; an oversize one the old server let through arrives whole and is reported', () => {
    const result = migrate(fixture('ledger-v2-big-payloads.json'), '--db', db);
    expect(result.code).toBe(0);
    expect(query("SELECT id, length(CAST(payload AS BLOB)) AS bytes FROM messages ORDER BY seq")).toEqual([
      { id: 'b-64k', bytes: 65_536 }, { id: 'b-over', bytes: 70_000 },
    ]);
    expect(result.stdout).toContain('messages["b-over"].payload: is 70000 bytes, over today\'s limit of 65536; imported whole');
  });
});

describe('meshfleet migrate reports legal but odd history', () => {
  it('lists every anomaly and imports what it can', () => {
    const result = migrate(fixture('ledger-v1-dangling.json'), '--db', db);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => line.startsWith('  - '));
    expect(lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/^ {2}- inboxes\["o-1"\]\[0\]: message "m-deleted" is not in the ledger/),
      expect.stringMatching(/^ {2}- inboxes\["o-ghost"\]: agent "o-ghost" is not in the ledger/),
      expect.stringMatching(/^ {2}- messages\["d-early"\]\.timestamp: sent \(1700500040000\) before/),
      expect.stringMatching(/^ {2}- messages\["d-lost"\]: not acknowledged, yet not in the inbox of "o-1"/),
      expect.stringMatching(/^ {2}- capabilities\["o-gone"\]: agent "o-gone" is not in the ledger/),
      expect.stringMatching(/^ {2}- fleets\["f-old"\]\.completed_at: completed \(1700400000000\) before it was created/),
      expect.stringMatching(/^ {2}- agents\["o-2"\]\.fleet_id: fleet "f-gone" is not in the ledger/),
      expect.stringMatching(/^ {2}- messages\["d-late"\]\.type: "status" is not one of/),
    ]));
    expect(lines).toHaveLength(12);
    expect(query("SELECT body FROM legacy_extras WHERE kind = 'inbox_entry'")).toEqual([
      { body: JSON.stringify({ agent_id: 'o-1', message_id: 'm-deleted', position: 0 }) },
    ]);
    expect(query("SELECT agent_id, message_id FROM inbox ORDER BY agent_id, message_id")).toEqual([
      { agent_id: 'o-1', message_id: 'd-early' }, { agent_id: 'o-ghost', message_id: 'd-early' }, { agent_id: 'o-ghost', message_id: 'd-late' },
    ]);
    // The report is kept with the import, for whoever asks later.
    const [kept] = query<{ report: string }>('SELECT report FROM legacy_imports');
    expect(JSON.parse(kept!.report).anomalies).toHaveLength(12);
  });
});

describe('meshfleet migrate is all or nothing, and idempotent', () => {
  it('a second run changes nothing and says so', () => {
    expect(migrate(fixture('ledger-v2.json'), '--db', db).code).toBe(0);
    const before = dumpDatabase(db);
    const again = migrate(fixture('ledger-v2.json'), '--db', db, '--json');
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout);
    expect(report.changed).toBe(false);
    expect(report.counts.messages).toEqual({ imported: 0, present: 3 });
    expect(report.counts.deliveries).toEqual({ imported: 0, present: 5 });
    expect(dumpDatabase(db)).toEqual(before);
    expect(migrate(fixture('ledger-v2.json'), '--db', db).stdout).toContain('nothing changed');
  });

  it('--dry-run prints the report and creates no database', () => {
    const result = migrate(fixture('ledger-v1.json'), '--db', db, '--dry-run');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Dry run: nothing was written\./);
    expect(result.stdout).toMatch(/messages\s+4\s+0/);
    expect(existsSync(db)).toBe(false);
  });

  it('--dry-run on an existing database leaves it as it was', () => {
    expect(migrate(fixture('ledger-v0.json'), '--db', db).code).toBe(0);
    const before = dumpDatabase(db);
    const result = migrate(fixture('ledger-v1.json'), '--db', db, '--dry-run', '--json');
    expect(JSON.parse(result.stdout)).toMatchObject({ dry_run: true, changed: true, counts: { messages: { imported: 4, present: 0 } } });
    expect(dumpDatabase(db)).toEqual(before);
  });

  it('a record that conflicts with what the database holds stops the whole import', () => {
    expect(migrate(fixture('ledger-v1.json'), '--db', db).code).toBe(0);
    const before = dumpDatabase(db);
    const ledger = JSON.parse(readFileSync(fixture('ledger-v1.json'), 'utf8'));
    ledger.fleets['f-new'] = { id: 'f-new', status: 'running', created_at: 1 };
    ledger.messages['x-ask'].payload = 'currency in euros?';
    const result = migrate(writeLedger('edited.json', ledger), '--db', db);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('messages["x-ask"]: the database already holds this messages row with a different payload');
    expect(dumpDatabase(db)).toEqual(before); // f-new did not arrive either
  });
});

describe('meshfleet migrate refuses what it cannot read, naming the record and field', () => {
  const v1 = () => JSON.parse(readFileSync(fixture('ledger-v1.json'), 'utf8'));
  const cases: [string, () => unknown, RegExp][] = [
    ['broken JSON', () => '{"fleets": {"f": ', /the file is not valid JSON/],
    ['an array instead of a ledger', () => '[]', /the file holds an array, not a ledger object/],
    ['a wrong type', () => { const l = v1(); l.agents['s-ui'].status = 5; return l; }, /agents\["s-ui"\]\.status: .*found 5/],
    ['a missing field', () => { const l = v1(); delete l.messages['x-bug'].payload; return l; }, /messages\["x-bug"\]\.payload: expected string, received undefined/],
    ['a non-integer timestamp', () => { const l = v1(); l.fleets['f-shop'].created_at = 'yesterday'; return l; }, /fleets\["f-shop"\]\.created_at: .*found "yesterday"/],
    ['schema_version 3', () => ({ ...v1(), schema_version: 3 }), /schema_version: 3 is not a ledger version Meshfleet knows/],
    ['schema_version as a string', () => ({ ...v1(), schema_version: '2' }), /schema_version: "2" is not a ledger version/],
    ['a record keyed under another id', () => { const l = v1(); l.agents['s-ui'].id = 's-qa'; return l; }, /agents\["s-ui"\]\.id: is "s-qa" but the record is keyed "s-ui"/],
    ['a template key that is not name@vN', () => { const l = { ...v1(), schema_version: 2, templates: { 'x@v1': { name: 'y', version: 1, agents: [] } } }; return l; }, /templates\["x@v1"\]: the key does not match/],
  ];

  it.each(cases)('%s: exit 1, a clear message, no database written', (_, ledger, message) => {
    const path = writeLedger('bad.json', ledger());
    const before = sha256(path);
    const result = migrate(path, '--db', db);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Nothing was imported');
    expect(result.stderr.trim().split('\n')).toHaveLength(2); // the problem and what to do; no stack
    expect(existsSync(db)).toBe(false);
    expect(sha256(path)).toBe(before);
  });

  it('a missing file is a clear error', () => {
    const result = migrate(join(dir, 'nope.json'), '--db', db);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('there is no such file');
  });
});

describe('meshfleet migrate without a file', () => {
  it('imports AGENT_MESH_DATA_FILE', () => {
    const result = runCli(['migrate', '--db', db], { AGENT_MESH_DATA_FILE: fixture('ledger-v0.json') });
    expect(result.code).toBe(0);
    expectLedgerImported(db, fixture('ledger-v0.json'));
  });

  it('imports the old default ledger under the home folder, into MESHFLEET_DB', () => {
    mkdirSync(join(dir, '.config', 'opencode'), { recursive: true });
    writeFileSync(join(dir, '.config', 'opencode', 'agent-mesh.json'), readFileSync(fixture('ledger-v1.json')));
    const result = runCli(['migrate'], { HOME: dir, MESHFLEET_DB: db });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(join(dir, '.config', 'opencode', 'agent-mesh.json'));
    expectLedgerImported(db, fixture('ledger-v1.json'));
  });

  it('says there is nothing to import when there is no old ledger', () => {
    const result = runCli(['migrate'], { HOME: dir, MESHFLEET_DB: db });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('nothing to import');
    expect(existsSync(db)).toBe(false);
  });
});

describe('a large ledger', () => {
  it('imports a 10,000-message v1 ledger completely', () => {
    const agents = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`a${i}`, {
      id: `a${i}`, fleet_id: 'f', role: `r${i}`, prompt: 'p', status: 'running',
    }]));
    const messages: Record<string, unknown> = {};
    const inboxes: Record<string, string[]> = Object.fromEntries(Object.keys(agents).map((id) => [id, []]));
    for (let i = 0; i < 10_000; i++) {
      const to = `a${(i + 1) % 10}`;
      messages[`m${i}`] = { id: `m${i}`, from_agent_id: `a${i % 10}`, to_agent_id: to, fleet_id: 'f', type: 'handoff', payload: `step ${i}`, timestamp: 1_700_000_000_000 + i, acknowledged: i % 2 === 0 };
      if (i % 2 === 1) inboxes[to]!.push(`m${i}`);
    }
    const path = writeLedger('big.json', { schema_version: 1, fleets: { f: { id: 'f', status: 'running', created_at: 1 } }, agents, messages, inboxes, capabilities: {} });
    const result = migrate(path, '--db', db, '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).deliveries).toEqual({ pending: 5_000, acknowledged: 5_000 });
    expect(query('SELECT count(*) AS n FROM inbox')).toEqual([{ n: 5_000 }]);
    expect(query("SELECT count(*) AS n FROM inbox WHERE agent_id = 'a4'")).toEqual([{ n: 1_000 }]); // a4 receives every i ≡ 3 (mod 10), all unacknowledged
  });
});

describe.skipIf(!hasSqliteCli())('the database at the stock sqlite3 prompt', () => {
  it('answers select * from inbox and from fleet_summary after an import', () => {
    expect(migrate(fixture('ledger-v0.json'), '--db', db).code).toBe(0);
    const inbox = spawnSync('sqlite3', [db, 'select * from inbox'], { encoding: 'utf8' });
    expect(inbox.status).toBe(0);
    expect(inbox.stdout.trim().split('\n')).toEqual([
      'd-api|m-split|f-docs|d-lead|handoff|api → d-api, guide → d-guide||1690000100000',
      'd-guide|m-split|f-docs|d-lead|handoff|api → d-api, guide → d-guide||1690000100000',
      'd-guide|m-a|f-docs|d-lead|result|friendly|thread-1|1690000300000',
    ]);
    const summary = spawnSync('sqlite3', [db, 'select fleet_id, status, agents, agents_complete, agents_failed, messages from fleet_summary'], { encoding: 'utf8' });
    expect(summary.stdout.trim().split('\n')).toEqual(['f-docs|complete|3|3|0|3', 'f-port|failed|1|0|1|1']);
  });
});
