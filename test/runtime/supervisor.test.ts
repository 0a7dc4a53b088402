// A fleet of real agent processes: handoffs through their own servers, retries with backoff,
// and agents imported from a legacy ledger while they ran.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES, runCli, tempDir } from '../helpers/files.js';
import { fleetEvents as events, RuntimeFixtures, settled } from '../helpers/runtime.js';

const fixtures = new RuntimeFixtures();
afterEach(() => fixtures.endAll());
const harness = (supervision: Record<string, unknown> = {}, existing?: { dir: string; dbPath: string }) => fixtures.harness(supervision, existing);

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
    const handoffs = h.store.all(h.store.sql.selectFrom('messages as m').innerJoin('deliveries as d', 'd.message_seq', 'm.seq')
      .select(['m.from_agent_id', 'd.agent_id', 'd.acked']).where('m.fleet_id', '=', fleet_id).orderBy('m.seq'));
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

describe('agents imported from a legacy ledger while they ran', () => {
  it('are recorded interrupted by the first server, so their fleet settles instead of running forever', async () => {
    const { dir, cleanup } = tempDir();
    fixtures.later(cleanup);
    const dbPath = join(dir, 'mesh.db');
    expect(runCli(['migrate', join(FIXTURES, 'ledger-v2.json'), '--db', dbPath]).code).toBe(0);
    const h = await harness({}, { dir, dbPath });
    const status = await settled(h, 'f-rel');
    expect(status.fleet.status).toBe('failed');
    expect(Object.fromEntries(status.agents.map((a: { id: string; status: string }) => [a.id, a.status])))
      .toEqual({ 'r-lead': 'interrupted', 'r-rev': 'interrupted', 'r-test': 'complete', 'r-late': 'interrupted' });
    expect(status.agents.find((a: { id: string }) => a.id === 'r-test')).toMatchObject({ output: 'all green' });
    expect(status.agents.find((a: { id: string }) => a.id === 'r-lead').error).toMatch(/imported from a legacy ledger while it ran/);
  }, 30_000);
});
