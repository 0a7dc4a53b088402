// meshfleet doctor: each line ok when things are right, warn or fail (exit 1) when a user would be
// stuck, and the database it looks at left exactly as it was.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { checkNode, type CheckResult } from '../../src/cli/doctor-checks.js';
import { processStartTime } from '../../src/runtime/processes.js';
import { loadMigrations } from '../../src/store/migrator.js';
import { openStore } from '../../src/store/open.js';
import { databasePerTest, rawDatabase } from '../helpers/database.js';
import { packageRoot } from '../../src/store/package-root.js';
import { startNode } from '../helpers/children.js';
import { CLI, FIXTURES, runCli, sha256 } from '../helpers/files.js';
import { endHubsOf, hostEnv, isRunning, liveHub } from '../helpers/hub.js';
import { eventually } from '../helpers/mesh.js';

let dir: string;
let dbPath: string;
databasePerTest((paths) => ({ dir, db: dbPath } = paths));

interface Report { ok: boolean; database: string; checks: CheckResult[] }

/** `meshfleet doctor --json` with HOME and PATH in the test's folder (so no opencode, no old ledger, unless a test puts them there). */
function doctor(args: string[] = [], env: NodeJS.ProcessEnv = {}): { code: number | null; report: Report; stderr: string } {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const result = runCli(['doctor', '--json', '--db', dbPath, ...args], {
    HOME: dir, PATH: bin, MESHFLEET_RUNTIME: '', MESHFLEET_AGENT_COMMAND: '', MESHFLEET_SSE_PORT: '', ...env,
  });
  return { code: result.code, report: JSON.parse(result.stdout) as Report, stderr: result.stderr };
}

const line = (report: Report, check: string): CheckResult | undefined => report.checks.find((c) => c.check === check);
const statuses = (report: Report): Record<string, string> => Object.fromEntries(report.checks.map((c) => [c.check, c.status]));

/** Every file of the database (main, -wal, -shm) with its hash: what "changed nothing" means. */
function filesOf(path: string): Record<string, string> {
  const folder = join(path, '..');
  return Object.fromEntries(readdirSync(folder).filter((f) => f.startsWith('mesh.db')).map((f) => [f, sha256(join(folder, f))]));
}

function healthyDatabase(): void {
  openStore(dbPath).close();
}

describe('meshfleet doctor on a healthy database', () => {
  it('prints ok for every database line, warns only that opencode is missing, exits 0 and changes no file', () => {
    healthyDatabase();
    const before = filesOf(dbPath);
    const { code, report } = doctor();
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.database).toBe(dbPath);
    expect(statuses(report)).toEqual({
      'node': 'ok', 'better-sqlite3': 'ok', 'database': 'ok', 'integrity': 'ok', 'journal': 'ok', 'schema': 'ok', 'wal': 'ok',
      'agents': 'ok', 'legacy ledger': 'ok', 'runtime': 'warn', 'hub': 'ok', 'waiting agents': 'ok',
    });
    expect(line(report, 'hub')!.detail).toBe('no hub running (serve starts one when needed)');
    expect(line(report, 'runtime')!.fix).toContain('MESHFLEET_AGENT_COMMAND');
    expect(filesOf(dbPath)).toEqual(before);
  });

  it('reads a database another connection holds open (with its -wal and -shm), leaving the file and its -wal as they were', () => {
    healthyDatabase();
    const store = openStore(dbPath);
    try {
      store.write(() => store.run(store.sql.insertInto('fleets').values({ id: 'f1', status: 'running', created_at: Date.now(), completed_at: null, timeout_ms: null })));
      expect(existsSync(`${dbPath}-wal`)).toBe(true);
      const [main, wal] = [sha256(dbPath), sha256(`${dbPath}-wal`)];
      const { code, report } = doctor();
      expect(code).toBe(0);
      expect(line(report, 'integrity')!.status).toBe('ok');
      expect(line(report, 'journal')!.detail).toBe('WAL');
      expect(line(report, 'wal')!.detail).not.toMatch(/^0 B/);
      // The -shm is SQLite's shared index (readers mark it); the data is in the other two.
      expect([sha256(dbPath), sha256(`${dbPath}-wal`)]).toEqual([main, wal]);
    } finally {
      store.close();
    }
  });

  it('reads to the end while another process holds the write lock', async () => {
    healthyDatabase();
    const holder = spawn(process.execPath, [join(packageRoot, 'test', 'helpers', 'hold-lock-child.mjs'), dbPath]);
    try {
      await once(holder.stdout, 'data'); // "locked"
      const { code, report } = doctor();
      expect(code).toBe(0);
      expect(['database', 'integrity', 'schema', 'agents'].map((check) => line(report, check)?.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    } finally {
      holder.stdin.end();
      await once(holder, 'exit');
    }
  });

  it('finds opencode on PATH, and the program of MESHFLEET_AGENT_COMMAND', () => {
    healthyDatabase();
    const fake = join(dir, 'bin', 'opencode');
    mkdirSync(join(dir, 'bin'));
    writeFileSync(fake, '#!/bin/sh\nexit 0\n');
    chmodSync(fake, 0o755);
    expect(line(doctor().report, 'runtime')).toEqual({ check: 'runtime', status: 'ok', detail: `opencode is ${fake}` });
    const agent = doctor([], { MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: `FOO=1 opencode run --x` });
    expect(line(agent.report, 'runtime')!.status).toBe('ok');
  });
});

describe('meshfleet doctor when something is wrong', () => {
  it('a missing database is a warning, and is not created', () => {
    const { code, report } = doctor();
    expect(code).toBe(0);
    expect(line(report, 'database')).toMatchObject({ status: 'warn', detail: `${dbPath} does not exist yet` });
    expect(existsSync(dbPath)).toBe(false);
  });

  it('a file that is not a database fails, with the reason, exit 1', () => {
    writeFileSync(dbPath, 'not a database at all, just text that is long enough to have a header\n'.repeat(3));
    const { code, report } = doctor();
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(line(report, 'database')).toMatchObject({ status: 'fail' });
    expect(line(report, 'database')!.fix).toMatch(/--db|MESHFLEET_DB/);
  });

  it('a database from a newer meshfleet fails the schema line and is left untouched', () => {
    healthyDatabase();
    rawDatabase(dbPath).run("UPDATE meshfleet_meta SET value = '99' WHERE key = 'schema_version'");
    const before = filesOf(dbPath);
    const { code, report } = doctor();
    expect(code).toBe(1);
    expect(line(report, 'schema')).toMatchObject({ status: 'fail' });
    expect(line(report, 'schema')!.detail).toContain('99');
    expect(filesOf(dbPath)).toEqual(before);
  });

  it('an older schema is a warning that the next serve migrates it, and doctor does not migrate it', () => {
    const latest = loadMigrations();
    openStore(dbPath, { migrations: latest.slice(0, latest.length - 1) }).close();
    const { code, report } = doctor();
    expect(code).toBe(0);
    expect(line(report, 'schema')).toMatchObject({ status: 'warn', detail: `version ${latest.length - 1}; this meshfleet uses ${latest.length}` });
    expect(rawDatabase(dbPath).value("SELECT value FROM meshfleet_meta WHERE key = 'schema_version'")).toBe(String(latest.length - 1));
  });

  it('a damaged index fails integrity, exit 1', () => {
    healthyDatabase();
    const db = new BetterSqlite3(dbPath);
    db.exec("CREATE TABLE doctor_probe (x INTEGER); CREATE INDEX doctor_probe_x ON doctor_probe (x); INSERT INTO doctor_probe VALUES (1), (2), (3);");
    // The index's b-tree stays as it was built; its definition now says otherwise.
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    db.prepare("UPDATE sqlite_schema SET sql = 'CREATE INDEX doctor_probe_x ON doctor_probe (x DESC)' WHERE name = 'doctor_probe_x'").run();
    db.close();
    const { code, report } = doctor();
    expect(code).toBe(1);
    expect(line(report, 'integrity')).toMatchObject({ status: 'fail' });
    expect(line(report, 'integrity')!.fix).toContain('backup');
  });

  it('warns of agents whose server is dead or gone, and not of those a live server runs', () => {
    healthyDatabase();
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const now = Date.now();
    rawDatabase(dbPath).exec(`
      INSERT INTO fleets (id, status, created_at) VALUES ('f1', 'running', ${now});
      INSERT INTO supervisors (id, pid, pid_start, started_at, heartbeat_at) VALUES ('live', ${process.pid}, '${processStartTime(process.pid)}', ${now}, ${now});
      INSERT INTO supervisors (id, pid, pid_start, started_at, heartbeat_at) VALUES ('dead', ${dead}, NULL, ${now}, ${now});
      INSERT INTO agents (id, fleet_id, role, prompt, status, supervisor_id, created_at) VALUES
        ('watched', 'f1', 'coder', 'p', 'running', 'live', ${now}),
        ('orphan', 'f1', 'coder', 'p', 'running', 'dead', ${now}),
        ('abandoned', 'f1', 'coder', 'p', 'pending', 'vanished', ${now}),
        ('finished', 'f1', 'coder', 'p', 'complete', 'dead', ${now});
    `);
    expect(line(doctor().report, 'agents')!.status).toBe('warn');
    const agents = line(doctor().report, 'agents')!;
    expect(agents.detail).toMatch(/^2 agents whose server is dead: /);
    expect(agents.detail).toContain(`orphan (fleet f1, running; its server pid ${dead}: its process is gone)`);
    expect(agents.detail).toContain('abandoned (fleet f1, pending; its server: it stopped without settling its agents)');
    expect(agents.detail).not.toContain('watched');
    expect(agents.fix).toContain('meshfleet serve');
  });

  it('warns of an old ledger not yet imported, and is ok once `meshfleet migrate` imported it', () => {
    healthyDatabase();
    const ledger = join(dir, 'agent-mesh.json');
    copyFileSync(join(FIXTURES, 'ledger-v1.json'), ledger);
    const env = { AGENT_MESH_DATA_FILE: ledger };
    expect(line(doctor([], env).report, 'legacy ledger')).toMatchObject({ status: 'warn', fix: expect.stringContaining('meshfleet migrate --dry-run') });
    expect(runCli(['migrate', '--db', dbPath], { HOME: dir, ...env }).code).toBe(0);
    expect(line(doctor([], env).report, 'legacy ledger')).toEqual({ check: 'legacy ledger', status: 'ok', detail: `${ledger} is imported` });
  });

  it('fails when the command runtime names a program that is not there, or a setting serve would refuse', () => {
    healthyDatabase();
    const missing = doctor([], { MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'no-such-agent --flag' });
    expect(missing.code).toBe(1);
    expect(line(missing.report, 'runtime')).toMatchObject({ status: 'fail', detail: expect.stringContaining('"no-such-agent"') });
    const badPort = doctor([], { MESHFLEET_SSE_PORT: 'eighty' });
    expect(badPort.code).toBe(1);
    expect(line(badPort.report, 'settings')).toMatchObject({ status: 'fail', detail: expect.stringContaining('MESHFLEET_SSE_PORT') });
  });

  it('says which Node is too old', () => {
    expect(checkNode('v18.19.1')).toMatchObject({ status: 'fail', fix: expect.stringContaining('Node 20') });
    expect(checkNode('v20.0.0').status).toBe('ok');
    expect(checkNode('v22.11.0').status).toBe('ok');
  });
});

describe('meshfleet doctor and the hub', () => {
  afterEach(() => endHubsOf(dbPath));

  /** An agent recorded by a server and claimed by no hub yet, as spawn_fleet leaves it. */
  function recordWaitingAgents(count: number): void {
    const now = Date.now();
    const db = rawDatabase(dbPath);
    db.exec(`INSERT INTO fleets (id, status, created_at) VALUES ('fw', 'running', ${now})`);
    for (let i = 0; i < count; i++) db.exec(`INSERT INTO agents (id, fleet_id, role, prompt, status, created_at) VALUES ('w${i}', 'fw', 'coder', 'after:${join(dir, 'never')} x', 'pending', ${now})`);
  }

  it('names a live hub (pid, since, listen address, log), and changes no file of the database', async () => {
    healthyDatabase();
    // As `serve` starts one: with --log; it listens on a free loopback port for MCP over HTTP.
    const log = join(dir, 'hub.log');
    const hub = startNode([CLI, 'hub', '--db', dbPath, '--log', log], hostEnv(dir));
    // The lease is taken first; the address is written once the endpoint listens.
    const lease = await eventually(async () => {
      const held = await liveHub(dbPath);
      expect(held.listen).not.toBeNull();
      return held;
    });
    expect(lease.pid).toBe(hub.child.pid);
    const main = sha256(dbPath);
    const { code, report } = doctor();
    expect(code).toBe(0);
    expect(line(report, 'hub')).toEqual({
      check: 'hub', status: 'ok',
      detail: expect.stringMatching(new RegExp(`^hub pid ${lease.pid} since ${new Date(lease.started_at).toISOString().replace(/[.]/g, '\\.')}, listening on 127\\.0\\.0\\.1:\\d+, log ${log.replace(/[.]/g, '\\.')}$`)),
    });
    expect(line(report, 'waiting agents')).toMatchObject({ status: 'ok' });
    // The hub's heartbeat writes the -wal; the main file only changes at a checkpoint, which doctor never runs.
    expect(sha256(dbPath)).toBe(main);
    await hub.kill9();
  });

  it('warns of a hub killed with -9 (its lease left behind), and of agents waiting with no hub to start them; the row stays', async () => {
    healthyDatabase();
    const hub = startNode([CLI, 'hub', '--db', dbPath], hostEnv(dir));
    const lease = await liveHub(dbPath);
    await hub.kill9();
    expect(isRunning(lease.pid)).toBe(false);
    recordWaitingAgents(3);
    const before = filesOf(dbPath);
    const { code, report } = doctor();
    expect(code).toBe(0);
    expect(line(report, 'hub')).toMatchObject({ status: 'warn', detail: `the hub lease names pid ${lease.pid} (since ${new Date(lease.started_at).toISOString()}), which is dead: its process is gone` });
    expect(line(report, 'hub')!.fix).toMatch(/meshfleet serve.*meshfleet hub.*replaces it.*meshfleet hub status/);
    expect(line(report, 'waiting agents')).toMatchObject({ status: 'warn', detail: '3 agents recorded and waiting, with no live hub to start them' });
    expect(line(report, 'waiting agents')!.fix).toContain(`meshfleet hub --db ${dbPath}`);
    expect(filesOf(dbPath)).toEqual(before);
    expect(rawDatabase(dbPath).value('SELECT pid FROM hub_lease')).toBe(lease.pid);
  });

  it('a live process whose heartbeat is older than the stale bound is a dead hub, with its log named', async () => {
    healthyDatabase();
    // A process that lives but no longer beats: a hung hub (afterEach kills it).
    const hung = startNode(['-e', 'setInterval(() => undefined, 1000)']);
    const pid = hung.child.pid!;
    await eventually(() => expect(processStartTime(pid)).not.toBeNull());
    const old = Date.now() - 10 * 60_000;
    rawDatabase(dbPath).exec(`INSERT INTO hub_lease (slot, hub_id, pid, pid_start, started_at, heartbeat_at, listen, log_path)
      VALUES (1, 'h1', ${pid}, '${processStartTime(pid)}', ${old}, ${old}, '127.0.0.1:9', '${dbPath}.hub.log')`);
    const hub = line(doctor().report, 'hub')!;
    expect(hub).toMatchObject({ status: 'warn', detail: expect.stringMatching(/which is dead: its heartbeat is \d+ s old$/) });
    expect(hub.fix).toContain(`(${dbPath}.hub.log)`);
  });

  it('with no hub, agents waiting to be started are a warning', () => {
    healthyDatabase();
    recordWaitingAgents(1);
    const { code, report } = doctor();
    expect(code).toBe(0);
    expect(line(report, 'hub')).toMatchObject({ status: 'ok', detail: 'no hub running (serve starts one when needed)' });
    expect(line(report, 'waiting agents')).toMatchObject({ status: 'warn', detail: '1 agent recorded and waiting, with no live hub to start them' });
  });
});

describe('meshfleet doctor output', () => {
  it('prints one line per check and the fix under it, and a summary', () => {
    const result = runCli(['doctor', '--db', dbPath], { HOME: dir, PATH: '', MESHFLEET_RUNTIME: '' });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok {4}node {2,}v\d+\./m);
    expect(result.stdout).toMatch(/^warn {2}database {2,}.* does not exist yet\n {6,}→ Nothing to check/m);
    expect(result.stdout).toMatch(/\nNothing failed; 2 to look at\.\n$/);
  });
});
