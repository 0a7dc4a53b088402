// A process that dies mid-write (kill -9, the OOM killer, a closed laptop lid) must leave the
// database as it was before the write or with the whole write in it: a batch and a legacy import
// are each one transaction. The children stop at a moment they report on stdout, and are killed there.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { legacyLedger } from '../../bench/fixtures.js';
import { createFleet } from '../../src/mesh/fleets.js';
import { getInbox, sendMessage } from '../../src/mesh/messages.js';
import { verifyLedger } from '../../src/mesh/verify.js';
import { openStore } from '../../src/store/open.js';
import { packageRoot } from '../../src/store/package-root.js';
import { startNode, type WatchedChild } from '../helpers/children.js';
import { databasePerTest, rawDatabase } from '../helpers/database.js';
import { CLI, dumpDatabase, FIXTURES, runCli } from '../helpers/files.js';
import type { DerivedExpectations } from '../helpers/ledger-derived.js';
import { expectLedgerImported } from '../helpers/ledger-expect.js';

const HELPERS = join(packageRoot, 'test', 'helpers');
const BATCH = 10_000;
const LEDGER_MESSAGES = 20_000;

let dir: string;
let dbPath: string;
const children: WatchedChild[] = [];
databasePerTest((paths) => ({ dir, db: dbPath } = paths));
afterEach(async () => {
  for (const child of children.splice(0)) await child.kill9();
});

function start(args: string[], env: NodeJS.ProcessEnv = {}): WatchedChild {
  const child = startNode(args, env);
  children.push(child);
  return child;
}

/** What a user would check first after a crash; the store opening at all comes before it. */
function integrity(path: string): string[] {
  const db = new BetterSqlite3(path);
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[]).map((row) => row.integrity_check);
  } finally {
    db.close();
  }
}

function count(path: string, sql: string, ...params: unknown[]): number {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    return db.prepare(sql).pluck().get(...params) as number;
  } finally {
    db.close();
  }
}

describe('a process killed with SIGKILL during a 10,000-message send_messages batch', () => {
  let fleetId: string;
  let sender: string;
  let recipient: string;
  beforeEach(() => {
    const store = openStore(dbPath);
    const { fleet, agents } = createFleet(store, [{ role: 'sender', prompt: 'p' }, { role: 'recipient', prompt: 'q' }]);
    [fleetId, sender, recipient] = [fleet.id, agents[0]!.id, agents[1]!.id];
    sendMessage(store, { fleetId, fromAgentId: sender, toAgentId: recipient, type: 'handoff', payload: 'sent before the batch' });
    store.close();
  });

  it('inside the transaction, half the batch inserted: none of the batch is stored, the database is whole and takes the next send', async () => {
    const child = start([join(HELPERS, 'send-batch-child.mjs'), dbPath, fleetId, sender, recipient, String(BATCH), 'inside']);
    expect(await child.line(/^inside \d+$/)).toBe(`inside ${BATCH / 2}`);
    // The open transaction has outgrown the page cache: part of it is already in the WAL file.
    expect(statSync(`${dbPath}-wal`).size).toBeGreaterThan(1_000_000);
    // verify reads beside the open write transaction, without waiting for its lock, and sees none of it.
    const during = runCli(['verify', '--db', dbPath, '--json']);
    expect(during.code, during.stderr).toBe(0);
    expect(JSON.parse(during.stdout).counts.messages).toBe(1);
    await child.kill9();

    const store = openStore(dbPath);
    const raw = rawDatabase(dbPath);
    try {
      expect(raw.value("SELECT count(*) FROM messages WHERE payload LIKE 'batch %'")).toBe(0);
      expect(raw.value('SELECT count(*) FROM deliveries')).toBe(1);
      expect(raw.value("SELECT count(*) FROM events WHERE kind = 'messages_sent'")).toBe(0);
      sendMessage(store, { fleetId, fromAgentId: sender, toAgentId: recipient, type: 'result', payload: 'sent after the crash' });
      expect(getInbox(store, recipient).messages.map((m) => m.payload)).toEqual(['sent before the batch', 'sent after the crash']);
      // No link of the lost half-batch was left behind, and the next send chained on.
      expect(verifyLedger(store)).toMatchObject({ ok: true, warnings: 0, chain: { firstProblem: null } });
    } finally {
      store.close();
    }
    expect(integrity(dbPath)).toEqual(['ok']);
  }, 120_000);

  it('right after the batch committed: all of it is stored, in order, and the database takes the next send', async () => {
    const child = start([join(HELPERS, 'send-batch-child.mjs'), dbPath, fleetId, sender, recipient, String(BATCH), 'committed']);
    expect(await child.line(/^committed \d+$/)).toBe(`committed ${BATCH}`);
    await child.kill9();
    // Killed with its connection open: the commit lives only in the WAL, never checkpointed.
    expect(existsSync(`${dbPath}-wal`)).toBe(true);

    const store = openStore(dbPath);
    const raw = rawDatabase(dbPath);
    try {
      const payloads = raw.values("SELECT payload FROM messages WHERE payload LIKE 'batch %' ORDER BY seq") as string[];
      expect(payloads).toHaveLength(BATCH);
      expect(payloads.every((p, i) => p.startsWith(`batch ${i} `))).toBe(true);
      expect(raw.value('SELECT count(*) FROM inbox WHERE agent_id = ?', recipient)).toBe(BATCH + 1);
      expect(raw.values("SELECT data FROM events WHERE kind = 'messages_sent'")).toEqual([JSON.stringify({ count: BATCH })]);
      sendMessage(store, { fleetId, fromAgentId: sender, toAgentId: recipient, type: 'result', payload: 'sent after the crash' });
      expect(raw.value('SELECT count(*) FROM messages')).toBe(BATCH + 2);
      expect(verifyLedger(store)).toMatchObject({ ok: true, warnings: 0, chain: { firstProblem: null } });
    } finally {
      store.close();
    }
    expect(integrity(dbPath)).toEqual(['ok']);
  }, 120_000);
});

describe('meshfleet migrate killed with SIGKILL while importing a 20,000-message ledger', () => {
  let ledgerPath: string;
  let before: Record<string, unknown[]>;
  beforeEach(() => {
    ledgerPath = join(dir, 'big.json');
    writeFileSync(ledgerPath, JSON.stringify(legacyLedger(LEDGER_MESSAGES)));
    // An earlier import the crash must not disturb.
    expect(runCli(['migrate', join(FIXTURES, 'ledger-v0.json'), '--db', dbPath]).code).toBe(0);
    before = dumpDatabase(dbPath);
  }, 60_000);

  /**
   * What the import derives for bench/fixtures.ts's generated ledger, from the generator's own
   * rules: every agent started once and never retried; every even message was acknowledged by its
   * one recipient, every odd one waits in that recipient's inbox.
   */
  function generatedExpectations(): DerivedExpectations {
    const ledger = JSON.parse(readFileSync(ledgerPath, 'utf8')) as { agents: Record<string, unknown>; messages: Record<string, { to_agent_id: string }> };
    return {
      attempts: Object.fromEntries(Object.keys(ledger.agents).map((id) => [id, 1])),
      deliveries: Object.fromEntries(Object.entries(ledger.messages).map(([id, m], i) => [id, [`${m.to_agent_id} ${i % 2 === 0 ? 'acked' : 'pending'}`]])),
      templates: {},
    };
  }

  /** The next run imports everything, and the database holds both ledgers exactly. */
  function expectRerunCompletes(): void {
    const rerun = runCli(['migrate', ledgerPath, '--db', dbPath, '--json']);
    expect(rerun.stderr).toBe('');
    expect(rerun.code).toBe(0);
    expect(JSON.parse(rerun.stdout).counts.messages).toEqual({ imported: LEDGER_MESSAGES, present: 0 });
    expectLedgerImported(dbPath, ledgerPath, generatedExpectations());
    expectLedgerImported(dbPath, join(FIXTURES, 'ledger-v0.json'));
    expect(count(dbPath, 'SELECT count(*) FROM legacy_imports')).toBe(2);
    expect(integrity(dbPath)).toEqual(['ok']);
  }

  it('half way through the messages: nothing of the ledger is stored, and a re-run imports all of it', async () => {
    const child = start(['--import', pathToFileURL(join(HELPERS, 'pause-import.mjs')).href, CLI, 'migrate', ledgerPath, '--db', dbPath],
      { MESHFLEET_TEST_PAUSE_AFTER_MESSAGES: String(LEDGER_MESSAGES / 2) });
    await child.line(/^paused after \d+ messages$/);
    await child.kill9();

    openStore(dbPath).close(); // as the next command would: recovers the WAL
    expect(integrity(dbPath)).toEqual(['ok']);
    expect(dumpDatabase(dbPath)).toEqual(before);
    expectRerunCompletes();
  }, 180_000);

  it('at whatever moment the write lock is first seen held: the ledger is stored whole (with its legacy_imports row) or not at all', async () => {
    const watcher = new BetterSqlite3(dbPath, { timeout: 0 });
    try {
      const child = start([CLI, 'migrate', ledgerPath, '--db', dbPath]);
      // The import's transaction holds the write lock from its start to its commit.
      for (;;) {
        try {
          watcher.exec('BEGIN IMMEDIATE; ROLLBACK');
        } catch (err) {
          if ((err as { code?: string }).code === 'SQLITE_BUSY') break;
          throw err;
        }
        if (child.child.exitCode !== null) throw new Error(`migrate ended before it was seen writing; stderr: ${child.stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await child.kill9();
    } finally {
      watcher.close();
    }

    openStore(dbPath).close();
    expect(integrity(dbPath)).toEqual(['ok']);
    if (count(dbPath, 'SELECT count(*) FROM legacy_imports') === 2) {
      expectLedgerImported(dbPath, ledgerPath, generatedExpectations());
      expect(runCli(['migrate', ledgerPath, '--db', dbPath]).stdout).toContain('nothing changed');
    } else {
      expect(dumpDatabase(dbPath)).toEqual(before);
      expectRerunCompletes();
    }
  }, 180_000);
});
