// The hub as a user meets it: real `meshfleet serve` and `meshfleet hub` processes, the SDK's
// stdio client as the host, the test agent as the fleet, the database read as sqlite3 would.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFleet } from '../../src/mesh/fleets.js';
import { openStore } from '../../src/store/open.js';
import { startNode } from '../helpers/children.js';
import { databasePerTest, rawDatabase } from '../helpers/database.js';
import { CLI, runCliAsync } from '../helpers/files.js';
import {
  agentsOf, connectHost, endHubsOf, eventCount, fleetSettles, hostEnv, isRunning, leaseOf, liveHub, type Host,
} from '../helpers/hub.js';
import { eventually } from '../helpers/mesh.js';

let dir: string;
let dbPath: string;
const hosts: Host[] = [];
databasePerTest((paths) => ({ dir, db: dbPath } = paths));
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.close().catch(() => undefined);
  await endHubsOf(dbPath);
});

async function host(extra: Record<string, string> = {}): Promise<Host> {
  const h = await connectHost(dbPath, hostEnv(dir, extra));
  hosts.push(h);
  return h;
}

/** A `meshfleet hub` child on the database, as a user would start one in a terminal. */
function hubChild(extra: Record<string, string> = {}) {
  return startNode([CLI, 'hub', '--db', dbPath], hostEnv(dir, extra));
}

/** A file the test agent waits for ("after:<file> ..."); it writes <file>.waiting once it runs. */
const gate = (name: string) => join(dir, name);
const isWaitingAt = (file: string) => eventually(() => expect(existsSync(`${file}.waiting`)).toBe(true), 30_000);

describe('fleets outlive the host session', () => {
  it('a fleet spawned by a host that disconnects at once runs to completion with nobody connected', async () => {
    const h = await connectHost(dbPath, hostEnv(dir));
    const { fleet_id } = await h.call('spawn_fleet', { agents: [{ role: 'first', prompt: 'pipeline' }, { role: 'second', prompt: 'pipeline' }] });
    await h.close();
    await eventually(() => expect(isRunning(h.pid)).toBe(false));

    expect(await fleetSettles(dbPath, fleet_id, 45_000)).toBe('complete');
    const agents = agentsOf(dbPath, fleet_id);
    expect(agents.map((a) => a.status)).toEqual(['complete', 'complete']);
    expect(agents[1]!.output).toContain('first > second');
    // The hub that ran them is another process than the server, and logs next to the database.
    const lease = leaseOf(dbPath)!;
    expect(lease.pid).not.toBe(h.pid);
    expect(lease.log_path).toBe(`${dbPath}.hub.log`);
    expect(readFileSync(lease.log_path!, 'utf8')).toContain(`pid ${lease.pid}`);

    // A later session reads the results.
    const later = await host();
    const results = await later.call('collect_results', { fleet_id });
    expect(results.status).toBe('complete');
    expect(results.results.map((r: { status: string }) => r.status)).toEqual(['complete', 'complete']);
  });

  it('with --no-hub, agents stay the server\'s own: no hub starts, and they end with the server', async () => {
    const h = await connectHost(dbPath, hostEnv(dir), ['--no-hub']);
    const file = gate('never');
    const { fleet_id } = await h.call('spawn_fleet', { agents: [{ role: 'worker', prompt: `after:${file} ok` }] });
    await isWaitingAt(file);
    await h.close();
    await eventually(() => expect(agentsOf(dbPath, fleet_id)[0]).toMatchObject({ status: 'interrupted', error: 'the meshfleet server that started this agent stopped' }));
    expect(leaseOf(dbPath)).toBeUndefined();
    expect(existsSync(`${dbPath}.hub.log`)).toBe(false);
  });

  it('two servers on one database share one hub, which runs both fleets', async () => {
    const [a, b] = [await host(), await host()];
    const [fa, fb] = await Promise.all([
      a.call('spawn_fleet', { agents: [{ role: 'a1', prompt: 'ok' }, { role: 'a2', prompt: 'ok' }] }),
      b.call('spawn_fleet', { agents: [{ role: 'b1', prompt: 'ok' }] }),
    ]);
    expect(await fleetSettles(dbPath, fa.fleet_id)).toBe('complete');
    expect(await fleetSettles(dbPath, fb.fleet_id)).toBe('complete');
    // One hub took the database; a hub either server started after it lost the race and said so.
    expect(eventCount(dbPath, 'hub_started')).toBe(1);
    const lease = await liveHub(dbPath);
    expect([a.pid, b.pid]).not.toContain(lease.pid);
  });
});

describe('the database is the queue', () => {
  it('agents a server recorded but never handed to a hub (it was killed in between) are run once the next session starts', async () => {
    const store = openStore(dbPath);
    const { fleet } = createFleet(store, [{ role: 'stranded', prompt: 'ok' }]);
    store.close();
    expect(leaseOf(dbPath)).toBeUndefined();
    await host(); // starts, sees an agent waiting and no hub, and starts one
    expect(await fleetSettles(dbPath, fleet.id)).toBe('complete');
  });
});

describe('one hub per database', () => {
  it('a second hub refuses, naming the live one: pid, since, listen address and log', async () => {
    const first = hubChild();
    const lease = await liveHub(dbPath);
    expect(lease.pid).toBe(first.child.pid);
    const second = await runCliAsync(['hub', '--db', dbPath], hostEnv(dir));
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`A hub already runs for ${dbPath}: pid ${lease.pid}, since ${new Date(lease.started_at).toISOString()}`);
    expect(second.stderr).toContain('no HTTP endpoint');
    expect(second.stderr).toContain('logging to its terminal');
    expect(second.stderr).toContain('meshfleet hub stop');
    expect(second.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(leaseOf(dbPath)!.pid).toBe(lease.pid);
    expect(isRunning(lease.pid)).toBe(true);
  });

  it('a hub killed with SIGKILL is replaced by the next server, which recovers its orphaned agent', async () => {
    const h = await host();
    const file = gate('go');
    const { fleet_id, agent_ids: [agentId] } = await h.call('spawn_fleet', { agents: [{ role: 'worker', prompt: `after:${file} ok` }] });
    await isWaitingAt(file);
    const dead = await liveHub(dbPath);
    const orphanPid = agentsOf(dbPath, fleet_id)[0]!.pid!;
    process.kill(dead.pid, 'SIGKILL');
    await eventually(() => expect(isRunning(dead.pid)).toBe(false));
    expect(isRunning(orphanPid)).toBe(true); // in its own process group, the agent outlived its hub
    const status = await runCliAsync(['hub', 'status', '--db', dbPath]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`No live hub for ${dbPath}: the last one (pid ${dead.pid}) is dead (its process is gone).`);

    // The next session's server finds the dead hub's lease and starts another.
    await host();
    const next = await eventually(() => {
      const lease = leaseOf(dbPath)!;
      expect(lease.pid).not.toBe(dead.pid);
      return lease;
    }, 20_000);
    await eventually(() => expect(eventCount(dbPath, 'agent_recovered')).toBe(1), 20_000);
    await eventually(() => expect(isRunning(orphanPid)).toBe(false)); // the orphan was ended, and a new attempt started
    writeFileSync(file, 'go');
    expect(await fleetSettles(dbPath, fleet_id)).toBe('complete');
    expect(rawDatabase(dbPath).value('SELECT attempts FROM agents WHERE id = ?', agentId)).toBe(2);
    const started = rawDatabase(dbPath).rows<{ data: string }>("SELECT data FROM events WHERE kind = 'hub_started' ORDER BY id");
    expect(JSON.parse(started.at(-1)!.data)).toMatchObject({ pid: next.pid, replaced: { pid: dead.pid, reason: 'its process is gone' } });
  });

  it('`meshfleet hub` replaces a killed hub too', async () => {
    const first = hubChild();
    await liveHub(dbPath);
    await first.kill9();
    const second = hubChild();
    const lease = await eventually(() => {
      const row = leaseOf(dbPath)!;
      expect(row.pid).toBe(second.child.pid);
      return row;
    }, 20_000);
    expect(isRunning(lease.pid)).toBe(true);
  });
});

describe('stopping the hub', () => {
  it('hub stop ends its agents, records them interrupted, and the hub exits', async () => {
    const h = await host();
    const file = gate('never');
    const { fleet_id } = await h.call('spawn_fleet', { agents: [{ role: 'worker', prompt: `after:${file} ok` }] });
    await isWaitingAt(file);
    const lease = await liveHub(dbPath);
    const { id: agentId, pid } = agentsOf(dbPath, fleet_id)[0]!;
    const agentPid = pid!;
    const status = await runCliAsync(['hub', 'status', '--db', dbPath]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Hub for ${dbPath}\n  pid      ${lease.pid}, since ${new Date(lease.started_at).toISOString()}`);
    expect(status.stdout).toContain(`  log      ${dbPath}.hub.log`);
    expect(status.stdout).toContain(`    ${agentId}  fleet ${fleet_id}  running  pid ${agentPid}  attempt 1`);
    const json = JSON.parse((await runCliAsync(['hub', 'status', '--db', dbPath, '--json'])).stdout);
    expect(json).toMatchObject({ running: true, hub: { pid: lease.pid, log_path: `${dbPath}.hub.log`, listen: null }, agents_owned: 1, agents_waiting: 0 });
    expect(json.agents).toEqual([{ agent_id: agentId, fleet_id, status: 'running', pid: agentPid, attempts: 1 }]);

    const stopped = await runCliAsync(['hub', 'stop', '--db', dbPath]);
    expect(stopped.stderr).toBe('');
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain(`Stopped the hub (pid ${lease.pid}); 1 agent(s)`);
    await eventually(() => expect(isRunning(lease.pid)).toBe(false));
    expect(isRunning(agentPid)).toBe(false);
    expect(leaseOf(dbPath)).toBeUndefined();
    const [agent] = agentsOf(dbPath, fleet_id);
    expect(agent).toMatchObject({ status: 'interrupted', error: 'the meshfleet hub stopped (stopped by `meshfleet hub stop`)' });
    expect(await fleetSettles(dbPath, fleet_id)).toBe('failed');

    const again = await runCliAsync(['hub', 'stop', '--db', dbPath]);
    expect(again).toMatchObject({ code: 0, stdout: `No hub runs for ${dbPath}; nothing to stop.\n` });
  });

  it('hub stop --drain lets running agents finish, holds new ones for the next hub, then exits', async () => {
    const h = await host();
    const file = gate('finish');
    const first = await h.call('spawn_fleet', { agents: [{ role: 'worker', prompt: `after:${file} ok` }] });
    await isWaitingAt(file);
    const lease = await liveHub(dbPath);

    const drained = await runCliAsync(['hub', 'stop', '--drain', '--db', dbPath]);
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain(`The hub (pid ${lease.pid}) starts no new agents and exits once its 1 agent(s) finish.`);
    await eventually(() => expect(leaseOf(dbPath)?.stop_request).toBe('drain'));
    const status = await runCliAsync(['hub', 'status', '--db', dbPath]);
    expect(status.stdout).toContain('draining');

    const second = await h.call('spawn_fleet', { agents: [{ role: 'late', prompt: 'ok' }] });
    // Give the draining hub time to (wrongly) take it: several of its ticks.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(agentsOf(dbPath, second.fleet_id)[0]).toMatchObject({ status: 'pending', supervisor_id: null });
    expect(agentsOf(dbPath, first.fleet_id)[0]!.status).toBe('running');

    writeFileSync(file, 'go');
    expect(await fleetSettles(dbPath, first.fleet_id)).toBe('complete');
    await eventually(() => expect(isRunning(lease.pid)).toBe(false), 20_000);
    // The server that recorded the late agent starts the next hub, which runs it.
    expect(await fleetSettles(dbPath, second.fleet_id, 30_000)).toBe('complete');
    expect(leaseOf(dbPath)!.pid).not.toBe(lease.pid);
  });

  it('an idle hub exits by itself after the idle period, with code 0 and its lease gone', async () => {
    const h = await host({ MESHFLEET_HUB_IDLE_MS: '1500' });
    const { fleet_id } = await h.call('spawn_fleet', { agents: [{ role: 'quick', prompt: 'ok' }] });
    const lease = await liveHub(dbPath);
    expect(await fleetSettles(dbPath, fleet_id)).toBe('complete');
    await eventually(() => expect(isRunning(lease.pid)).toBe(false), 20_000);
    expect(leaseOf(dbPath)).toBeUndefined();
    expect(readFileSync(`${dbPath}.hub.log`, 'utf8')).toContain('hub stopping: idle for 1500 ms');
  });

  it('a hub started in a terminal exits 0 on its own when idle', async () => {
    const hub = hubChild({ MESHFLEET_HUB_IDLE_MS: '300' });
    expect(await hub.exited).toEqual({ code: 0, signal: null });
    expect(hub.stderr()).toContain('idle for 300 ms');
    expect(leaseOf(dbPath)).toBeUndefined();
  });
});
