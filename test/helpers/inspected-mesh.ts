// One mesh worth looking at, made through the tools with real test-agent processes: a finished
// planner → coder → reviewer pipeline, a failed fleet (an agent that fails every attempt), an
// inbox with unread and read mail, a broadcast, capabilities and routing outcomes.
import { expect } from 'vitest';
import { eventually, type Harness } from './mesh.js';
import { RuntimeFixtures, settled } from './runtime.js';

export interface InspectedMesh {
  dir: string;
  dbPath: string;
  pipeline: { fleetId: string; planner: string; coder: string; reviewer: string };
  failing: { fleetId: string; broken: string; fine: string };
  /** A live fleet: its waiter sleeps, holding two unacknowledged messages, one of them read. */
  live: { fleetId: string; waiter: string; lead: string };
}

export async function buildInspectedMesh(fixtures: RuntimeFixtures): Promise<{ h: Harness; mesh: InspectedMesh }> {
  const h = await fixtures.harness({ retryBaseMs: 20 });
  const spawned = await h.ok('spawn_fleet', { agents: [
    { role: 'planner', prompt: 'pipeline' }, { role: 'coder', prompt: 'pipeline' }, { role: 'reviewer', prompt: 'pipeline' },
  ] });
  const [planner, coder, reviewer] = spawned.agent_ids as string[];
  expect((await settled(h, spawned.fleet_id)).fleet.status).toBe('complete');

  const failing = await h.ok('spawn_fleet', { agents: [{ role: 'broken', prompt: 'fail' }, { role: 'fine', prompt: 'ok' }] });
  expect((await settled(h, failing.fleet_id)).fleet.status).toBe('failed');

  const live = await h.ok('spawn_fleet', { agents: [{ role: 'waiter', prompt: 'sleep:120000' }, { role: 'lead', prompt: 'sleep:120000' }] });
  const [waiter, lead] = live.agent_ids as string[];
  await eventually(async () => {
    const s = await h.ok('fleet_status', { fleet_id: live.fleet_id });
    expect(s.agents.map((a: { status: string }) => a.status)).toEqual(['running', 'running']);
  }, 30_000);
  await h.ok('send_message', { fleet_id: live.fleet_id, from_agent_id: lead, to_agent_id: waiter, type: 'question', payload: 'first: read me' });
  await h.ok('get_inbox', { agent_id: waiter }); // marks the first one read
  await h.ok('send_message', { fleet_id: live.fleet_id, from_agent_id: lead, to_agent_id: '*', type: 'alert', payload: 'second: everyone\nline two' });

  await h.ok('register_capability', { agent_id: coder, fleet_id: spawned.fleet_id, role: 'frontend coder', skills: ['react', 'css'] });
  await h.ok('register_capability', { agent_id: reviewer, fleet_id: spawned.fleet_id, role: 'reviewer', skills: ['testing'] });
  for (const success of [true, true, true, true, true, true, false]) {
    await h.ok('record_routing_outcome', { agent_id: coder, capability_key: 'React', success });
  }
  await h.ok('record_routing_outcome', { agent_id: reviewer, capability_key: 'testing', success: false });

  return {
    h,
    mesh: {
      dir: h.dir, dbPath: h.dbPath,
      pipeline: { fleetId: spawned.fleet_id, planner: planner!, coder: coder!, reviewer: reviewer! },
      failing: { fleetId: failing.fleet_id, broken: failing.agent_ids[0], fine: failing.agent_ids[1] },
      live: { fleetId: live.fleet_id, waiter: waiter!, lead: lead! },
    },
  };
}
