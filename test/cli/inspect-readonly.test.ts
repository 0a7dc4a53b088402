// `meshfleet inspect` only reads: not a byte of the database changes, an older schema is not
// migrated, a file that is not ours is refused, and a writer holding the lock does not stop it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createFleet } from '../../src/mesh/fleets.js';
import { sendMessage } from '../../src/mesh/messages.js';
import { recordRoutingOutcome } from '../../src/routing/route-work.js';
import { registerCapability } from '../../src/mesh/capabilities.js';
import { loadMigrations } from '../../src/store/migrator.js';
import { openStore } from '../../src/store/open.js';
import { packageRoot } from '../../src/store/package-root.js';
import { databasePerTest, queryDb } from '../helpers/database.js';
import { dumpDatabase, runCli, runCliAsync, sha256 } from '../helpers/files.js';

let dir: string;
let dbPath: string;
databasePerTest((paths) => ({ dir, db: dbPath } = paths));

/** A small mesh through the domain: a fleet of two, a message, a capability with an outcome. */
function seed(): { fleetId: string; agentIds: string[] } {
  const store = openStore(dbPath);
  try {
    const { fleet, agents } = createFleet(store, [{ role: 'planner', prompt: 'p' }, { role: 'coder', prompt: 'c' }]);
    sendMessage(store, { fleetId: fleet.id, fromAgentId: agents[0]!.id, toAgentId: agents[1]!.id, type: 'handoff', payload: 'do it' });
    registerCapability(store, { agentId: agents[1]!.id, fleetId: fleet.id, role: 'coder', skills: ['react'], model: null, contextWindow: null });
    recordRoutingOutcome(store, { agentId: agents[1]!.id, capabilityKey: 'react', success: true });
    return { fleetId: fleet.id, agentIds: agents.map((a) => a.id) };
  } finally {
    store.close();
  }
}

const views = (fleetId: string, agentId: string): string[][] => [
  [], ['--fleet', fleetId], ['--tasks', fleetId], ['--inbox', agentId], ['--events', '5'], ['--metrics'], ['--routing', 'react work'],
];

describe('meshfleet inspect only reads', () => {
  it('every view, as text and --json, leaves the file byte for byte as it was and writes nothing beside it', () => {
    const { fleetId, agentIds } = seed();
    const before = { sha: sha256(dbPath), rows: dumpDatabase(dbPath), wal: existsSync(`${dbPath}-wal`) };
    for (const args of views(fleetId, agentIds[1]!)) {
      for (const asJson of [[], ['--json']]) {
        const result = runCli(['inspect', '--db', dbPath, ...args, ...asJson]);
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
      }
    }
    expect(sha256(dbPath)).toBe(before.sha);
    expect(dumpDatabase(dbPath)).toEqual(before.rows);
    expect(existsSync(`${dbPath}-wal`)).toBe(before.wal);
  });

  it('reads a database of an older schema without migrating it', () => {
    const folder = join(dir, 'migrations-5');
    mkdirSync(folder);
    for (const m of loadMigrations().slice(0, 5)) writeFileSync(join(folder, m.name), m.sql);
    openStore(dbPath, { migrations: loadMigrations(folder) }).close();
    // Rows as that release wrote them (today's domain writes columns schema 5 does not have).
    const old = new BetterSqlite3(dbPath);
    old.exec(`INSERT INTO fleets (id, status, created_at) VALUES ('f-old', 'running', 1);
      INSERT INTO agents (id, fleet_id, role, prompt, status) VALUES ('a1', 'f-old', 'r', 'p', 'running'), ('a2', 'f-old', 'r', 'p', 'running');
      INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, type, payload, sent_at) VALUES ('m1', 'f-old', 'a1', 'a2', 'handoff', 'x', 2);`);
    old.close();
    const fleetId = 'f-old';
    const sha = sha256(dbPath);
    const result = runCli(['inspect', '--db', dbPath, '--fleet', fleetId, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ messages_total: 1, reservations: [], councils: [] });
    // Before the task board: a board with no tasks, not an error.
    const board = runCli(['inspect', '--db', dbPath, '--tasks', fleetId, '--json']);
    expect(board.stderr).toBe('');
    expect(JSON.parse(board.stdout)).toMatchObject({ tasks: [], tasks_total: 0 });
    expect(sha256(dbPath)).toBe(sha);
    expect(queryDb(dbPath, 'SELECT max(version) AS v FROM meshfleet_migrations')).toEqual([{ v: 5 }]);
  });

  it('refuses a SQLite file of another program, changing nothing', () => {
    const other = new BetterSqlite3(dbPath);
    other.exec('CREATE TABLE notes (body TEXT)');
    other.close();
    const sha = sha256(dbPath);
    const result = runCli(['inspect', '--db', dbPath]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^meshfleet: .* is not a Meshfleet database/);
    expect(sha256(dbPath)).toBe(sha);
  });

  it('refuses a folder, and a file from a newer Meshfleet', () => {
    expect(runCli(['inspect', '--db', dir]).stderr).toMatch(/is a folder, not a database file/);
    seed();
    const db = new BetterSqlite3(dbPath);
    db.prepare("UPDATE meshfleet_meta SET value = '99' WHERE key = 'schema_version'").run();
    db.close();
    const result = runCli(['inspect', '--db', dbPath]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/has schema version 99, written by a newer Meshfleet/);
  });

  it('answers while another process holds the write lock', async () => {
    const { fleetId } = seed();
    const holder = spawn(process.execPath, [join(packageRoot, 'test', 'helpers', 'hold-lock-child.mjs'), dbPath]);
    try {
      await once(holder.stdout, 'data'); // "locked"
      const result = await runCliAsync(['inspect', '--db', dbPath, '--fleet', fleetId, '--json']);
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout).fleet.fleet_id).toBe(fleetId);
    } finally {
      holder.stdin.end();
      await once(holder, 'exit');
    }
  });

  it('each view is of one moment, while another process keeps committing', async () => {
    const { fleetId, agentIds } = seed();
    const writer = spawn(process.execPath, [join(packageRoot, 'test', 'helpers', 'message-loop-child.mjs'), dbPath, fleetId, ...agentIds]);
    try {
      await once(writer.stdout, 'data'); // "ready"
      const seen = new Set<number>();
      // At least five looks, and on until the writer has visibly committed between two of them.
      for (let i = 0; i < 5 || (seen.size < 2 && i < 40); i += 1) {
        const result = await runCliAsync(['inspect', '--db', dbPath, '--fleet', fleetId, '--json', '--limit', '1']);
        expect(result.stderr).toBe('');
        const answer = JSON.parse(result.stdout);
        // The fleet's count (read first) and the message total (read after the agents) agree.
        expect(answer.fleet.messages).toBe(answer.messages_total);
        seen.add(answer.messages_total);
      }
      expect(seen.size).toBeGreaterThan(1); // the writer did commit in between
    } finally {
      writer.stdin.end();
      await once(writer, 'exit');
    }
  });

  it('uses MESHFLEET_DB when there is no --db', () => {
    const { fleetId } = seed();
    const result = runCli(['inspect', '--json'], { MESHFLEET_DB: dbPath });
    expect(JSON.parse(result.stdout).fleets.map((f: { fleet_id: string }) => f.fleet_id)).toEqual([fleetId]);
  });

  it('an empty mesh says what to do', () => {
    openStore(dbPath).close();
    const out = runCli(['inspect', '--db', dbPath]).stdout;
    expect(out).toContain('No fleets yet. Spawn one through the MCP tools, or run `meshfleet demo`.');
    expect(runCli(['inspect', '--db', dbPath, '--metrics']).stdout).toMatch(/^agent success rate +n\/a/m);
  });

  it('is listed by meshfleet --help', () => {
    expect(runCli(['--help']).stdout).toMatch(/^ {2}inspect +Show fleets/m);
  });
});
