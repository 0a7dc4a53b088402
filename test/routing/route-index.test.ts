// route_work keeps what it read of the routing tables between calls (src/store/route-index.ts).
// These tests warm a server's routing, then change each thing routing depends on from another
// connection (as another server, the hub or a person at the sqlite3 prompt would), and expect the
// server's very next route_work to answer from the new state.
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerCapability } from '../../src/mesh/capabilities.js';
import { markAgentFinished } from '../../src/mesh/fleets.js';
import { recordRoutingOutcome, routeWork } from '../../src/routing/route-work.js';
import { setSynonyms } from '../../src/routing/synonyms.js';
import { setTaxonomy } from '../../src/routing/taxonomy.js';
import { openStore, type Store } from '../../src/store/open.js';
import { rawDatabase } from '../helpers/database.js';
import { hasSqliteCli } from '../helpers/files.js';
import { startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
/** Another connection to the same file: what another process writes through. */
let other: Store;
let fleetId: string;
let agentIds: string[];

beforeEach(async () => {
  h = await startHarness();
  other = openStore(h.dbPath);
  const spawned = await h.ok('spawn_fleet', { agents: [{ role: 'frontend engineer', prompt: 'w' }, { role: 'backend engineer', prompt: 'w' }, { role: 'writer', prompt: 'w' }] });
  fleetId = spawned.fleet_id;
  agentIds = spawned.agent_ids;
  await h.ok('register_capability', { agent_id: agentIds[0], fleet_id: fleetId, role: 'frontend engineer', skills: ['react', 'css'] });
  await h.ok('register_capability', { agent_id: agentIds[1], fleet_id: fleetId, role: 'backend engineer', skills: ['postgres', 'elixir'] });
  await h.ok('register_capability', { agent_id: agentIds[2], fleet_id: fleetId, role: 'writer', skills: ['docs'] });
});
afterEach(async () => {
  other.close();
  await h.close();
});

const route = async (description: string) => (await h.ok('route_work', { description, top_n: 5, explain: true })).matches as
  { agent_id: string; score: number; status: string; explanation: { reasons: { matched: string; through: string; relation: string }[] } }[];
const ids = async (description: string) => (await route(description)).map((m) => m.agent_id);

describe('route_work answers from the current tables, whoever changed them', () => {
  it('a capability registered or replaced by another process counts at the next route', async () => {
    expect(await ids('tune the kafka consumer')).toEqual([]);
    registerCapability(other, { agentId: agentIds[2]!, fleetId, role: 'writer', skills: ['docs', 'kafka'] });
    expect(await ids('tune the kafka consumer')).toEqual([agentIds[2]]);
    registerCapability(other, { agentId: agentIds[2]!, fleetId, role: 'writer', skills: ['docs'] });
    expect(await ids('tune the kafka consumer')).toEqual([]);
  });

  it('a taxonomy replaced by another process changes what a word reaches', async () => {
    expect(await ids('port the preact widgets')).toEqual([]);
    setTaxonomy(other, { frameworks: { spa: ['react', 'preact'] } });
    const [first, ...rest] = await route('port the preact widgets');
    expect([first!.agent_id, rest]).toEqual([agentIds[0], []]);
    expect(first!.explanation.reasons).toEqual([expect.objectContaining({ matched: 'react', through: 'react', relation: 'sibling' })]);
    setTaxonomy(other, { frameworks: { spa: ['preact'], mobile: ['react'] } });
    expect(await ids('port the preact widgets')).toEqual([]);
  });

  it('synonyms set by another process are used at once, and dropped at once', async () => {
    expect(await ids('move the service to the beam')).toEqual([]);
    setSynonyms(other, 'elixir', ['beam']);
    expect(await ids('move the service to the beam')).toEqual([agentIds[1]]);
    setSynonyms(other, 'elixir', []);
    expect(await ids('move the service to the beam')).toEqual([]);
  });

  it('outcomes recorded by another process move the ranking, and pruning them moves it back', async () => {
    registerCapability(other, { agentId: agentIds[2]!, fleetId, role: 'writer', skills: ['docs', 'react'] });
    // Same skill, same points: the agent id breaks the tie.
    const tied = await route('react');
    expect(tied.map((m) => m.score)).toEqual([2, 2]);
    const loser = tied[0]!.agent_id;
    const winner = tied[1]!.agent_id;
    for (let i = 0; i < 6; i++) recordRoutingOutcome(other, { agentId: winner, capabilityKey: 'react', success: true });
    expect(await ids('react')).toEqual([winner, loser]);
    // Removed by hand (as prune does): the next route forgets them.
    rawDatabase(h.dbPath).run('DELETE FROM routing_outcomes');
    expect(await ids('react')).toEqual([loser, winner]);
  });

  it('an outcome written below the newest id (an explicit id) still counts', async () => {
    registerCapability(other, { agentId: agentIds[2]!, fleetId, role: 'writer', skills: ['docs', 'react'] });
    const [loser, winner] = await ids('react');
    recordRoutingOutcome(other, { agentId: loser!, capabilityKey: 'css', success: true });
    await ids('react');
    const raw = rawDatabase(h.dbPath);
    raw.run('UPDATE routing_outcomes SET id = 1000');
    await ids('react');
    for (let i = 1; i <= 6; i++) raw.run('INSERT INTO routing_outcomes (id, agent_id, capability_key, succeeded, recorded_at) VALUES (?, ?, ?, 1, 1)', i, winner, 'react');
    expect(await ids('react')).toEqual([winner, loser]);
  });

  it('an agent that ends in another process ranks after the live ones at the next route', async () => {
    registerCapability(other, { agentId: agentIds[2]!, fleetId, role: 'writer', skills: ['docs', 'react'] });
    const [first, second] = await ids('react');
    markAgentFinished(other, first!, { status: 'failed', output: null, error: 'crashed' });
    const after = await route('react');
    expect(after.map((m) => [m.agent_id, m.status])).toEqual([[second, 'running'], [first, 'failed']]);
  });

  it.skipIf(!hasSqliteCli())('a synonym added at the sqlite3 prompt counts at the next route', async () => {
    expect(await ids('move the service to the beam')).toEqual([]);
    const cli = spawnSync('sqlite3', [h.dbPath, "INSERT INTO synonyms (term, synonym) VALUES ('elixir', 'beam'), ('beam', 'elixir');"], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    expect(await ids('move the service to the beam')).toEqual([agentIds[1]]);
  });
});

describe('a database file restored from a backup under a running server', () => {
  it.skipIf(!hasSqliteCli())('routes from the restored tables at the next route, and after writes made since', async () => {
    const backup = `${h.dbPath}.backup`;
    const sqlite = (command: string) => {
      const run = spawnSync('sqlite3', [h.dbPath, command], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
    };
    expect(await ids('tune the kafka consumer')).toEqual([]);
    sqlite(`.backup '${backup}'`);
    registerCapability(other, { agentId: agentIds[2]!, fleetId, role: 'writer', skills: ['docs', 'kafka'] });
    expect(await ids('tune the kafka consumer')).toEqual([agentIds[2]]);
    // Back to before the registration: the server must not keep routing on what it read since.
    sqlite(`.restore '${backup}'`);
    expect(await ids('tune the kafka consumer')).toEqual([]);
    // A write after the restore moves the counters past every value seen before it.
    registerCapability(other, { agentId: agentIds[1]!, fleetId, role: 'backend engineer', skills: ['postgres', 'elixir', 'zig'] });
    expect(await ids('port it to zig')).toEqual([agentIds[1]]);
    expect(await ids('tune the kafka consumer')).toEqual([]);
  });
});

describe('route_work in process', () => {
  it('forgets what a route read inside a write that was rolled back, even once later writes move on', () => {
    expect(() => h.store.write(() => {
      registerCapability(h.store, { agentId: agentIds[2]!, fleetId, role: 'writer', skills: ['docs', 'kafka'] });
      expect(routeWork(h.store, 'kafka lag', { topN: 5 }).map((m) => m.agentId)).toEqual([agentIds[2]]);
      throw new Error('rolled back');
    })).toThrow('rolled back');
    registerCapability(other, { agentId: agentIds[0]!, fleetId, role: 'frontend engineer', skills: ['react', 'css', 'sass'] });
    expect(routeWork(h.store, 'kafka lag', { topN: 5 })).toEqual([]);
  });

  it('routes the same on a warm connection as on a fresh one after many changes', () => {
    const descriptions = ['react css', 'postgres and elixir', 'docs for the frontend', 'kafka', 'react docs go'];
    for (let round = 0; round < 5; round++) {
      registerCapability(other, { agentId: agentIds[round % 3]!, fleetId, role: `role ${round}`, skills: ['react', `skill${round}`, 'docs'].slice(round % 2) });
      setSynonyms(other, 'docs', round % 2 === 0 ? ['documentation'] : []);
      recordRoutingOutcome(other, { agentId: agentIds[(round + 1) % 3]!, capabilityKey: 'react', success: round % 2 === 0 });
      const fresh = openStore(h.dbPath);
      try {
        for (const d of descriptions) expect(routeWork(h.store, d, { topN: 5 }), `${d} after round ${round}`).toEqual(routeWork(fresh, d, { topN: 5 }));
      } finally {
        fresh.close();
      }
    }
  });
});
