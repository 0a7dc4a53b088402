import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
beforeEach(async () => { h = await startHarness(); });
afterEach(() => h.close());

const seats = [{ role: 'reviewer', prompt: 'review the diff' }, { role: 'tester', prompt: 'test it', agent: 'qa' }];

describe('fleet templates', () => {
  it('each save is the next version; get returns the latest or the one asked for', async () => {
    const v1 = await h.ok('save_fleet_template', { name: 'review-fleet', description: 'two seats', agents: seats });
    expect(v1.template).toMatchObject({ name: 'review-fleet', version: 1, description: 'two seats', agents: seats });
    const v2 = await h.ok('save_fleet_template', { name: 'review-fleet', agents: [seats[0]] });
    expect(v2.template.version).toBe(2);
    expect((await h.ok('get_fleet_template', { name: 'review-fleet' })).template).toMatchObject({ version: 2, agents: [seats[0]] });
    expect((await h.ok('get_fleet_template', { name: 'review-fleet', version: 1 })).template.agents).toEqual(seats);
    expect(await h.ok('list_fleet_templates')).toEqual({
      templates: [{ name: 'review-fleet', version: 2, versions: [1, 2], description: null, agent_count: 1, created_at: expect.any(Number) }],
      has_more: false,
      next_offset: null,
    });
  });

  it('spawn_from_template gives a spec spawn_fleet accepts', async () => {
    await h.ok('save_fleet_template', { name: 'pair', agents: seats });
    const { spec } = await h.ok('spawn_from_template', { name: 'pair' });
    expect(spec).toEqual({ agents: seats });
    const { agent_ids } = await h.ok('spawn_fleet', spec);
    expect(agent_ids).toHaveLength(2);
  });

  it('export and import carry a template to another database as its next version', async () => {
    await h.ok('save_fleet_template', { name: 'pair', description: 'd', agents: seats });
    const doc = await h.ok('export_fleet_template', { name: 'pair' });
    expect(doc).toMatchObject({ schema: 'meshfleet-template-v1', name: 'pair', version: 1, description: 'd', agents: seats, exported_at: expect.any(Number) });
    const other = await startHarness();
    try {
      await other.ok('save_fleet_template', { name: 'pair', agents: [seats[0]] });
      expect((await other.ok('import_fleet_template', { template: doc })).template).toMatchObject({ name: 'pair', version: 2, agents: seats });
      expect(await other.fails('import_fleet_template', { template: { ...doc, schema: 'something-else' } })).toMatch(/only "meshfleet-template-v1" can be imported/);
    } finally {
      await other.close();
    }
  });

  it('delete removes one version or all of them', async () => {
    for (let i = 0; i < 3; i++) await h.ok('save_fleet_template', { name: 'pair', agents: seats });
    expect(await h.ok('delete_fleet_template', { name: 'pair', version: 2 })).toEqual({ ok: true, name: 'pair', deleted_versions: [2] });
    expect(await h.fails('get_fleet_template', { name: 'pair', version: 2 })).toMatch(/has no version 2; it has 1, 3/);
    expect(await h.ok('delete_fleet_template', { name: 'pair' })).toEqual({ ok: true, name: 'pair', deleted_versions: [1, 3] });
    expect(await h.ok('list_fleet_templates')).toEqual({ templates: [], has_more: false, next_offset: null });
    expect(await h.fails('delete_fleet_template', { name: 'pair' })).toMatch(/No template "pair"/);
    // A version number, once given, is never given again: an old export keeps meaning one thing.
    expect((await h.ok('save_fleet_template', { name: 'pair', agents: seats })).template.version).toBe(4);
  });

  it('refuses bad names and seat counts, saving nothing', async () => {
    expect(await h.fails('save_fleet_template', { name: 'Review Fleet', agents: seats })).toMatch(/name must be 1 to 64 lowercase letters, digits, "-" or "_"/);
    expect(await h.fails('save_fleet_template', { name: 'x'.repeat(65), agents: seats })).toMatch(/name must be 1 to 64/);
    expect(await h.fails('save_fleet_template', { name: 'empty', agents: [] })).toMatch(/agents must hold at least 1 item/);
    expect(await h.fails('save_fleet_template', { name: 'huge', agents: Array.from({ length: 33 }, () => seats[0]) })).toMatch(/agents has 33 items; the limit is 32/);
    expect(await h.ok('list_fleet_templates')).toEqual({ templates: [], has_more: false, next_offset: null });
  });

  it('templates survive a restart of the server', async () => {
    await h.ok('save_fleet_template', { name: 'keep', agents: seats });
    const again = await startHarness({}, { dir: h.dir, dbPath: h.dbPath });
    try {
      expect((await again.ok('get_fleet_template', { name: 'keep' })).template.agents).toEqual(seats);
    } finally {
      await again.close();
    }
  });

  it('list_fleet_templates pages by name', async () => {
    for (const name of ['a', 'b', 'c']) await h.ok('save_fleet_template', { name, agents: seats });
    const first = await h.ok('list_fleet_templates', { limit: 2 });
    expect(first.templates.map((t: { name: string }) => t.name)).toEqual(['a', 'b']);
    expect(first).toMatchObject({ has_more: true, next_offset: 2 });
    const rest = await h.ok('list_fleet_templates', { limit: 2, offset: first.next_offset });
    expect(rest).toMatchObject({ templates: [{ name: 'c' }], has_more: false, next_offset: null });
  });
});
