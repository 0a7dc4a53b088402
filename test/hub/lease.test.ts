// The lease and the queue below the hub process: on real database files, with several
// connections (as several processes have), and several `meshfleet hub` processes at once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Hub } from '../../src/hub/hub.js';
import { hubEndpoint } from '../../src/hub/http.js';
import { createOperatorToken } from '../../src/mesh/operator-tokens.js';
import { acquireHubLease, claimPendingAgents, readHubLease, releaseIdleHubLease, requestHubStop, type HubLease } from '../../src/hub/lease.js';
import { createFleet } from '../../src/mesh/fleets.js';
import { openStore, type Store } from '../../src/store/open.js';
import { startNode } from '../helpers/children.js';
import { databasePerTest, rawDatabase } from '../helpers/database.js';
import { CLI } from '../helpers/files.js';
import { endHubsOf, hostEnv, isRunning, leaseOf } from '../helpers/hub.js';
import { connectHttp } from '../helpers/http-hub.js';
import { eventually } from '../helpers/mesh.js';
import { TEST_AGENT } from '../helpers/runtime.js';

let dir: string;
let dbPath: string;
let store: Store;
let other: Store;
databasePerTest((paths) => ({ dir, db: dbPath } = paths));
beforeEach(() => {
  store = openStore(dbPath);
  other = openStore(dbPath); // a second connection: another process, as far as SQLite can tell
});
afterEach(async () => {
  other.close();
  store.close();
  await endHubsOf(dbPath);
});

const lease = (hubId: string, pid: number): Omit<HubLease, 'stopRequest'> =>
  ({ hubId, pid, pidStart: null, startedAt: 1_000, heartbeatAt: 1_000, listen: null, logPath: `${dbPath}.hub.log` });
const alive = () => null;
const dead = () => 'its process is gone';

describe('the hub lease', () => {
  it('goes to the first hub; a second is refused while the first lives, and told who holds it', () => {
    expect(acquireHubLease(store, lease('hub-a', 11), alive)).toEqual({ acquired: true, replaced: null });
    const refused = acquireHubLease(other, lease('hub-b', 22), alive);
    expect(refused).toMatchObject({ acquired: false, holder: { hubId: 'hub-a', pid: 11, logPath: `${dbPath}.hub.log` } });
    expect(readHubLease(other)?.hubId).toBe('hub-a');
  });

  it('a dead holder is replaced, and the replacement recorded with the reason', () => {
    acquireHubLease(store, lease('hub-a', 11), alive);
    expect(acquireHubLease(other, lease('hub-b', 22), dead)).toMatchObject({ acquired: true, replaced: { lease: { hubId: 'hub-a' }, why: 'its process is gone' } });
    expect(readHubLease(store)?.hubId).toBe('hub-b');
    const data = rawDatabase(dbPath).values<string>("SELECT data FROM events WHERE kind = 'hub_started' ORDER BY id").map((d) => JSON.parse(d));
    expect(data.at(-1)).toMatchObject({ hub: 'hub-b', replaced: { hub: 'hub-a', pid: 11, reason: 'its process is gone' } });
  });

  it('of four `meshfleet hub` processes started at once, one holds the database and three refuse', async () => {
    const hubs = Array.from({ length: 4 }, () => startNode([CLI, 'hub', '--db', dbPath], hostEnv(dir)));
    const holder = await eventually(() => {
      const row = leaseOf(dbPath);
      expect(row).toBeDefined();
      return row!;
    }, 30_000);
    const losers = hubs.filter((h) => h.child.pid !== holder.pid);
    expect(losers).toHaveLength(3);
    for (const loser of losers) {
      expect((await loser.exited).code).toBe(1);
      expect(loser.stderr()).toContain(`A hub already runs for ${dbPath}: pid ${holder.pid}`);
    }
    expect(isRunning(holder.pid)).toBe(true);
  });
});

describe('an idle hub giving the lease back', () => {
  it('keeps it when a server recorded agents since the hub last looked, so they are never left without a hub', () => {
    acquireHubLease(store, lease('hub-a', 11), alive);
    createFleet(other, [{ role: 'late', prompt: 'p' }]);
    expect(releaseIdleHubLease(store, 'hub-a')).toBe(false);
    expect(readHubLease(other)?.hubId).toBe('hub-a');
    claimPendingAgents(store, 'hub-a', 10);
    expect(releaseIdleHubLease(store, 'hub-a')).toBe(true);
    expect(readHubLease(other)).toBeUndefined();
  });
});

describe('the queue', () => {
  it('gives each pending agent to one hub only, oldest first, and leaves servers\' own agents and legacy rows alone', () => {
    const waiting = createFleet(store, [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'p' }, { role: 'c', prompt: 'p' }], 1_000);
    const owned = createFleet(store, [{ role: 'mine', prompt: 'p' }], 1_000, 'sup-of-a-no-hub-server');
    rawDatabase(dbPath).run("INSERT INTO agents (id, fleet_id, role, prompt, status) VALUES ('legacy', ?, 'old', 'p', 'pending')", waiting.fleet.id);

    const first = claimPendingAgents(store, 'hub-a', 2);
    const second = claimPendingAgents(other, 'hub-b', 10);
    expect(first.map((a) => a.role)).toEqual(['a', 'b']);
    expect(second.map((a) => a.role)).toEqual(['c']);
    expect(claimPendingAgents(store, 'hub-a', 10)).toEqual([]);
    expect(rawDatabase(dbPath).rows('SELECT role, supervisor_id FROM agents ORDER BY role')).toEqual([
      { role: 'a', supervisor_id: 'hub-a' }, { role: 'b', supervisor_id: 'hub-a' }, { role: 'c', supervisor_id: 'hub-b' },
      { role: 'mine', supervisor_id: 'sup-of-a-no-hub-server' }, { role: 'old', supervisor_id: null },
    ]);
    expect(owned.agents[0]!.supervisorId).toBe('sup-of-a-no-hub-server');
  });
});

describe('a hub process in this test', () => {
  const hubOn = (s: Store) => new Hub(s, dbPath, {
    runtime: { runtime: 'command', agentCommand: 'true', dbPath }, env: { PATH: process.env.PATH },
    supervision: { heartbeatEveryMs: 50 }, idleMs: 60_000, logPath: null, tickMs: 25,
  });

  it('stops, leaving the lease alone, when another hub took the database over while it hung', async () => {
    const hub = hubOn(store);
    await hub.start();
    // What a hub that judged this one stale would write: the lease is now someone else's.
    rawDatabase(dbPath).run("UPDATE hub_lease SET hub_id = 'hub-new', pid = 1");
    const end = await hub.finished;
    expect(end).toEqual({ why: 'another hub took the database over', release: false });
    await hub.stop(end);
    expect(readHubLease(other)?.hubId).toBe('hub-new');
  });

  it('starts agents spawned over its own HTTP endpoint at once, not at its next tick (its change feed misses its own commits)', async () => {
    // A tick a minute long: only the endpoint's call to claim can start the agent within the wait.
    const hub = new Hub(store, dbPath, {
      runtime: { runtime: 'command', agentCommand: TEST_AGENT, dbPath }, env: { PATH: process.env.PATH },
      supervision: { heartbeatEveryMs: 50 }, idleMs: 60_000, logPath: null, tickMs: 60_000,
      startEndpoint: hubEndpoint({ version: '0.0.0-test', projectDir: dir, homeDir: dir, publicUrl: undefined, agentTimeoutMs: undefined }),
      listen: { host: '127.0.0.1', port: 0 },
    });
    await hub.start();
    const client = await connectHttp(`http://${readHubLease(other)!.listen}/mcp`, createOperatorToken(other, 'test').token);
    try {
      const { fleet_id: fleetId } = await client.ok('spawn_fleet', { agents: [{ role: 'planner', prompt: 'sleep:30000' }] });
      await eventually(() => expect(rawDatabase(dbPath).value('SELECT status FROM agents WHERE fleet_id = ?', fleetId)).toBe('running'), 10_000);
    } finally {
      await client.close();
      hub.end('test over');
      await hub.stop(await hub.finished);
    }
  });

  it('reads a stop request within a tick, and gives the lease back', async () => {
    const hub = hubOn(store);
    await hub.start();
    requestHubStop(other, 'stop');
    const end = await hub.finished;
    expect(end.why).toBe('stopped by `meshfleet hub stop`');
    await hub.stop(end);
    expect(readHubLease(other)).toBeUndefined();
  });

  it('refuses to start beside a live hub, with a message naming it', async () => {
    const first = hubOn(store);
    await first.start();
    const second = hubOn(other);
    await expect(second.start()).rejects.toThrow(`A hub already runs for ${dbPath}: pid ${process.pid}`);
    first.end('test over');
    await first.stop(await first.finished);
  });
});
