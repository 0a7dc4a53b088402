import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/store/migrator.js';
import { openStore } from '../../src/store/open.js';
import { packageRoot } from '../../src/store/package-root.js';
import { dumpDatabase, runCli, runCliAsync, tempDir } from '../helpers/files.js';
import { DAY_MS, seedFleet, seedRetentionMesh } from '../helpers/retention.js';

let temp: ReturnType<typeof tempDir>;
let dbPath: string;

beforeEach(() => {
  temp = tempDir();
  dbPath = join(temp.dir, 'mesh.db');
});

afterEach(() => temp.cleanup());

/** The retention mesh around a 30-day cutoff from now: two fleets to prune, three to keep. */
function seedMesh(): void {
  const store = openStore(dbPath);
  try {
    seedRetentionMesh(store, Date.now());
  } finally {
    store.close();
  }
}

const fleetCount = () => (dumpDatabase(dbPath).fleets ?? []).length;

describe('meshfleet prune', () => {
  it.each([
    [['--older-than', '30'], '--older-than needs a unit: 30d, 30h, 30m or 30s.'],
    [['--older-than', '30x'], "--older-than takes a number and a unit (30d, 12h, 90m, 3600s), not '30x'."],
    [['--older-than', '1.5d'], "--older-than takes a number and a unit (30d, 12h, 90m, 3600s), not '1.5d'."],
    [[], 'prune needs --older-than DURATION, such as 30d.'],
    [['--older-than', '30d', '--dry-run', '--vacuum'], '--vacuum cannot be combined with --dry-run.'],
    [['--older-than', '30d', 'extra'], "prune takes no arguments; got 'extra'."],
  ])('%j is a one-line error and exit 2, and the database is untouched', (args, message) => {
    seedMesh();
    const before = dumpDatabase(dbPath);
    const result = runCli(['prune', ...args, '--db', dbPath]);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `meshfleet: ${message} Run 'meshfleet --help'.\n` });
    expect(dumpDatabase(dbPath)).toEqual(before);
  });

  it('deletes the old settled fleets and prints what it deleted', () => {
    seedMesh();
    const result = runCli(['prune', '--older-than', '30d', '--db', dbPath]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Fleets settled before \d{4}-\d\d-\d\dT[\d:.]+Z \(older than 30d\)\.$/m);
    expect(result.stdout).toMatch(/^kind +deleted$/m);
    expect(result.stdout).toMatch(/^fleets +2$/m);
    expect(result.stdout).toMatch(/^agents +5$/m);
    expect(result.stdout).toMatch(/^\d+ transactions?\.$/m);
    expect(result.stdout).toMatch(/^Kept 1 settled fleet with an agent still pending or running\.$/m);
    expect(fleetCount()).toBe(3);
  });

  it('--dry-run --json prints parseable snake_case counts and changes nothing', () => {
    seedMesh();
    const before = dumpDatabase(dbPath);
    const result = runCli(['prune', '--older-than', '720h', '--dry-run', '--json', '--db', dbPath]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      database: dbPath, dry_run: true, older_than_ms: 30 * DAY_MS, held_back_fleets: 1, transactions: 0,
      counts: { fleets: 2, agents: 5, messages: 4, receipts: 4, send_keys: 2, tasks: 4, councils: 2, council_votes: 6 },
    });
    // Keys only ever added, at the end.
    expect(Object.keys(report.counts)).toEqual(['fleets', 'agents', 'messages', 'deliveries', 'receipts', 'events', 'capabilities',
      'outcomes', 'send_keys', 'reservations', 'tasks', 'councils', 'council_votes']);
    expect(dumpDatabase(dbPath)).toEqual(before);

    const real = JSON.parse(runCli(['prune', '--older-than', '30d', '--json', '--db', dbPath]).stdout);
    expect(real.counts).toEqual(report.counts);
    // And what the real run removed is what the dry run announced.
    const after = dumpDatabase(dbPath);
    const removed = (table: string) => (before[table] ?? []).length - (after[table] ?? []).length;
    expect({ tasks: removed('tasks'), councils: removed('councils'), council_votes: removed('council_votes') })
      .toEqual({ tasks: report.counts.tasks, councils: report.counts.councils, council_votes: report.counts.council_votes });
  });

  it('--dry-run prints how many tasks, councils and council votes would go, as the real run then deletes', () => {
    seedMesh();
    const dry = runCli(['prune', '--older-than', '30d', '--dry-run', '--db', dbPath]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^kind +would delete$/m);
    const rowsOf = (out: string) => ['tasks', 'councils', 'council votes'].map((label) => out.match(new RegExp(`^${label} +(\\d+)$`, 'm'))?.[1]);
    expect(rowsOf(dry.stdout)).toEqual(['4', '2', '6']);
    const real = runCli(['prune', '--older-than', '30d', '--db', dbPath]);
    expect(rowsOf(real.stdout)).toEqual(['4', '2', '6']);
    expect(dumpDatabase(dbPath).tasks).toHaveLength(6); // the three kept fleets' two each
  });

  it('--vacuum gives the space back and says how much', () => {
    const store = openStore(dbPath);
    seedFleet(store, Date.now() - 60 * DAY_MS, { settle: 'complete', payloadBytes: 60_000 });
    seedFleet(store, Date.now() - DAY_MS, { settle: 'complete' });
    store.close();
    const sizeBefore = statSync(dbPath).size;

    const result = runCli(['prune', '--older-than', '30d', '--vacuum', '--json', '--db', dbPath]);
    expect(result.code).toBe(0);
    const { vacuum } = JSON.parse(result.stdout);
    expect(vacuum.mode).toBe('full');
    expect(vacuum.bytes_freed).toBeGreaterThan(100_000);
    expect(vacuum.bytes_after).toBe(vacuum.bytes_before - vacuum.bytes_freed);
    expect(statSync(dbPath).size).toBeLessThan(sizeBefore - 100_000);
    expect(fleetCount()).toBe(1);

    const human = runCli(['prune', '--older-than', '30d', '--vacuum', '--db', dbPath]);
    expect(human.stdout).toMatch(/^Vacuum: [\d.]+ [KM]iB freed \([\d.]+ [KM]iB before, [\d.]+ [KM]iB after\)\.$/m);
  });

  it('--dry-run leaves a database of an older schema at its version', () => {
    openStore(dbPath, { migrations: loadMigrations().slice(0, 3) }).close();
    const before = dumpDatabase(dbPath);
    const result = runCli(['prune', '--older-than', '30d', '--dry-run', '--db', dbPath]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Dry run: nothing was deleted\.\n/);
    expect(result.stdout).toMatch(/^fleets +0$/m);
    expect(dumpDatabase(dbPath)).toEqual(before);
  });

  it('refuses a database that does not exist, without creating it', () => {
    const result = runCli(['prune', '--older-than', '30d', '--db', dbPath]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^meshfleet: No database at .*mesh\.db; nothing to prune\.\n {2}Pass --db PATH/);
    expect(existsSync(dbPath)).toBe(false);
  });

  it('is listed by meshfleet --help', () => {
    expect(runCli(['--help']).stdout).toMatch(/^ {2}prune +Delete settled fleets older than a given age/m);
  });

  it('while another process holds the write lock past the busy timeout: one line saying so, exit 1, no stack', async () => {
    openStore(dbPath).close();
    const holder = spawn(process.execPath, [join(packageRoot, 'test', 'helpers', 'hold-lock-child.mjs'), dbPath]);
    try {
      await once(holder.stdout, 'data'); // "locked"
      const result = await runCliAsync(['prune', '--older-than', '1s', '--db', dbPath]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^meshfleet: the database is locked by another process .*nothing was changed\.\n  Try again in a moment\.\n$/);
    } finally {
      holder.stdin.end();
      await once(holder, 'exit');
    }
  });
});
