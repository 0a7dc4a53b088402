// The old system's own ledgers live beside the repository (../shared/legacy-ledgers) when the
// workplace has them, and may not be copied in. Without them their cases are skipped under a name
// that says so, and a line on stderr says it again; stand-ins generated here with the shapes those
// ledgers add to fixtures/ run either way.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { databasePerTest, migrate, queryDb } from '../helpers/database.js';
import { SHARED_LEDGERS } from '../helpers/files.js';
import { expectLedgerImported } from '../helpers/ledger-expect.js';

let dir: string;
let db: string;
databasePerTest((paths) => ({ dir, db } = paths));

const query = <T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[] => queryDb<T>(db, sql, ...params);

const sharedLedgers = existsSync(SHARED_LEDGERS) ? readdirSync(SHARED_LEDGERS).filter((f) => f.endsWith('.json')).sort() : [];
const hasTampered = sharedLedgers.includes('tampered-timestamps.json');
const ABSENT = `not run, ${SHARED_LEDGERS} is absent`;
if (sharedLedgers.length === 0) {
  console.warn(`test/store/legacy-shared-ledgers.test.ts: the old system's own ledgers were ${ABSENT}; only their stand-ins ran.`);
}

describe('meshfleet migrate imports the old system\'s own ledgers', () => {
  if (sharedLedgers.length > 0) {
    it.each(sharedLedgers)('the old system\'s own %s', (name) => {
      const result = migrate(join(SHARED_LEDGERS, name), '--db', db);
      expect(result.code).toBe(0);
      expectLedgerImported(db, join(SHARED_LEDGERS, name));
    });
  } else {
    it.skip(`the old system's own ledgers, every record: ${ABSENT}`, () => {});
  }

  it.skipIf(!hasTampered)(hasTampered ? 'reports the old system\'s tampered timestamps' : `reports the old system's tampered timestamps: ${ABSENT}`, () => {
    const result = migrate(join(SHARED_LEDGERS, 'tampered-timestamps.json'), '--db', db);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('agents["a1"].completed_at: completed (500) before it started (1000)');
    expect(query("SELECT started_at, completed_at FROM agents WHERE id = 'a1'")).toEqual([{ started_at: 1000, completed_at: 500 }]);
  });
});

describe('stand-ins with the shapes of the old system\'s ledgers, generated here (run with or without ../shared)', () => {
  function writeLedger(ledger: object): string {
    const path = join(dir, 'stand-in.json');
    writeFileSync(path, JSON.stringify(ledger, null, 2));
    return path;
  }

  it('an agent that completed before it started, and started before its fleet existed: imported as it was, both reported', () => {
    const path = writeLedger({
      fleets: { 'f-skew': { id: 'f-skew', status: 'running', created_at: 5_000 } },
      agents: { skewed: { id: 'skewed', fleet_id: 'f-skew', role: 'worker', status: 'complete', prompt: 'p', started_at: 3_000, completed_at: 2_500 } },
      messages: {}, inboxes: {}, capabilities: {}, receipts: {}, ratifications: {}, templates: {},
    });
    const result = migrate(path, '--db', db);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('agents["skewed"].completed_at: completed (2500) before it started (3000)');
    expect(result.stdout).toContain('agents["skewed"].started_at: started (3000) before its fleet was created (5000)');
    expectLedgerImported(db, path, { attempts: { skewed: 1 }, deliveries: {}, templates: {} });
  });

  it('a v2 ledger with an acknowledged direct message, a broadcast one recipient saw, an r-ack receipt with a note and a settled ratification', () => {
    const agent = (role: string, status: string) => ({ fleet_id: 'f-v2', role, prompt: role, status, started_at: 10 });
    const message = (from: string, to: string, timestamp: number, extra: object) =>
      ({ from_agent_id: from, to_agent_id: to, fleet_id: 'f-v2', type: 'question', payload: `sent at ${timestamp}`, timestamp, ...extra });
    const receipt = (messageId: string, agentId: string, action: string, timestamp: number, note?: string) =>
      ({ [`${messageId}:${agentId}:${action}`]: { message_id: messageId, agent_id: agentId, action, timestamp, ...(note === undefined ? {} : { note }) } });
    const path = writeLedger({
      schema_version: 2,
      fleets: { 'f-v2': { status: 'running', created_at: 1 } },
      agents: { lead: agent('lead', 'complete'), 'rev-1': agent('reviewer', 'running'), 'rev-2': agent('reviewer', 'running') },
      messages: {
        direct: message('lead', 'rev-1', 100, { acknowledged: true }),
        vote: message('lead', '*', 200, { acknowledged: false, recipients: ['rev-1', 'rev-2'] }),
      },
      inboxes: { lead: [], 'rev-1': ['vote'], 'rev-2': ['vote'] },
      receipts: { ...receipt('direct', 'rev-1', 'ack', 110), ...receipt('vote', 'rev-1', 'r-ack', 210, 'lgtm'), ...receipt('vote', 'rev-2', 'seen', 205) },
      ratifications: { vote: { message_id: 'vote', proposer: 'lead', quorum: 1, voters: ['rev-1', 'rev-2'], status: 'ratified', resolved_at: 220 } },
      templates: { 'pair@v1': { name: 'pair', version: 1, agents: [{ role: 'reviewer', prompt: 'review' }], created_at: 1 } },
    });
    const result = migrate(path, '--db', db);
    expect(result.code).toBe(0);
    expectLedgerImported(db, path, {
      attempts: { lead: 1, 'rev-1': 1, 'rev-2': 1 },
      deliveries: { direct: ['rev-1 acked at 110'], vote: ['rev-1 pending', 'rev-2 pending, read 205'] },
      templates: { 'pair@v1': 'pair@1' },
    });
  });
});
