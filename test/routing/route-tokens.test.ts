import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
beforeEach(async () => { h = await startHarness(); });
afterEach(() => h.close());

/** Spawns one agent per capability and registers it; returns the agent ids in order. */
async function agents(...caps: { role: string; skills: string[] }[]): Promise<string[]> {
  const spawned = await h.ok('spawn_fleet', { agents: caps.map((c) => ({ role: c.role, prompt: 'work' })) });
  for (const [i, cap] of caps.entries()) await h.ok('register_capability', { agent_id: spawned.agent_ids[i], fleet_id: spawned.fleet_id, ...cap });
  return spawned.agent_ids;
}

const route = async (description: string) => (await h.ok('route_work', { description, top_n: 10, explain: true })).matches;
const ids = (matches: { agent_id: string }[]) => matches.map((m) => m.agent_id);
type Reason = { keyword: string; matched: string; through: string; relation: string; part: string | null; points: number };
const reasons = (match: { explanation: { reasons: Reason[] } }) => match.explanation.reasons;

describe('route_work on real skill names', () => {
  it('routes a word chained from many names on its first four parts only; a skill keeps all its parts', async () => {
    const [elixir, chained] = await agents({ role: 'backend', skills: ['elixir'] }, { role: 'platform', skills: ['ab-cd-ef-gh-zig'] });
    expect(ids(await route('port ab-cd-ef-gh-elixir'))).toEqual([]);
    expect(ids(await route('port elixir-ab-cd'))).toEqual([elixir]);
    // The skill's fifth part still finds it.
    expect(ids(await route('zig'))).toEqual([chained]);
  });

  it('ci/cd pipeline is broken finds the agent whose skills name CI, and the one who knows ci/cd itself first', async () => {
    await h.ok('set_skill_taxonomy', { taxonomy: { infra: { ci: ['github-actions'] } } });
    const [cicd, ci, actions] = await agents(
      { role: 'devops', skills: ['ci/cd'] }, { role: 'builder', skills: ['ci'] }, { role: 'automation', skills: ['github-actions'] }, { role: 'writer', skills: ['docs'] });
    const matches = await route('ci/cd pipeline is broken');
    expect(ids(matches)).toEqual([cicd, ci, actions]);
    expect(reasons(matches[0])[0]).toMatchObject({ keyword: 'ci/cd', matched: 'ci/cd', part: null, points: 2 });
    expect(reasons(matches[1])[0]).toMatchObject({ keyword: 'ci/cd', matched: 'ci', through: 'ci', part: 'keyword', points: 1.2 });
    expect(reasons(matches[2])[0]).toMatchObject({ keyword: 'ci/cd', matched: 'github-actions', relation: 'descendant', part: 'keyword' });
  });

  it('fw3_3_1 work goes to the agent that knows fw3_3_1, not to one that knows fw3_5_1: a part never meets a part, a number never counts', async () => {
    const [fw331] = await agents({ role: 'firmware', skills: ['fw3_3_1'] }, { role: 'firmware', skills: ['fw3_5_1'] }, { role: 'other', skills: ['fw1'] });
    const exact = await route('flash fw3_3_1 onto the rig');
    expect(ids(exact)).toEqual([fw331]);
    expect(reasons(exact[0])).toMatchObject([{ keyword: 'fw3_3_1', matched: 'fw3_3_1', part: null, points: 2 }]);
    // A bare number names nobody.
    expect(await route('bug 1 in rig 3')).toEqual([]);
    // A whole word meets the part of a name: fw3 work reaches both.
    expect(ids(await route('fw3 boards'))).toHaveLength(2);
  });

  it('a taxonomy node is matched whole first: fw3_5_1 in the tree reaches fw3_3_1 as a sibling, not through its fragments', async () => {
    await h.ok('set_skill_taxonomy', { taxonomy: { 'board-a': ['fw3_3_1', 'fw3_5_1'], 'board-b': ['fw4_3_1'] } });
    const [fw331] = await agents({ role: 'firmware', skills: ['fw3_3_1'] }, { role: 'firmware', skills: ['fw4_3_1'] });
    const matches = await route('board bring-up for fw3_5_1');
    expect(ids(matches)).toEqual([fw331]);
    expect(reasons(matches[0])).toEqual([expect.objectContaining({ keyword: 'fw3_5_1', matched: 'fw3_3_1', relation: 'sibling', distance: 2, part: null, points: 0.4 })]);
  });

  it('c++, c#, .net and node.js are names of their own; node finds a node.js agent through its part', async () => {
    await h.ok('set_synonyms', { term: 'node', synonyms: [] });
    const [cpp, csharp, dotnet, nodejs, c] = await agents(
      { role: 'dev', skills: ['c++'] }, { role: 'dev', skills: ['c#'] }, { role: 'dev', skills: ['.net'] }, { role: 'dev', skills: ['node.js'] }, { role: 'dev', skills: ['c'] });
    expect(ids(await route('fix the c++ renderer'))).toEqual([cpp]);
    expect(ids(await route('a c# library'))).toEqual([csharp]);
    expect(ids(await route('port it to .NET'))).toEqual([dotnet]);
    expect(ids(await route('plain c driver'))).toEqual([c]);
    const node = await route('node service');
    expect(ids(node)).toEqual([nodejs]);
    expect(reasons(node[0])).toMatchObject([{ keyword: 'node', matched: 'node.js', part: 'agent', points: 1.2 }]);
  });

  it('vue3, python3.12 and gpt-4 meet vue, python and gpt work, below an exact name', async () => {
    const [vue3, vue, py312, gpt4] = await agents(
      { role: 'dev', skills: ['vue3'] }, { role: 'dev', skills: ['vue'] }, { role: 'dev', skills: ['python3.12'] }, { role: 'dev', skills: ['gpt-4'] });
    expect(ids(await route('vue3 widgets'))).toEqual([vue3, vue]);
    expect(ids(await route('vue widgets'))).toEqual([vue, vue3]);
    expect(ids(await route('a python script'))).toEqual([py312]);
    expect(ids(await route('gpt work'))).toEqual([gpt4]);
    // gpt-4o and gpt-4 share only a part: different names.
    expect(await route('switch to gpt-4o')).toEqual([]);
  });
});

describe('siblings through the closure table', () => {
  it('express work reaches a fastify agent (both under node) below a node agent, and explain says sibling', async () => {
    await h.ok('set_skill_taxonomy', { taxonomy: { backend: { node: ['express', 'fastify'], python: ['django'] } } });
    const [nodeDev, fastifyDev] = await agents({ role: 'dev', skills: ['node'] }, { role: 'dev', skills: ['fastify'] }, { role: 'dev', skills: ['django'] });
    const matches = await route('an express middleware');
    expect(ids(matches)).toEqual([nodeDev, fastifyDev]);
    expect(reasons(matches[0])).toMatchObject([{ matched: 'node', relation: 'ancestor', points: 1 }]);
    expect(reasons(matches[1])).toMatchObject([{ keyword: 'express', matched: 'fastify', through: 'fastify', relation: 'sibling', points: 0.4 }]);
  });
});

describe('roles are phrases', () => {
  it('one word of a role of several words counts less than a named skill; the whole role counts most', async () => {
    const [sre, web, siteOps] = await agents(
      { role: 'site reliability engineer', skills: ['grafana'] }, { role: 'web developer', skills: ['site'] }, { role: 'site', skills: [] });
    const matches = await route('marketing site is down');
    expect(ids(matches)).toEqual([siteOps, web, sre]);
    expect(matches.map((m: { score: number }) => m.score)).toEqual([3, 2, 1.5]);
    expect(reasons(matches[2])).toMatchObject([{ keyword: 'site', matched: 'site reliability engineer', points: 1.5 }]);
  });
});

describe('a bounded description', () => {
  it('routes on the first 64 distinct words: a long description costs no more than that', async () => {
    const [reactDev] = await agents({ role: 'dev', skills: ['react'] });
    const filler = Array.from({ length: 64 }, (_, i) => `word${i}x`).join(' ');
    expect(ids(await route(`react ${filler}`))).toEqual([reactDev]);
    expect(await route(`${filler} react`)).toEqual([]);
    // Repeats, stop words and bare numbers are not among the 64.
    expect(ids(await route(`${'the 42 word0x '.repeat(200)} react`))).toEqual([reactDev]);
  });
});

describe('matched', () => {
  it('lists the keywords in the description\'s order', async () => {
    await agents({ role: 'dev', skills: ['alpha', 'zeta', 'mid'] });
    expect((await route('zeta then mid and alpha'))[0].matched).toEqual(['zeta', 'mid', 'alpha']);
  });
});
