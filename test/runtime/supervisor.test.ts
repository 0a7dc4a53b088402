import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/runtime/processes.js';
import { packageRoot } from '../../src/store/package-root.js';
import { rawDatabase } from '../helpers/database.js';
import { CLI, FIXTURES, runCli, tempDir } from '../helpers/files.js';
import { eventually, startHarness, type Harness } from '../helpers/mesh.js';

const TEST_AGENT = `"${process.execPath}" "${join(packageRoot, 'dist', 'src', 'runtime', 'test-agent.js')}"`;
const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

async function harness(supervision: Record<string, unknown> = {}, existing?: { dir: string; dbPath: string }): Promise<Harness> {
  const h = await startHarness({ runtime: { runtime: 'command', agentCommand: TEST_AGENT, dbPath: '' }, env: { PATH: process.env.PATH }, supervision }, existing);
  harnesses.push(h);
  return h;
}

async function settled(h: Harness, fleet_id: string, timeoutMs = 20_000) {
  return eventually(async () => {
    const status = await h.ok('fleet_status', { fleet_id });
    expect(['complete', 'failed']).toContain(status.fleet.status);
    return status;
  }, timeoutMs);
}

const events = (h: Harness, fleetId: string) =>
  rawDatabase(h.store.path).rows('SELECT kind, agent_id, data FROM events WHERE fleet_id = ? ORDER BY id', fleetId) as { kind: string; agent_id: string | null; data: string | null }[];

describe('a fleet of real agent processes', () => {
  it('a pipeline of three agents hands work along through their own servers, and completes', async () => {
    const h = await harness();
    const { fleet_id, agent_ids } = await h.ok('spawn_fleet', {
      agents: [{ role: 'planner', prompt: 'pipeline' }, { role: 'coder', prompt: 'pipeline' }, { role: 'reviewer', prompt: 'pipeline' }],
    });
    const status = await settled(h, fleet_id, 60_000);
    expect(status.fleet.status).toBe('complete');
    const { results } = await h.ok('collect_results', { fleet_id });
    expect(results.map((r: { agent_id: string; output: string }) => [r.agent_id, r.output])).toEqual([
      [agent_ids[0], 'planner\n'], [agent_ids[1], 'planner > coder\n'], [agent_ids[2], 'planner > coder > reviewer\n'],
    ]);
    // Each handoff was sent by the agent's own server, as that agent, and acknowledged by the next.
    const handoffs = rawDatabase(h.store.path).rows(`SELECT m.from_agent_id, d.agent_id, d.acked FROM messages m JOIN deliveries d ON d.message_seq = m.seq
                                         WHERE m.fleet_id = ? ORDER BY m.seq`, fleet_id);
    expect(handoffs).toEqual([
      { from_agent_id: agent_ids[0], agent_id: agent_ids[1], acked: 1 },
      { from_agent_id: agent_ids[1], agent_id: agent_ids[2], acked: 1 },
    ]);
  }, 90_000);

  it('a flaky agent is retried once and succeeds; fleet_status shows two attempts', async () => {
    const h = await harness();
    const marker = join(h.dir, 'flaky-marker');
    const { fleet_id, agent_ids: [agent] } = await h.ok('spawn_fleet', { agents: [{ role: 'flaky', prompt: `flaky:${marker}` }] });
    const status = await settled(h, fleet_id);
    expect(status.fleet.status).toBe('complete');
    expect(status.agents[0]).toMatchObject({ id: agent, status: 'complete', attempts: 2, retry_count: 1, output: 'flaky: recovered\n' });
    const retried = events(h, fleet_id).filter((e) => e.kind === 'agent_retried');
    expect(retried).toHaveLength(1);
    expect(JSON.parse(retried[0]!.data!)).toMatchObject({ failed_attempt: 1, error: 'flaky: flaky failure\n' });
  }, 30_000);

  it('a permanent failure is tried three times, each failure handled once, and fails the fleet', async () => {
    const h = await harness();
    const { fleet_id } = await h.ok('spawn_fleet', { agents: [{ role: 'broken', prompt: 'fail' }, { role: 'fine', prompt: 'ok' }] });
    const status = await settled(h, fleet_id);
    expect(status.fleet.status).toBe('failed');
    expect(status.agents[0]).toMatchObject({ status: 'failed', attempts: 3, error: 'broken: failing on purpose\n' });
    expect(status.agents[1]).toMatchObject({ status: 'complete', attempts: 1 });
    const kinds = events(h, fleet_id).filter((e) => e.agent_id === status.agents[0].id).map((e) => e.kind);
    expect(kinds).toEqual(['agent_spawned', 'agent_started', 'agent_retried', 'agent_started', 'agent_retried', 'agent_started', 'agent_failed']);
  }, 30_000);

  it('backs off exponentially between attempts', async () => {
    const h = await harness({ retryBaseMs: 200, random: () => 0.5 });
    const { fleet_id } = await h.ok('spawn_fleet', { agents: [{ role: 'broken', prompt: 'fail' }] });
    await settled(h, fleet_id);
    const delays = events(h, fleet_id).filter((e) => e.kind === 'agent_retried').map((e) => JSON.parse(e.data!).delay_ms);
    expect(delays).toEqual([200, 400]);
  }, 30_000);
});

describe('timeouts', () => {
  it('a fleet timeout set while an agent runs stops it: its whole process group ends, and the fleet fails', async () => {
    const h = await harness();
    const { fleet_id, agent_ids: [agent] } = await h.ok('spawn_fleet', { agents: [{ role: 'sleeper', prompt: 'sleep:60000' }] });
    const running = await eventually(async () => {
      const s = await h.ok('fleet_status', { fleet_id });
      expect(s.agents[0].status).toBe('running');
      return s.agents[0];
    });
    const ageMs = Date.now() - (await h.ok('fleet_status', { fleet_id })).fleet.created_at;
    await h.ok('set_fleet_timeout', { fleet_id, timeout_ms: ageMs + 300 });
    const status = await settled(h, fleet_id);
    expect(status.agents[0]).toMatchObject({ id: agent, status: 'failed', attempts: 1 });
    expect(status.agents[0].error).toMatch(/stopped: the fleet's timeout of \d+ ms passed/);
    expect(status.fleet.status).toBe('failed');
    await eventually(() => expect(isAlive(running.pid)).toBe(false));
    expect(events(h, fleet_id).map((e) => e.kind)).toContain('agent_timed_out');
  }, 30_000);

  it('an agent that ignores SIGTERM is killed after the grace period, with one agent_timed_out event', async () => {
    const h = await harness({ killGraceMs: 1_000 });
    const notes = join(h.dir, 'term-notes');
    const { fleet_id, agent_ids: [agent] } = await h.ok('spawn_fleet', { agents: [{ role: 'stubborn', prompt: `ignore-term:${notes}` }] });
    await eventually(() => expect(existsSync(notes) && readFileSync(notes, 'utf8')).toContain('ready'), 20_000);
    const ageMs = Date.now() - (await h.ok('fleet_status', { fleet_id })).fleet.created_at;
    await h.ok('set_fleet_timeout', { fleet_id, timeout_ms: ageMs + 100 });
    const status = await settled(h, fleet_id);
    expect(status.agents[0]).toMatchObject({ id: agent, status: 'failed', attempts: 1 });
    expect(readFileSync(notes, 'utf8')).toContain('SIGTERM'); // it was asked, and stayed
    await eventually(() => expect(isAlive(status.agents[0].pid)).toBe(false));
    const timedOut = events(h, fleet_id).filter((e) => e.kind === 'agent_timed_out');
    expect(timedOut).toHaveLength(1);
    expect(JSON.parse(timedOut[0]!.data!)).toMatchObject({ attempt: 1 });
  }, 30_000);

  it('the agent timeout stops an attempt that runs too long, without a retry', async () => {
    const h = await harness({ agentTimeoutMs: 300 });
    const { fleet_id } = await h.ok('spawn_fleet', { agents: [{ role: 'sleeper', prompt: 'sleep:60000' }] });
    const status = await settled(h, fleet_id);
    expect(status.agents[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(status.agents[0].error).toMatch(/ran past the agent timeout of 300 ms/);
  }, 30_000);
});

describe('many servers on one database', () => {
  async function serveChild(dbPath: string, env: Record<string, string> = {}) {
    const transport = new StdioClientTransport({
      command: process.execPath, args: [CLI, 'serve', '--db', dbPath],
      env: { PATH: process.env.PATH ?? '', MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: TEST_AGENT, ...env },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'host', version: '0' });
    await client.connect(transport);
    const call = async (name: string, args: Record<string, unknown> = {}) => {
      const r = await client.callTool({ name, arguments: args });
      return JSON.parse((r.content as { text: string }[])[0]!.text);
    };
    return { client, transport, call };
  }

  it('when a server is killed, another takes over its agents: orphans end, agents restart, the fleet settles', async () => {
    const first = await harness();
    const doomed = await serveChild(first.dbPath);
    const markers = [join(first.dir, 'hang-a'), join(first.dir, 'hang-b')];
    const { fleet_id } = await doomed.call('spawn_fleet', { agents: markers.map((m, i) => ({ role: `worker-${i}`, prompt: `hang-once:${m}` })) });
    const before = await eventually(async () => {
      const s = await first.ok('fleet_status', { fleet_id });
      expect(s.agents.every((a: { status: string }) => a.status === 'running')).toBe(true);
      expect(markers.every((m) => existsSync(m))).toBe(true);
      return s;
    });
    process.kill(doomed.transport.pid!, 'SIGKILL');

    const rescuer = await harness({ reclaimEveryMs: 100 }, { dir: first.dir, dbPath: first.dbPath });
    const status = await settled(rescuer, fleet_id, 30_000);
    expect(status.fleet.status).toBe('complete');
    for (const agent of status.agents) expect(agent).toMatchObject({ status: 'complete', attempts: 2, output: `${agent.role}: done after a restart\n` });
    // The first attempts, orphaned by the killed server, were ended.
    for (const agent of before.agents) await eventually(() => expect(isAlive(agent.pid)).toBe(false));
    const kinds = events(rescuer, fleet_id).map((e) => e.kind);
    expect(kinds.filter((k) => k === 'agent_recovered')).toHaveLength(2);
    await doomed.client.close().catch(() => undefined);
  }, 60_000);

  it('with recovery set to interrupt, the agents of a dead server are marked interrupted and the fleet fails', async () => {
    const first = await harness();
    const doomed = await serveChild(first.dbPath);
    const { fleet_id } = await doomed.call('spawn_fleet', { agents: [{ role: 'sleeper', prompt: 'sleep:60000' }] });
    const pid = await eventually(async () => {
      const s = await first.ok('fleet_status', { fleet_id });
      expect(s.agents[0].status).toBe('running');
      return s.agents[0].pid as number;
    });
    process.kill(doomed.transport.pid!, 'SIGKILL');
    const rescuer = await harness({ reclaimEveryMs: 100, recovery: 'interrupt' }, { dir: first.dir, dbPath: first.dbPath });
    const status = await settled(rescuer, fleet_id);
    expect(status.agents[0]).toMatchObject({ status: 'interrupted' });
    expect(status.agents[0].error).toMatch(/its supervising server \(pid \d+\) died/);
    expect(status.fleet.status).toBe('failed');
    await eventually(() => expect(isAlive(pid)).toBe(false));
    await doomed.client.close().catch(() => undefined);
  }, 60_000);

  it('two live servers never touch each other\'s agents', async () => {
    const watcher = await harness({ reclaimEveryMs: 50 });
    const other = await serveChild(watcher.dbPath);
    const { fleet_id } = await other.call('spawn_fleet', { agents: [{ role: 'sleeper', prompt: 'sleep:60000' }] });
    const running = await eventually(async () => {
      const s = await watcher.ok('fleet_status', { fleet_id });
      expect(s.agents[0].status).toBe('running');
      return s.agents[0];
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // twenty reclaim rounds of the watcher
    const now = (await watcher.ok('fleet_status', { fleet_id })).agents[0];
    expect(now).toMatchObject({ status: 'running', pid: running.pid, attempts: 1 });
    expect(isAlive(running.pid)).toBe(true);
    expect(events(watcher, fleet_id).map((e) => e.kind)).not.toContain('agent_recovered');
    await other.client.close(); // its own shutdown interrupts and ends its agent
    await eventually(async () => expect((await watcher.ok('fleet_status', { fleet_id })).agents[0].status).toBe('interrupted'));
    await eventually(() => expect(isAlive(running.pid)).toBe(false));
  }, 60_000);
});


describe('agents imported from a legacy ledger while they ran', () => {
  it('are recorded interrupted by the first server, so their fleet settles instead of running forever', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const dbPath = join(dir, 'mesh.db');
      expect(runCli(['migrate', join(FIXTURES, 'ledger-v2.json'), '--db', dbPath]).code).toBe(0);
      const h = await harness({}, { dir, dbPath });
      const status = await settled(h, 'f-rel');
      expect(status.fleet.status).toBe('failed');
      expect(Object.fromEntries(status.agents.map((a: { id: string; status: string }) => [a.id, a.status])))
        .toEqual({ 'r-lead': 'interrupted', 'r-rev': 'interrupted', 'r-test': 'complete', 'r-late': 'interrupted' });
      expect(status.agents.find((a: { id: string }) => a.id === 'r-test')).toMatchObject({ output: 'all green' });
      expect(status.agents.find((a: { id: string }) => a.id === 'r-lead').error).toMatch(/imported from a legacy ledger while it ran/);
    } finally {
      for (const h of harnesses.splice(0)) await h.close();
      cleanup();
    }
  }, 30_000);
});
