// Many servers on one database: a server whose process is gone, or whose heartbeat stopped, has
// its agents taken over by another; a live server's agents are never touched.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createFleet, markAgentStarted } from '../../src/mesh/fleets.js';
import { otherSupervisors, registerSupervisor, takeOverAgents } from '../../src/mesh/supervision.js';
import { isAlive, processStartTime } from '../../src/runtime/processes.js';
import { openStore } from '../../src/store/open.js';
import { CLI, tempDir } from '../helpers/files.js';
import { eventually } from '../helpers/mesh.js';
import { eventsOfKind, firstAgentRunning, fleetEvents, RuntimeFixtures, settled, TEST_AGENT } from '../helpers/runtime.js';

const fixtures = new RuntimeFixtures();
const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  await fixtures.endAll();
});

/**
 * A `meshfleet serve` child process on the database, as a host would run it, owning its agents
 * (--no-hub): these tests are about servers taking over each other's agents. The hub's own
 * takeover is test/hub/hub-lifecycle.test.ts.
 */
async function serveChild(dbPath: string) {
  const transport = new StdioClientTransport({
    command: process.execPath, args: [CLI, 'serve', '--db', dbPath],
    env: { PATH: process.env.PATH ?? '', MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: TEST_AGENT, MESHFLEET_NO_HUB: '1' },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'host', version: '0' });
  await client.connect(transport);
  clients.push(client);
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = await client.callTool({ name, arguments: args });
    return JSON.parse((r.content as { text: string }[])[0]!.text);
  };
  return { client, pid: transport.pid!, call };
}

/** A pid that named a process a moment ago and names none now. */
async function goneProcess(): Promise<{ pid: number; pidStart: string | null }> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  const pid = child.pid!;
  await eventually(() => expect(processStartTime(pid)).not.toBeNull());
  const pidStart = processStartTime(pid);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return { pid, pidStart };
}

describe('a server whose process is gone', () => {
  it('has its agents taken over by another: orphans end, agents restart, the fleet settles', async () => {
    const first = await fixtures.harness();
    const doomed = await serveChild(first.dbPath);
    const markers = [join(first.dir, 'hang-a'), join(first.dir, 'hang-b')];
    const { fleet_id } = await doomed.call('spawn_fleet', { agents: markers.map((m, i) => ({ role: `worker-${i}`, prompt: `hang-once:${m}` })) });
    const before = await eventually(async () => {
      const s = await first.ok('fleet_status', { fleet_id });
      expect(s.agents.every((a: { status: string }) => a.status === 'running')).toBe(true);
      expect(markers.every((m) => existsSync(m))).toBe(true);
      return s;
    }, 30_000);
    process.kill(doomed.pid, 'SIGKILL');

    const rescuer = await fixtures.harness({ reclaimEveryMs: 100 }, { dir: first.dir, dbPath: first.dbPath });
    const status = await settled(rescuer, fleet_id);
    expect(status.fleet.status).toBe('complete');
    for (const agent of status.agents) expect(agent).toMatchObject({ status: 'complete', attempts: 2, output: `${agent.role}: done after a restart\n` });
    // The first attempts, orphaned by the killed server, were ended.
    for (const agent of before.agents) await eventually(() => expect(isAlive(agent.pid)).toBe(false));
    expect(fleetEvents(rescuer, fleet_id).filter((e) => e.kind === 'agent_recovered')).toHaveLength(2);
    expect(eventsOfKind(rescuer, 'supervisor_reclaimed')).toEqual([expect.objectContaining({ pid: doomed.pid, agents: 2, reason: 'its process is gone' })]);
  });

  it('with recovery set to interrupt, has its agents marked interrupted, and the fleet fails', async () => {
    const first = await fixtures.harness();
    const doomed = await serveChild(first.dbPath);
    const { fleet_id } = await doomed.call('spawn_fleet', { agents: [{ role: 'sleeper', prompt: 'sleep:60000' }] });
    const { pid } = await firstAgentRunning(first, fleet_id);
    process.kill(doomed.pid, 'SIGKILL');
    const rescuer = await fixtures.harness({ reclaimEveryMs: 100, recovery: 'interrupt' }, { dir: first.dir, dbPath: first.dbPath });
    const status = await settled(rescuer, fleet_id);
    expect(status.agents[0]).toMatchObject({ status: 'interrupted' });
    expect(status.agents[0].error).toMatch(/^its supervising server \(pid \d+\) died$/);
    expect(status.fleet.status).toBe('failed');
    await eventually(() => expect(isAlive(pid)).toBe(false));
  });
});

describe('a server whose process lives but whose heartbeat stopped (stopped, or hung)', () => {
  it('has its agents taken over: the orphan is killed, the agent restarts here, the server itself is left alone', async () => {
    const { dir, cleanup } = tempDir();
    fixtures.later(cleanup);
    const dbPath = join(dir, 'mesh.db');
    const hung = fixtures.sleeper(); // stands for the server: alive, the same process that registered
    const orphan = fixtures.sleeper(true); // its agent's process, in a process group of its own
    await eventually(() => expect(processStartTime(hung.pid) !== null && processStartTime(orphan.pid) !== null).toBe(true));
    const store = openStore(dbPath);
    const now = Date.now();
    const { fleet, agents: [agent] } = createFleet(store, [{ role: 'worker', prompt: 'ok' }]);
    registerSupervisor(store, { id: 'sup-hung', pid: hung.pid, pidStart: processStartTime(hung.pid), startedAt: now - 120_000, heartbeatAt: now - 60_000 });
    markAgentStarted(store, agent!.id, { pid: orphan.pid, pidStart: processStartTime(orphan.pid), supervisorId: 'sup-hung', number: 1, tokenHash: 'unused' });
    store.close();

    const rescuer = await fixtures.harness({ reclaimEveryMs: 100 }, { dir, dbPath });
    const status = await settled(rescuer, fleet.id);
    expect(status.agents[0]).toMatchObject({ status: 'complete', attempts: 2, output: 'worker: done\n' });
    await eventually(() => expect(isAlive(orphan.pid)).toBe(false));
    expect(isAlive(hung.pid)).toBe(true);
    const [reclaimed, ...more] = eventsOfKind(rescuer, 'supervisor_reclaimed');
    expect(more).toEqual([]);
    expect(reclaimed).toMatchObject({ supervisor: 'sup-hung', pid: hung.pid, agents: 1 });
    expect(reclaimed!.reason).toMatch(/^its heartbeat is \d+ s old$/);
  });
});

describe('a server whose agents were taken over while it was stopped', () => {
  it('on its next heartbeat stops their processes, records nothing about them, and registers again', async () => {
    const h = await fixtures.harness({ heartbeatEveryMs: 50 });
    const { fleet_id, agent_ids: [agent] } = await h.ok('spawn_fleet', { agents: [{ role: 'sleeper', prompt: 'sleep:60000' }] });
    const running = await firstAgentRunning(h, fleet_id);
    // What another server does once it has judged this one dead (this server runs in-process, so
    // its heartbeat cannot come between the read and the claim).
    const [mine, ...others] = otherSupervisors(h.store, 'nobody');
    expect(others).toEqual([]);
    expect(takeOverAgents(h.store, mine!, 'sup-other', 'its heartbeat is 31 s old')!.map((a) => a.id)).toEqual([agent]);

    await eventually(() => expect(isAlive(running.pid)).toBe(false));
    await eventually(() => expect(otherSupervisors(h.store, 'nobody').map((s) => s.id)).toEqual([mine!.id]));
    expect((await h.ok('get_health')).agents_supervised_here).toBe(0);
    const row = h.store.first(h.store.sql.selectFrom('agents').select(['status', 'attempts', 'supervisor_id']).where('id', '=', agent!));
    expect(row).toEqual({ status: 'running', attempts: 1, supervisor_id: 'sup-other' });
    expect(fleetEvents(h, fleet_id).filter((e) => e.agent_id === agent).map((e) => e.kind)).toEqual(['agent_spawned', 'agent_started']);
  });
});

describe('two live servers', () => {
  it('never touch each other\'s agents', async () => {
    const watcher = await fixtures.harness({ reclaimEveryMs: 50 });
    const other = await serveChild(watcher.dbPath);
    const { fleet_id } = await other.call('spawn_fleet', { agents: [{ role: 'sleeper', prompt: 'sleep:60000' }] });
    const running = await firstAgentRunning(watcher, fleet_id);
    // A dead server registered now: once the watcher has taken it over, it has judged the live one too.
    const gone = await goneProcess();
    const now = Date.now();
    registerSupervisor(watcher.store, { id: 'sup-gone', pid: gone.pid, pidStart: gone.pidStart, startedAt: now, heartbeatAt: now });
    await eventually(() => expect(eventsOfKind(watcher, 'supervisor_reclaimed')).toEqual([expect.objectContaining({ supervisor: 'sup-gone', agents: 0 })]));
    const after = (await watcher.ok('fleet_status', { fleet_id })).agents[0];
    expect(after).toMatchObject({ status: 'running', pid: running.pid, attempts: 1 });
    expect(isAlive(running.pid)).toBe(true);
    expect(fleetEvents(watcher, fleet_id).map((e) => e.kind)).not.toContain('agent_recovered');
    await other.client.close(); // its own shutdown interrupts and ends its agent
    await eventually(async () => expect((await watcher.ok('fleet_status', { fleet_id })).agents[0].status).toBe('interrupted'));
    await eventually(() => expect(isAlive(running.pid)).toBe(false));
  });
});
