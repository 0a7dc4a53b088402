import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MeshError } from '../../src/mesh/errors.js';
import { attachAgent } from '../../src/mesh/fleets.js';
import { PRUNE_KINDS, pruneSettledFleets, vacuum, type PruneCounts } from '../../src/mesh/retention.js';
import { openStore, type Store } from '../../src/store/open.js';
import { packageRoot } from '../../src/store/package-root.js';
import { rawDatabase } from '../helpers/database.js';
import { dumpDatabase, tempDir } from '../helpers/files.js';
import { DAY_MS, expectedAfterPrune, seedFleet, seedRetentionMesh, type RetentionMesh } from '../helpers/retention.js';

const NOW = Date.UTC(2025, 5, 1);
const THIRTY_DAYS_MS = 30 * DAY_MS;
const CUTOFF = NOW - THIRTY_DAYS_MS;

let temp: ReturnType<typeof tempDir>;
let dbPath: string;
let store: Store;

beforeEach(() => {
  temp = tempDir();
  dbPath = join(temp.dir, 'mesh.db');
  store = openStore(dbPath);
});

afterEach(() => {
  store.close();
  temp.cleanup();
});

const prunedIds = (mesh: RetentionMesh) => [mesh.oldComplete.fleetId, mesh.oldFailed.fleetId];

describe('pruneSettledFleets', () => {
  it('removes exactly the old complete and failed fleets with all their rows, and leaves every other row as it was', () => {
    const mesh = seedRetentionMesh(store, NOW);
    const before = dumpDatabase(dbPath);
    const expected = expectedAfterPrune(before, prunedIds(mesh), CUTOFF);

    const report = pruneSettledFleets(store, { olderThanMs: THIRTY_DAYS_MS, now: NOW });

    expect(dumpDatabase(dbPath)).toEqual(expected.dump);
    expect(report.counts).toEqual(expected.counts);
    // The fixture has a row of every kind in the pruned fleets, so each count means something.
    for (const kind of PRUNE_KINDS) expect(report.counts[kind], kind).toBeGreaterThan(0);
    expect(report).toMatchObject({ cutoffAt: CUTOFF, olderThanMs: THIRTY_DAYS_MS, dryRun: false, heldBackFleets: 1 });
    const kept = rawDatabase(store.path).values('SELECT id FROM fleets ORDER BY id');
    expect(kept).toEqual([mesh.recentComplete.fleetId, mesh.runningSinceLongAgo.fleetId, mesh.settledWithRunningAgent.fleetId].sort());
  });

  it('a dry run deletes nothing and reports what the real run then deletes', () => {
    seedRetentionMesh(store, NOW);
    const before = dumpDatabase(dbPath);
    const observer = new BetterSqlite3(dbPath, { readonly: true });
    const dataVersion = () => observer.pragma('data_version', { simple: true }) as number;
    const versionBefore = dataVersion();

    const dry = pruneSettledFleets(store, { olderThanMs: THIRTY_DAYS_MS, now: NOW, dryRun: true });
    expect(dataVersion()).toBe(versionBefore); // no commit at all
    observer.close();
    expect(dumpDatabase(dbPath)).toEqual(before);

    const real = pruneSettledFleets(store, { olderThanMs: THIRTY_DAYS_MS, now: NOW });
    expect(dry).toEqual({ ...real, dryRun: true, transactions: 0 });
    expect(real.transactions).toBeGreaterThan(0);
  });

  it('a second run finds nothing left to prune', () => {
    seedRetentionMesh(store, NOW);
    pruneSettledFleets(store, { olderThanMs: THIRTY_DAYS_MS, now: NOW });
    const after = dumpDatabase(dbPath);

    const again = pruneSettledFleets(store, { olderThanMs: THIRTY_DAYS_MS, now: NOW });
    expect(Object.values(again.counts).every((n) => n === 0)).toBe(true);
    expect(again.transactions).toBe(0);
    expect(dumpDatabase(dbPath)).toEqual(after);
  });

  it('commits in several transactions and leaves the write lock free between them', () => {
    const mesh = seedRetentionMesh(store, NOW);
    const expected = expectedAfterPrune(dumpDatabase(dbPath), prunedIds(mesh), CUTOFF);
    // busy timeout 0: a write by this connection fails at once if prune holds the lock.
    const other = new BetterSqlite3(dbPath, { timeout: 0 });
    const versions: number[] = [];
    try {
      const report = pruneSettledFleets(store, {
        olderThanMs: THIRTY_DAYS_MS, now: NOW, fleetsPerTransaction: 1,
        afterCommit: ({ transactions }) => {
          versions.push(other.pragma('data_version', { simple: true }) as number);
          other.prepare("INSERT INTO events (kind, recorded_at) VALUES ('between', ?)").run(NOW + transactions);
        },
      });
      // One transaction per fleet, then one for the fleetless events.
      expect(report.transactions).toBe(3);
      // data_version moves when another connection commits: each call saw prune's new commit.
      expect(new Set(versions).size).toBe(3);
    } finally {
      other.close();
    }
    const after = dumpDatabase(dbPath);
    const between = (after.events as { kind: string }[]).filter((e) => e.kind === 'between');
    expect(between).toHaveLength(3);
    expect({ ...after, events: (after.events as { kind: string }[]).filter((e) => e.kind !== 'between') }).toEqual(expected.dump);
  });

  it('deletes a fleet bigger than the row budget over several transactions, none over budget', () => {
    const mesh = seedRetentionMesh(store, NOW);
    const expected = expectedAfterPrune(dumpDatabase(dbPath), prunedIds(mesh), CUTOFF);
    const perTransaction: number[] = [];
    let last: PruneCounts | undefined;
    const report = pruneSettledFleets(store, {
      olderThanMs: THIRTY_DAYS_MS, now: NOW, rowsPerTransaction: 7,
      afterCommit: ({ counts }) => {
        // Rows of the chunked kinds; a fleet's own row, agents and capabilities go in one last step.
        const chunked = (c?: PruneCounts) => (c === undefined ? 0
          : c.messages + c.deliveries + c.receipts + c.events + c.outcomes + c.sendKeys + c.reservations);
        perTransaction.push(chunked(counts) - chunked(last));
        last = counts;
      },
    });
    expect(dumpDatabase(dbPath)).toEqual(expected.dump);
    expect(report.counts).toEqual(expected.counts);
    expect(report.transactions).toBeGreaterThan(5);
    expect(Math.max(...perTransaction)).toBeLessThanOrEqual(7);
  });

  it('leaves alone a fleet that attach_agent re-opened between two of its transactions', () => {
    const mesh = seedRetentionMesh(store, NOW);
    const other = openStore(dbPath);
    let reopened: Record<string, unknown[]> | undefined;
    try {
      const report = pruneSettledFleets(store, {
        olderThanMs: THIRTY_DAYS_MS, now: NOW, fleetsPerTransaction: 1,
        afterCommit: ({ transactions }) => {
          if (transactions !== 1) return;
          attachAgent(other, mesh.oldFailed.fleetId, { role: 'late', prompt: 'one more thing' }, NOW);
          reopened = dumpDatabase(dbPath);
        },
      });
      expect(report.counts.fleets).toBe(1);
    } finally {
      other.close();
    }
    // The first transaction took the older fleet; after the attach, only old fleetless events went.
    expect(reopened!.fleets).toHaveLength(4);
    expect(dumpDatabase(dbPath)).toEqual(expectedAfterPrune(reopened!, [], CUTOFF).dump);
    expect(rawDatabase(store.path).value('SELECT status FROM fleets WHERE id = ?', mesh.oldFailed.fleetId)).toBe('running');
  });

  it('never keeps a writer in another process waiting until its busy timeout', { timeout: 120_000 }, async () => {
    const fleets = Array.from({ length: 60 }, (_, i) => seedFleet(store, NOW - 60 * DAY_MS + i, { settle: 'complete' }));
    const child = spawn(process.execPath, [join(packageRoot, 'test', 'helpers', 'write-loop-child.mjs'), dbPath], { cwd: packageRoot });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
    const exited = once(child, 'exit');
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', () => { if (output.startsWith('ready\n')) resolve(); });
        child.once('exit', () => reject(new Error(`writer exited early: ${output}`)));
      });
      const versions: number[] = [];
      const report = pruneSettledFleets(store, {
        olderThanMs: THIRTY_DAYS_MS, now: NOW, fleetsPerTransaction: 1,
        afterCommit: () => versions.push(store.hot.dataVersion()),
      });
      expect(report.counts.fleets).toBe(fleets.length);
      expect(report.transactions).toBe(fleets.length);
      // This connection's data_version moved between two of its own commits: the writer
      // committed while the prune was under way.
      expect(new Set(versions).size).toBeGreaterThan(1);
    } finally {
      child.stdin.end();
      await exited;
    }
    const result = JSON.parse(output.trim().split('\n').at(-1)!) as { writes: number; error: string | null };
    expect(result.error).toBeNull();
    expect(rawDatabase(store.path).value("SELECT count(*) FROM events WHERE kind = 'from-child'")).toBe(result.writes);
  });

  it('refuses an age that is not a whole number of milliseconds', () => {
    for (const olderThanMs of [-1, 1.5, Number.NaN]) {
      expect(() => pruneSettledFleets(store, { olderThanMs })).toThrow(MeshError);
    }
  });
});

describe('vacuum', () => {
  it('a full vacuum after a prune gives the freed pages back', () => {
    const old = NOW - 60 * DAY_MS;
    seedFleet(store, old, { settle: 'complete', payloadBytes: 60_000 });
    seedFleet(store, NOW - DAY_MS, { settle: 'complete' });
    pruneSettledFleets(store, { olderThanMs: THIRTY_DAYS_MS, now: NOW });
    const rows = dumpDatabase(dbPath);

    const report = vacuum(store, 'full');
    expect(report.mode).toBe('full');
    expect(report.bytesFreed).toBeGreaterThan(100_000);
    expect(report.bytesAfter).toBe(report.bytesBefore - report.bytesFreed);
    expect(dumpDatabase(dbPath)).toEqual(rows);
  });

  it('refuses an incremental vacuum on a database without auto_vacuum = INCREMENTAL', () => {
    expect(() => vacuum(store, 'incremental')).toThrow(/auto_vacuum NONE, so an incremental vacuum frees nothing/);
  });
});
