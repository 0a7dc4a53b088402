// Completing tasks teaches routing: nobody calls record_routing_outcome, yet route_work and
// next_task rank the agent that delivers above the one that does not.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { rawDatabase } from '../helpers/database.js';
import { startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
let fleetId: string, flaky: string, solid: string;

beforeEach(async () => {
  h = await startHarness({ runtime: { runtime: 'command', agentCommand: 'sleep 120', dbPath: '' } });
  ({ fleet_id: fleetId, agent_ids: [flaky, solid] } = await h.ok('spawn_fleet', {
    agents: [{ role: 'coder', prompt: 'a' }, { role: 'coder', prompt: 'b' }],
  }));
  for (const agent_id of [flaky, solid]) await h.ok('register_capability', { agent_id, fleet_id: fleetId, role: 'coder', skills: ['react', 'css'] });
});
afterEach(async () => {
  await h.close();
});

async function work(agent: string, success: boolean, task: Record<string, unknown>): Promise<string[]> {
  const { task_id } = await h.ok('create_task', { fleet_id: fleetId, description: 'd', ...task });
  await h.ok('claim_task', { task_id, agent_id: agent });
  return (await h.ok('complete_task', { task_id, success, result: success ? 'works' : 'broke the build' })).outcome_keys;
}

const ranking = async (description: string) =>
  (await h.ok('route_work', { description, fleet_id: fleetId, top_n: 2 })).matches.map((m: { agent_id: string; weight: number }) => [m.agent_id, m.weight]);

it('after a run of completions route_work puts the agent that succeeds first, for those skills only', async () => {
  // Equal skills: a tie, broken by id, puts the first-spawned (flaky) agent on top.
  expect(await ranking('react component')).toEqual([[flaky, 1], [solid, 1]]);
  for (let i = 0; i < 6; i++) {
    expect(await work(solid, true, { title: `Feature ${i}`, skills: ['react'] })).toEqual(['react']);
    expect(await work(flaky, false, { title: `Feature ${i}b`, skills: ['react'] })).toEqual(['react']);
  }
  const after = await ranking('react component');
  expect(after.map(([agent]: [string]) => agent)).toEqual([solid, flaky]);
  expect(after[0][1]).toBeGreaterThan(1);
  expect(after[1][1]).toBeLessThan(1);
  // Nothing was learned about css: the tie stands there.
  expect(await ranking('css layout')).toEqual([[flaky, 1], [solid, 1]]);
  expect(rawDatabase(h.dbPath).value("SELECT count(*) FROM routing_outcomes WHERE capability_key = 'react'")).toBe(12);

  // next_task weighs the same learned score: offered a react task and an older css one, the solid
  // agent takes the react one (it fits it better now); the flaky agent the css one.
  const { task_id: cssTask } = await h.ok('create_task', { fleet_id: fleetId, title: 'Layout', description: 'd', skills: ['css'] });
  const { task_id: reactTask } = await h.ok('create_task', { fleet_id: fleetId, title: 'Widget', description: 'd', skills: ['react'] });
  expect((await h.ok('next_task', { agent_id: solid })).task.id).toBe(reactTask);
  expect((await h.ok('next_task', { agent_id: flaky })).task.id).toBe(cssTask);
});

it('a task without skills is keyed by the keywords of its title and description', async () => {
  expect(await work(solid, true, { title: 'Fix the login form', description: 'The react form drops input' }))
    .toEqual(['fix', 'login', 'form', 'react', 'drops', 'input']);
  const events = rawDatabase(h.dbPath).rows<{ kind: string; agent_id: string }>("SELECT kind, agent_id FROM events WHERE kind = 'task_completed'");
  expect(events).toEqual([{ kind: 'task_completed', agent_id: solid }]);
});
