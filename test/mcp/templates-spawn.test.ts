// spawn_from_template with spawn: true starts the fleet; without it, the old {spec} answer.
import { afterEach, describe, expect, it } from 'vitest';
import { rawDatabase } from '../helpers/database.js';
import { startAgentServer } from '../helpers/mesh.js';
import { RuntimeFixtures, settled } from '../helpers/runtime.js';

const fixtures = new RuntimeFixtures();
afterEach(() => fixtures.endAll());

const seats = [{ role: 'writer', prompt: 'write it' }, { role: 'checker', prompt: 'check it', profile: 'lead' }];

describe('spawn_from_template spawn: true', () => {
  it('starts the template\'s fleet, whose agents run and finish', async () => {
    const h = await fixtures.harness();
    await h.ok('save_fleet_template', { name: 'pair', agents: seats });
    const started = await h.ok('spawn_from_template', { name: 'pair', spawn: true });
    expect(started).toEqual({ fleet_id: expect.any(String), agent_ids: [expect.any(String), expect.any(String)], template: { name: 'pair', version: 1 } });
    const status = await settled(h, started.fleet_id);
    expect(status.fleet.status).toBe('complete');
    expect(status.agents.map((a: { id: string; role: string; profile: string; status: string }) => [a.id, a.role, a.profile, a.status]))
      .toEqual([[started.agent_ids[0], 'writer', 'worker', 'complete'], [started.agent_ids[1], 'checker', 'lead', 'complete']]);
    const { results } = await h.ok('collect_results', { fleet_id: started.fleet_id });
    expect(results.map((r: { output: string }) => r.output)).toEqual(['writer: done\n', 'checker: done\n']);
  });

  it('starts the version asked for; without spawn (or spawn: false) the answer is the spec, as before', async () => {
    const h = await fixtures.harness();
    await h.ok('save_fleet_template', { name: 'pair', agents: seats });
    await h.ok('save_fleet_template', { name: 'pair', agents: [seats[0]] });
    const old = await h.ok('spawn_from_template', { name: 'pair', version: 1, spawn: true });
    expect(old.agent_ids).toHaveLength(2);
    expect((await settled(h, old.fleet_id)).fleet.status).toBe('complete');
    expect(await h.ok('spawn_from_template', { name: 'pair' })).toEqual({ spec: { agents: [seats[0]] }, template: { name: 'pair', version: 2 } });
    expect(await h.ok('spawn_from_template', { name: 'pair', spawn: false })).toEqual({ spec: { agents: [seats[0]] }, template: { name: 'pair', version: 2 } });
    expect(rawDatabase(h.dbPath).value('SELECT count(*) FROM fleets')).toBe(1);
    expect(await h.fails('spawn_from_template', { name: 'pair', spawn: 'yes' })).toMatch(/spawn must be true or false/);
    expect(await h.fails('spawn_from_template', { name: 'nope', spawn: true })).toMatch(/No template "nope"/);
    expect(rawDatabase(h.dbPath).value('SELECT count(*) FROM fleets')).toBe(1);
  });

  it('is the operator\'s alone: an agent (worker or lead) gets the spec, and spawn: true is refused, starting nothing', async () => {
    const h = await fixtures.harness();
    await h.ok('save_fleet_template', { name: 'pair', agents: seats });
    const { fleet_id, agent_ids: [worker, lead] } = await h.ok('spawn_fleet', { agents: [{ role: 'w', prompt: 'sleep:20000' }, { role: 'l', prompt: 'sleep:20000', profile: 'lead' }] });
    for (const agentId of [worker, lead]) {
      const own = await startAgentServer(h, agentId);
      try {
        expect(await own.fails('spawn_from_template', { name: 'pair', spawn: true }))
          .toMatch(new RegExp(`^spawn: true starts a new fleet, which only the operator may do; (worker|lead) agent "${agentId}" of fleet "${fleet_id}" may read the spec only\\. Leave out spawn to get the spec`));
        expect((await own.ok('spawn_from_template', { name: 'pair' })).spec).toEqual({ agents: seats });
      } finally {
        await own.close();
      }
    }
    expect(rawDatabase(h.dbPath).value('SELECT count(*) FROM fleets')).toBe(1);
  });
});
