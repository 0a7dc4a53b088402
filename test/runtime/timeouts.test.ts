// Fleet and agent timeouts: the attempt is stopped (SIGTERM to its process group, SIGKILL after
// the grace period), recorded failed with the reason, and never retried.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/runtime/processes.js';
import { eventually } from '../helpers/mesh.js';
import { firstAgentRunning, fleetEvents, fleetTimeoutIn, RuntimeFixtures, settled } from '../helpers/runtime.js';

const fixtures = new RuntimeFixtures();
afterEach(() => fixtures.endAll());

describe('timeouts', () => {
  it('a fleet timeout set while an agent runs stops it: its whole process group ends, and the fleet fails', async () => {
    const h = await fixtures.harness();
    const { fleet_id, agent_ids: [agent] } = await h.ok('spawn_fleet', { agents: [{ role: 'sleeper', prompt: 'sleep:60000' }] });
    const running = await firstAgentRunning(h, fleet_id);
    await h.ok('set_fleet_timeout', { fleet_id, timeout_ms: await fleetTimeoutIn(h, fleet_id, 300) });
    const status = await settled(h, fleet_id);
    expect(status.agents[0]).toMatchObject({ id: agent, status: 'failed', attempts: 1 });
    expect(status.agents[0].error).toMatch(/^stopped: the fleet's timeout of \d+ ms passed$/);
    expect(status.fleet.status).toBe('failed');
    await eventually(() => expect(isAlive(running.pid)).toBe(false));
    expect(fleetEvents(h, fleet_id).map((e) => e.kind)).toContain('agent_timed_out');
  });

  it('an agent that ignores SIGTERM is killed after the grace period, recorded failed with the reason, with one agent_timed_out event', async () => {
    const h = await fixtures.harness({ killGraceMs: 1_000 });
    const notes = join(h.dir, 'term-notes');
    const { fleet_id, agent_ids: [agent] } = await h.ok('spawn_fleet', { agents: [{ role: 'stubborn', prompt: `ignore-term:${notes}` }] });
    await eventually(() => expect(existsSync(notes) && readFileSync(notes, 'utf8')).toContain('ready'), 30_000);
    await h.ok('set_fleet_timeout', { fleet_id, timeout_ms: await fleetTimeoutIn(h, fleet_id, 100) });
    const status = await settled(h, fleet_id);
    expect(status.agents[0]).toMatchObject({ id: agent, status: 'failed', attempts: 1 });
    expect(status.agents[0].error).toMatch(/^stopped: the fleet's timeout of \d+ ms passed; it was still running 1000 ms after SIGTERM and was killed$/);
    expect(readFileSync(notes, 'utf8')).toContain('SIGTERM'); // it was asked, and stayed
    await eventually(() => expect(isAlive(status.agents[0].pid)).toBe(false));
    const kinds = fleetEvents(h, fleet_id).filter((e) => e.agent_id === agent).map((e) => e.kind);
    expect(kinds).toEqual(['agent_spawned', 'agent_started', 'agent_timed_out', 'agent_failed']);
    const timedOut = fleetEvents(h, fleet_id).find((e) => e.kind === 'agent_timed_out')!;
    expect(JSON.parse(timedOut.data!)).toMatchObject({ attempt: 1 });
  });

  it('the agent timeout stops an attempt that runs too long, without a retry', async () => {
    const h = await fixtures.harness({ agentTimeoutMs: 300 });
    const { fleet_id } = await h.ok('spawn_fleet', { agents: [{ role: 'sleeper', prompt: 'sleep:60000' }] });
    const status = await settled(h, fleet_id);
    expect(status.agents[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(status.agents[0].error).toBe('stopped: the attempt ran past the agent timeout of 300 ms');
  });

  it('a fleet timeout that passes while an agent waits to be retried fails it without a new attempt', async () => {
    // The retry would come a minute later: the timeout must not wait for it.
    const h = await fixtures.harness({ retryBaseMs: 60_000, random: () => 0.5 });
    const { fleet_id, agent_ids: [agent] } = await h.ok('spawn_fleet', { agents: [{ role: 'broken', prompt: 'fail' }] });
    await eventually(() => expect(fleetEvents(h, fleet_id).map((e) => e.kind)).toContain('agent_retried'), 30_000);
    expect((await h.ok('fleet_status', { fleet_id })).agents[0].status).toBe('pending');
    await h.ok('set_fleet_timeout', { fleet_id, timeout_ms: await fleetTimeoutIn(h, fleet_id, 100) });
    const status = await settled(h, fleet_id);
    expect(status.fleet.status).toBe('failed');
    expect(status.agents[0]).toMatchObject({ id: agent, status: 'failed', attempts: 1 });
    expect(status.agents[0].error).toMatch(/^stopped: the fleet's timeout of \d+ ms passed$/);
    const kinds = fleetEvents(h, fleet_id).filter((e) => e.agent_id === agent).map((e) => e.kind);
    expect(kinds).toEqual(['agent_spawned', 'agent_started', 'agent_retried', 'agent_timed_out', 'agent_failed']);
  });
});
