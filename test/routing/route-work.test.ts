import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { routeWork } from '../../src/routing/route-work.js';
import { listSynonyms } from '../../src/routing/synonyms.js';
import { openStore } from '../../src/store/open.js';
import { packageRoot } from '../../src/store/package-root.js';
import { eventually, startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
let fleet_id: string;
beforeEach(async () => { h = await startHarness(); });
afterEach(() => h.close());

/** Spawns one agent per capability and registers it; returns the agent ids in order. */
async function agents(...caps: { role: string; skills: string[] }[]): Promise<string[]> {
  const spawned = await h.ok('spawn_fleet', { agents: caps.map((c) => ({ role: c.role, prompt: 'work' })) });
  fleet_id = spawned.fleet_id;
  for (const [i, cap] of caps.entries()) await h.ok('register_capability', { agent_id: spawned.agent_ids[i], fleet_id, ...cap });
  return spawned.agent_ids;
}

const route = async (description: string, extra: Record<string, unknown> = {}) => (await h.ok('route_work', { description, top_n: 10, ...extra })).matches;
const ids = (matches: { agent_id: string }[]) => matches.map((m) => m.agent_id);

describe('the default taxonomy and synonyms', () => {
  it('a fresh database starts with a useful tree and synonym groups', async () => {
    const { taxonomy, nodes } = await h.ok('get_skill_taxonomy');
    expect(Object.keys(taxonomy)).toEqual(expect.arrayContaining(['web', 'backend', 'data', 'infra', 'testing', 'security', 'docs']));
    expect(taxonomy.web.frontend.react).toEqual(['nextjs', 'remix', 'react-native']);
    expect(nodes).toBeGreaterThan(100);
    const { synonyms } = await h.ok('list_synonyms');
    expect(synonyms.react).toEqual(expect.arrayContaining(['jsx', 'reactjs']));
    expect(synonyms.jsx).toEqual(expect.arrayContaining(['react']));
    expect(synonyms.k8s).toEqual(expect.arrayContaining(['kubernetes']));
  });
});

describe('route_work through the taxonomy', () => {
  it('an agent whose only skill is nextjs matches react work, below one with react itself; unrelated agents do not match', async () => {
    const [reactDev, nextDev] = await agents({ role: 'dev-a', skills: ['react'] }, { role: 'dev-b', skills: ['nextjs'] }, { role: 'dev-c', skills: ['postgres'] });
    const matches = await route('Build a React dashboard', { explain: true });
    expect(ids(matches)).toEqual([reactDev, nextDev]);
    expect(matches[0].explanation.reasons).toEqual([{ keyword: 'react', field: 'skill', matched: 'react', via: 'exact', through: 'react', distance: 0, relation: 'same', part: null, points: 2 }]);
    expect(matches[1].explanation.reasons).toEqual([{ keyword: 'react', field: 'skill', matched: 'nextjs', via: 'taxonomy', through: 'nextjs', distance: 1, relation: 'descendant', part: null, points: 1 }]);
    expect(matches[1].score).toBeLessThan(matches[0].score);
  });

  it('distance decays: two steps count less than one', async () => {
    const [near, far] = await agents({ role: 'x', skills: ['react'] }, { role: 'y', skills: ['nextjs'] });
    const matches = await route('frontend work');
    expect(ids(matches)).toEqual([near, far]);
    expect(matches.map((m: { score: number }) => m.score)).toEqual([1, 0.5]);
  });

  it('follows a taxonomy the user sets, and get_skill_taxonomy returns it', async () => {
    const [elixirDev] = await agents({ role: 'dev', skills: ['phoenix'] });
    expect(await route('elixir service')).toEqual([]);
    const tree = { backend: { elixir: ['phoenix', 'ecto'], node: ['express'] } };
    expect(await h.ok('set_skill_taxonomy', { taxonomy: tree })).toEqual({ ok: true, nodes: 6 });
    expect(await h.ok('get_skill_taxonomy')).toEqual({ taxonomy: tree, nodes: 6 });
    expect(ids(await route('elixir service'))).toEqual([elixirDev]);
    await h.ok('set_synonyms', { term: 'elixir', synonyms: ['ex'] });

    // A restarted server keeps the user's tree and synonyms: the defaults are seeded only once.
    const again = await startHarness({}, { dir: h.dir, dbPath: h.dbPath });
    try {
      expect(await again.ok('get_skill_taxonomy')).toEqual({ taxonomy: tree, nodes: 6 });
      expect((await again.ok('list_synonyms')).synonyms.ex).toEqual(['elixir']);
      expect(ids((await again.ok('route_work', { description: 'ex service' })).matches)).toEqual([elixirDev]);
    } finally {
      await again.close();
    }
  });
});

describe('route_work through synonyms, both ways and on both sides', () => {
  it('an agent registered with role react matches a description saying jsx', async () => {
    const [reactRole] = await agents({ role: 'react', skills: [] });
    const matches = await route('fix the jsx in the header', { explain: true });
    expect(ids(matches)).toEqual([reactRole]);
    expect(matches[0].explanation.reasons[0]).toMatchObject({ keyword: 'jsx', field: 'role', matched: 'react', via: 'synonym', points: 2.4 });
  });

  it('an agent with skill jsx matches react work', async () => {
    const [jsxSkill] = await agents({ role: 'ui', skills: ['jsx'] });
    expect(ids(await route('react component'))).toEqual([jsxSkill]);
  });

  it('set_synonyms adds a group routing uses at once, and [] removes it', async () => {
    const [pgDev] = await agents({ role: 'dba', skills: ['cockroach'] });
    expect(await route('crdb upgrade')).toEqual([]);
    expect(await h.ok('set_synonyms', { term: 'CockroachDB', synonyms: ['cockroach', 'crdb'] })).toEqual({ ok: true, term: 'cockroachdb', synonyms: ['cockroach', 'crdb'] });
    expect(ids(await route('crdb upgrade'))).toEqual([pgDev]);
    await h.ok('set_synonyms', { term: 'cockroachdb', synonyms: [] });
    expect((await h.ok('list_synonyms')).synonyms.cockroachdb).toBeUndefined();
  });
});

describe('bounded inputs: capabilities and synonyms', () => {
  it('register_capability refuses too many or too long skills, a long role or model, naming the field, the limit and the size; the earlier registration stays', async () => {
    const [dev] = await agents({ role: 'dev', skills: ['react'] });
    const register = (cap: Record<string, unknown>) => h.fails('register_capability', { agent_id: dev, fleet_id, role: 'dev', skills: ['react'], ...cap });
    expect(await register({ skills: Array.from({ length: 100_000 }, (_, i) => `skill-${i}`) })).toMatch(/skills has 100000 items; the limit is 64/);
    expect(await register({ skills: Array.from({ length: 65 }, (_, i) => `skill-${i}`) })).toMatch(/skills has 65 items; the limit is 64/);
    expect(await register({ skills: ['react', 'k'.repeat(65)] })).toMatch(/skills\[1\]: a skill is 65 characters; the limit is 64/);
    expect(await register({ role: 'r'.repeat(201) })).toMatch(/role is 201 characters; the limit is 200/);
    expect(await register({ model: 'm'.repeat(129) })).toMatch(/model is 129 characters; the limit is 128/);
    expect(ids(await route('react'))).toEqual([dev]);
    const largest = { agent_id: dev, fleet_id, role: 'r'.repeat(200), model: 'm'.repeat(128), skills: Array.from({ length: 64 }, (_, i) => `${i}`.padEnd(64, 'k')) };
    expect(await h.ok('register_capability', largest)).toMatchObject({ ok: true, skills: largest.skills });
    expect(await route('react')).toEqual([]);
  });

  it('set_synonyms refuses a long term or synonym and more than 64 synonyms, naming which; nothing changes', async () => {
    const before = await h.ok('list_synonyms');
    expect(await h.fails('set_synonyms', { term: 'k'.repeat(65), synonyms: ['x'] })).toMatch(/term is 65 characters; the limit is 64/);
    expect(await h.fails('set_synonyms', { term: 'ok', synonyms: ['fine', 'k'.repeat(65)] })).toMatch(/synonyms\[1\]: a synonym is 65 characters; the limit is 64/);
    expect(await h.fails('set_synonyms', { term: 'ok', synonyms: Array.from({ length: 65 }, (_, i) => `word-${i}`) })).toMatch(/synonyms has 65 items; the limit is 64/);
    expect(await h.ok('list_synonyms')).toEqual(before);
    const group = Array.from({ length: 64 }, (_, i) => `${i}`.padEnd(64, 'w'));
    expect(await h.ok('set_synonyms', { term: 'k'.repeat(64), synonyms: group })).toMatchObject({ ok: true, synonyms: group });
  });

  it('a word in several groups cannot gather more than 64 synonyms across them', async () => {
    await h.ok('set_synonyms', { term: 'alpha', synonyms: ['shared', ...Array.from({ length: 40 }, (_, i) => `a-${i}`)] });
    const error = await h.fails('set_synonyms', { term: 'beta', synonyms: ['shared', ...Array.from({ length: 30 }, (_, i) => `b-${i}`)] });
    expect(error).toMatch(/^"shared" would have 72 synonyms, counting the other groups it is in; the limit is 64\./);
    const { synonyms } = await h.ok('list_synonyms');
    expect(synonyms.beta).toBeUndefined();
    expect(synonyms.alpha).toHaveLength(41);
    expect(synonyms.alpha).toContain('shared');
  });

  it('listSynonyms pages through the terms: limit, after, next', async () => {
    const all = listSynonyms(h.store);
    const terms = Object.keys(all.synonyms);
    expect(all.next).toBeNull();
    expect(terms.length).toBeGreaterThan(60); // the seeded groups
    const pages = [listSynonyms(h.store, { limit: 30 })];
    while (pages.at(-1)!.next !== null) pages.push(listSynonyms(h.store, { limit: 30, after: pages.at(-1)!.next }));
    expect(pages.map((p) => Object.keys(p.synonyms).length)).toEqual([30, 30, terms.length - 60]);
    expect(pages[0]!.next).toBe(terms[29]);
    expect(Object.assign({}, ...pages.map((p) => p.synonyms))).toEqual(all.synonyms);
    expect(() => listSynonyms(h.store, { limit: 101 })).toThrow(/limit must be a whole number from 1 to 100; got "101"/);
    expect(await h.ok('list_synonyms')).toEqual(all);
  });
});

describe('feedback that counts', () => {
  it('changes a top_n = 1 choice, per capability key, and survives a restart', async () => {
    const [first, second] = await agents({ role: 'dev-1', skills: ['react', 'sql'] }, { role: 'dev-2', skills: ['react', 'sql'] });
    const top = async (description: string) => (await h.ok('route_work', { description })).matches.map((m: { agent_id: string }) => m.agent_id);
    const [tieWinner, tieLoser] = [first, second].sort();
    expect(await top('react form')).toEqual([tieWinner]); // equal scores: agent id decides

    await h.ok('record_routing_outcome', { agent_id: tieLoser, capability_key: 'react', success: true });
    expect(await top('react form')).toEqual([tieWinner]); // one lucky success does not decide
    await h.ok('record_routing_outcome', { agent_id: tieLoser, capability_key: 'React', success: true });
    expect(await top('react form')).toEqual([tieLoser]); // two do, before the top-n cut

    for (let i = 0; i < 3; i++) await h.ok('record_routing_outcome', { agent_id: tieWinner, capability_key: 'sql', success: false });
    const sql = (await h.ok('route_work', { description: 'sql report', top_n: 2, explain: true })).matches;
    expect(ids(sql)).toEqual([tieLoser, tieWinner]);
    expect(sql[1].explanation.outcome).toMatchObject({ successes: 0, failures: 3, factor: 0.853 });
    // Failing at sql does not touch the same agent's react score.
    const react = (await h.ok('route_work', { description: 'react', top_n: 2, explain: true })).matches;
    expect(react.find((m: { agent_id: string }) => m.agent_id === tieWinner).weight).toBe(1);

    const again = await startHarness({}, { dir: h.dir, dbPath: h.dbPath });
    try {
      expect((await again.ok('route_work', { description: 'react form' })).matches[0].agent_id).toBe(tieLoser);
    } finally {
      await again.close();
    }
  });

  it('live agents rank before agents that have finished or failed', async () => {
    // Real processes: the react agent ends at once, the dev agent stays running until the harness stops it.
    const live = await startHarness({ runtime: { runtime: 'command', agentCommand: '[ "$MESHFLEET_ROLE" = react ] || exec sleep 30', dbPath: '' } });
    try {
      const spawned = await live.ok('spawn_fleet', { agents: [{ role: 'react', prompt: 'work' }, { role: 'dev', prompt: 'work' }] });
      const [finished, running] = spawned.agent_ids;
      let runningPid = 0;
      await live.ok('register_capability', { agent_id: finished, fleet_id: spawned.fleet_id, role: 'react', skills: ['react', 'jsx'] });
      await live.ok('register_capability', { agent_id: running, fleet_id: spawned.fleet_id, role: 'dev', skills: ['react'] });
      await eventually(async () => {
        const { agents: [first, second] } = await live.ok('fleet_status', { fleet_id: spawned.fleet_id });
        expect(first).toMatchObject({ id: finished, status: 'complete' });
        expect(second).toMatchObject({ id: running, status: 'running', pid: expect.any(Number) });
        runningPid = second.pid;
      });
      expect(() => process.kill(runningPid, 0)).not.toThrow();

      const matches = (await live.ok('route_work', { description: 'react jsx', top_n: 10 })).matches;
      expect(matches.map((m: { agent_id: string; status: string }) => [m.agent_id, m.status])).toEqual([[running, 'running'], [finished, 'complete']]);
      expect(matches[1].score).toBeGreaterThan(matches[0].score);
      expect(() => process.kill(runningPid, 0)).not.toThrow(); // still live when it was ranked
    } finally {
      await live.close();
    }
  });

  it('fleet_id keeps the ranking to one fleet', async () => {
    const [inFirst] = await agents({ role: 'react', skills: [] });
    const firstFleet = fleet_id;
    const [inSecond] = await agents({ role: 'react', skills: [] });
    expect(ids(await route('react')).sort()).toEqual([inFirst, inSecond].sort());
    expect(ids(await route('react', { fleet_id: firstFleet }))).toEqual([inFirst]);
  });
});

describe('bad taxonomies are clear errors and change nothing', () => {
  it.each([
    ['a name used twice', { web: { react: [] }, mobile: { react: [] } }, /"react" is used twice, at web > react and at mobile > react/],
    ['a cycle', { web: { react: { web: [] } } }, /"web" is its own ancestor \(web > react > web\), a cycle/],
    ['a number for children', { web: 5 }, /the children of web are 5/],
    ['a nested array', { web: [['react']] }, /web\[0\] is an array; array items must be names or objects/],
    ['an empty name', { web: { '': [] } }, /an empty name at web > /],
  ])('%s', async (_, taxonomy, message) => {
    const before = await h.ok('get_skill_taxonomy');
    expect(await h.fails('set_skill_taxonomy', { taxonomy })).toMatch(message);
    expect(await h.ok('get_skill_taxonomy')).toEqual(before);
  });
});

describe('taxonomy replacement under concurrent route_work', () => {
  it('every answer comes from the old tree or the new one, never a half-built one', async () => {
    const [nextDev] = await agents({ role: 'x', skills: ['nextjs'] }, { role: 'y', skills: ['vue'] });
    const flipper = spawn(process.execPath, [join(packageRoot, 'test', 'helpers', 'taxonomy-flipper.mjs'), h.dbPath]);
    let flips = 0; // as the flipper reports them, every 50
    await new Promise<void>((resolve) => flipper.stdout.on('data', (chunk: Buffer) => {
      const last = chunk.toString().trim().split('\n').pop()!;
      if (last !== 'ready') flips = Number(last);
      resolve();
    }));
    const reader = openStore(h.dbPath);
    const seen = new Set<string>();
    try {
      // Read while the trees change under us, until both have been seen over a hundred replacements
      // (however slow the machine), or give up after 30 s and let the assertions say what was missing.
      const deadline = Date.now() + 30_000;
      while (!(flips >= 100 && seen.size >= 2) && Date.now() < deadline) {
        const answer = routeWork(reader, 'react', { topN: 5 }).map((m) => `${m.agentId === nextDev ? 'next' : 'vue'}:${m.score}`).join(',');
        seen.add(answer);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      flipper.kill();
      reader.close();
    }
    // Tree 1: nextjs is a child of react (1 point); tree 2: a grandchild (0.5); vue is react's
    // sibling in both (0.4). A half-built tree (no nodes yet, nodes without their closure rows)
    // would answer something else.
    expect([...seen].sort()).toEqual(['next:0.5,vue:0.4', 'next:1,vue:0.4']);
    expect(flips).toBeGreaterThanOrEqual(100);
  });
});
