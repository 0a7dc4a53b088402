import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
beforeEach(async () => { h = await startHarness(); });
afterEach(() => h.close());

/** {"level-0": {"level-1": … {"level-<last>": leaf}}}, built without recursion: the deepest name is at depth `last`. */
function chain(last: number, leaf: unknown = [], prefix = 'level'): Record<string, unknown> {
  let tree: unknown = leaf;
  for (let depth = last; depth >= 0; depth--) tree = { [`${prefix}-${depth}`]: tree };
  return tree as Record<string, unknown>;
}

/** The largest tree accepted: level-0 … level-15, and under level-15 leaves at depth 16, 10,000 nodes in all. */
function largest(nodes = 10_000): Record<string, unknown> {
  return chain(15, Array.from({ length: nodes - 16 }, (_, i) => `leaf-${i}`));
}

/** Number of closure rows, as `sqlite3 mesh.db 'select count(*) from skill_closure'` shows it. */
function closureRows(): number {
  const db = new BetterSqlite3(h.dbPath, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM skill_closure').pluck().get() as number;
  } finally {
    db.close();
  }
}

describe('set_skill_taxonomy refuses trees past the limits, says which limit, and changes nothing', () => {
  it('a skill at depth 16 is accepted; one at depth 17 is refused, naming the depth limit and where', async () => {
    expect(await h.ok('set_skill_taxonomy', { taxonomy: chain(16) })).toEqual({ ok: true, nodes: 17 });
    const before = await h.ok('get_skill_taxonomy');
    const error = await h.fails('set_skill_taxonomy', { taxonomy: chain(17) });
    expect(error).toContain('"level-17"');
    expect(error).toContain('under "level-0 > level-1 > level-2');
    expect(error).toContain('is at depth 17 (a top-level skill is depth 0, its children depth 1); the limit is 16.');
    expect(await h.ok('get_skill_taxonomy')).toEqual(before);
  });

  it('a 100,000-deep nested object is refused at depth 17, not walked to the bottom (no stack overflow)', async () => {
    const before = await h.ok('get_skill_taxonomy');
    const error = await h.fails('set_skill_taxonomy', { taxonomy: chain(99_999) });
    expect(error).toMatch(/"level-17", under "level-0 > .*is at depth 17 .*the limit is 16\./);
    expect(await h.ok('get_skill_taxonomy')).toEqual(before);
  }, 60_000);

  it('a 65-character name is refused, naming it, where it is, and the limit; 64 characters is accepted', async () => {
    const long = 'k'.repeat(65);
    const error = await h.fails('set_skill_taxonomy', { taxonomy: { web: { frontend: [long] } } });
    expect(error).toContain(`the name "${long}", under "web > frontend", is 65 characters; the limit is 64.`);
    const tree = { web: { frontend: ['k'.repeat(64)] } };
    expect(await h.ok('set_skill_taxonomy', { taxonomy: tree })).toEqual({ ok: true, nodes: 3 });
    expect((await h.ok('get_skill_taxonomy')).taxonomy).toEqual(tree);
  });

  it('the largest tree, 10,000 nodes down to depth 16, is accepted and routes; node 10,001 is refused', async () => {
    expect(await h.ok('set_skill_taxonomy', { taxonomy: largest() })).toEqual({ ok: true, nodes: 10_000 });
    const { taxonomy, nodes } = await h.ok('get_skill_taxonomy');
    expect(nodes).toBe(10_000);
    let level: any = taxonomy;
    for (let depth = 0; depth < 15; depth++) level = level[`level-${depth}`];
    expect(level['level-15']).toHaveLength(9_984);
    // 16 levels hold 1 + 2 + … + 16 pairs, each of 9,984 leaves 17 (itself and 16 ancestors).
    expect(closureRows()).toBe(136 + 9_984 * 17);

    const { fleet_id, agent_ids: [dev] } = await h.ok('spawn_fleet', { agents: [{ role: 'dev', prompt: 'work' }] });
    await h.ok('register_capability', { agent_id: dev, fleet_id, role: 'dev', skills: ['leaf-9000'] });
    expect((await h.ok('route_work', { description: 'level-15' })).matches.map((m: { agent_id: string }) => m.agent_id)).toEqual([dev]);

    const error = await h.fails('set_skill_taxonomy', { taxonomy: largest(10_001) });
    expect(error).toContain('taxonomy has more than 10000 nodes (node 10001 is "leaf-9984", under "level-0 > level-1');
    expect(error).toContain('the limit is 10000.');
    expect((await h.ok('get_skill_taxonomy')).nodes).toBe(10_000);
  }, 60_000);
});

describe('replacing a taxonomy an older build wrote', () => {
  it('a 3,000-deep chain in the database is replaced by a normal taxonomy', async () => {
    // What an older build left: skills level-0 … level-2999, each the parent of the next. The
    // parent_id chain is whole: SQLite's ON DELETE CASCADE walks it one trigger level per link,
    // and refuses past 1,000. Its full closure (4.5 M pairs; bench/route.bench.ts times
    // replacing that) takes long to build here, so the pairs up to 20 apart (63,000) stand in.
    const old = new BetterSqlite3(h.dbPath);
    try {
      old.transaction(() => {
        old.exec('DELETE FROM skill_closure; DELETE FROM skills;');
        old.exec(`WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
          INSERT INTO skills (id, name, parent_id) SELECT i, 'level-' || (i - 1), nullif(i - 1, 0) FROM n`);
        old.exec(`INSERT INTO skill_closure (ancestor_id, descendant_id, depth)
          SELECT a.id, d.id, d.id - a.id FROM skills AS a JOIN skills AS d ON d.id BETWEEN a.id AND a.id + 20`);
      })();
    } finally {
      old.close();
    }
    expect((await h.ok('get_skill_taxonomy')).nodes).toBe(3_000);

    const tree = { web: { react: ['nextjs'] }, backend: ['node'] };
    expect(await h.ok('set_skill_taxonomy', { taxonomy: tree })).toEqual({ ok: true, nodes: 5 });
    expect(await h.ok('get_skill_taxonomy')).toEqual({ taxonomy: tree, nodes: 5 });
    expect(closureRows()).toBe(5 + 4); // each node itself; web>react, web>nextjs, react>nextjs, backend>node

    const { fleet_id, agent_ids: [nextDev] } = await h.ok('spawn_fleet', { agents: [{ role: 'dev', prompt: 'work' }] });
    await h.ok('register_capability', { agent_id: nextDev, fleet_id, role: 'dev', skills: ['nextjs'] });
    expect((await h.ok('route_work', { description: 'web app' })).matches.map((m: { agent_id: string }) => m.agent_id)).toEqual([nextDev]);
    expect((await h.ok('route_work', { description: 'level-5' })).matches).toEqual([]);
  }, 60_000);

  it('the largest tree replaces another largest tree with none of its names', async () => {
    await h.ok('set_skill_taxonomy', { taxonomy: largest() });
    const other = chain(15, Array.from({ length: 9_984 }, (_, i) => `other-leaf-${i}`), 'other');
    expect(await h.ok('set_skill_taxonomy', { taxonomy: other })).toEqual({ ok: true, nodes: 10_000 });
    expect(closureRows()).toBe(136 + 9_984 * 17);
    const { taxonomy } = await h.ok('get_skill_taxonomy');
    expect(Object.keys(taxonomy)).toEqual(['other-0']);
  }, 60_000);
});
