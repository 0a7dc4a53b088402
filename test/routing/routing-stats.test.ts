// get_routing_stats: what recorded outcomes taught routing, per agent and key, and the factor it now applies.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAgentServer, startHarness, type Harness } from '../helpers/mesh.js';

let host: Harness;
const open: Harness[] = [];
beforeEach(async () => { host = await startHarness(); });
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
  await host.close();
});

async function record(agentId: string, key: string, successes: number, failures: number): Promise<void> {
  for (let i = 0; i < successes; i++) await host.ok('record_routing_outcome', { agent_id: agentId, capability_key: key, success: true });
  for (let i = 0; i < failures; i++) await host.ok('record_routing_outcome', { agent_id: agentId, capability_key: key, success: false });
}

describe('get_routing_stats', () => {
  it('shows per agent and key the counts and the factor route_work applies, and the factor moves the ranking', async () => {
    const { fleet_id, agent_ids: [good, bad] } = await host.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'p' }] });
    for (const agent_id of [good, bad]) await host.ok('register_capability', { agent_id, fleet_id, role: 'dev', skills: ['react'] });
    expect(await host.ok('get_routing_stats')).toEqual({ stats: [], has_more: false, next_offset: null });
    await record(good, 'React', 6, 0);
    await record(good, 'css', 0, 1);
    await record(bad, 'react', 1, 7);
    const { stats } = await host.ok('get_routing_stats', { fleet_id });
    const row = (agent: string, key: string) => stats.find((s: { agent_id: string; capability_key: string }) => s.agent_id === agent && s.capability_key === key);
    // Keys are compared lower-cased, as route_work pools them.
    expect(row(good, 'react')).toMatchObject({ fleet_id, successes: 6, failures: 0 });
    expect(row(good, 'react').factor).toBeGreaterThan(1);
    expect(row(good, 'css')).toMatchObject({ successes: 0, failures: 1, factor: 1 });
    expect(row(bad, 'react')).toMatchObject({ successes: 1, failures: 7 });
    expect(row(bad, 'react').factor).toBeLessThan(1);
    expect(stats).toHaveLength(3);
    // The same factors are the weights route_work gives these agents for react work.
    const matches = (await host.ok('route_work', { description: 'react page', top_n: 2 })).matches;
    expect(matches.map((m: { agent_id: string; weight: number }) => [m.agent_id, m.weight])).toEqual([[good, row(good, 'react').factor], [bad, row(bad, 'react').factor]]);
  });

  it('pages by offset and limit, and filters by agent', async () => {
    const { agent_ids: [a] } = await host.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }] });
    for (const key of ['k1', 'k2', 'k3']) await record(a, key, 1, 0);
    const first = await host.ok('get_routing_stats', { agent_id: a, limit: 2 });
    expect(first.stats.map((s: { capability_key: string }) => s.capability_key)).toEqual(['k1', 'k2']);
    expect(first).toMatchObject({ has_more: true, next_offset: 2 });
    const second = await host.ok('get_routing_stats', { agent_id: a, limit: 2, offset: 2 });
    expect(second).toMatchObject({ stats: [{ capability_key: 'k3' }], has_more: false, next_offset: null });
    expect((await host.ok('get_routing_stats', { agent_id: 'nobody' })).stats).toEqual([]);
    expect(await host.fails('get_routing_stats', { limit: 0 })).toMatch(/limit/);
  });

  it('an agent sees its own fleet only', async () => {
    const { fleet_id, agent_ids: [mine] } = await host.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }] });
    const { fleet_id: other, agent_ids: [theirs] } = await host.ok('spawn_fleet', { agents: [{ role: 'b', prompt: 'p' }] });
    await record(mine, 'react', 1, 0);
    await record(theirs, 'react', 1, 0);
    const own = await startAgentServer(host, mine);
    open.push(own);
    expect((await own.ok('get_routing_stats')).stats).toEqual([expect.objectContaining({ agent_id: mine, fleet_id })]);
    expect((await own.ok('get_routing_stats', { agent_id: theirs })).stats).toEqual([]);
    expect(await own.fails('get_routing_stats', { fleet_id: other })).toMatch(/cannot read routing stats of fleet/);
  });
});
