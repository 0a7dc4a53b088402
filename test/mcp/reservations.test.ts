// File reservations through the SDK client: grants, conflicts with their holders, expiry without
// cleanup, renewal, release and force-release, and who may touch what.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawDatabase } from '../helpers/database.js';
import { startAgentServer, startHarness, type Harness } from '../helpers/mesh.js';

let host: Harness;
let fleetId: string, alice: string, bob: string, lead: string, otherFleet: string, stranger: string;
let asAlice: Harness, asBob: Harness, asLead: Harness, asStranger: Harness;

beforeEach(async () => {
  host = await startHarness();
  ({ fleet_id: fleetId, agent_ids: [alice, bob, lead] } = await host.ok('spawn_fleet', {
    agents: [{ role: 'coder', prompt: 'a' }, { role: 'coder', prompt: 'b' }, { role: 'planner', prompt: 'p', profile: 'lead' }],
  }));
  ({ fleet_id: otherFleet, agent_ids: [stranger] } = await host.ok('spawn_fleet', { agents: [{ role: 'coder', prompt: 'x' }] }));
  [asAlice, asBob, asLead, asStranger] = await Promise.all([alice, bob, lead, stranger].map((a) => startAgentServer(host, a))) as [Harness, Harness, Harness, Harness];
});
afterEach(async () => {
  for (const h of [asAlice, asBob, asLead, asStranger]) await h.close();
  await host.close();
});

const rows = () => rawDatabase(host.dbPath).rows<any>('SELECT agent_id, pattern, exclusive, released_at, released_by FROM file_reservations ORDER BY id');
/** Moves a reservation's expiry into the past, as time passing would. */
const expire = (id: number) => rawDatabase(host.dbPath).run('UPDATE file_reservations SET expires_at = ? WHERE id = ?', Date.now() - 1, id);

describe('reserve_files', () => {
  it('grants what nobody holds and names the holder and an example file for what collides', async () => {
    const first = await asAlice.ok('reserve_files', { paths: ['src/**'], reason: 'refactoring the router' });
    expect(first.ok).toBe(true);
    expect(first.granted).toMatchObject([{ agent_id: alice, fleet_id: fleetId, path: 'src/**', exclusive: true, reason: 'refactoring the router' }]);

    const second = await asBob.ok('reserve_files', { paths: ['src/app/*.ts', 'docs/*.md'], ttl_ms: 60_000 });
    expect(second.ok).toBe(false);
    expect(second.granted.map((r: { path: string }) => r.path)).toEqual(['docs/*.md']);
    expect(second.conflicts).toEqual([{
      path: 'src/app/*.ts',
      holders: [expect.objectContaining({ agent_id: alice, path: 'src/**', reason: 'refactoring the router', example: 'src/app/a.ts' })],
    }]);
    expect(rows()).toEqual([
      { agent_id: alice, pattern: 'src/**', exclusive: 1, released_at: null, released_by: null },
      { agent_id: bob, pattern: 'docs/*.md', exclusive: 1, released_at: null, released_by: null },
    ]);
  });

  it('lets shared reservations overlap each other but not an exclusive one', async () => {
    await asAlice.ok('reserve_files', { paths: ['package.json'], exclusive: false });
    expect((await asBob.ok('reserve_files', { paths: ['*.json'], exclusive: false })).ok).toBe(true);
    const exclusive = await asLead.ok('reserve_files', { paths: ['package.json'] });
    expect(exclusive.conflicts[0].holders.map((h: { agent_id: string }) => h.agent_id).sort()).toEqual([alice, bob].sort());
  });

  it('stops counting an expired reservation by itself, and keeps it in the history', async () => {
    const { granted: [held] } = await asAlice.ok('reserve_files', { paths: ['src/**'] });
    expire(held.id);
    expect((await asBob.ok('reserve_files', { paths: ['src/main.ts'] })).ok).toBe(true);
    expect((await host.ok('list_reservations', { fleet_id: fleetId })).reservations.map((r: { agent_id: string }) => r.agent_id)).toEqual([bob]);
    expect((await host.ok('list_reservations', { fleet_id: fleetId, history: true })).count).toBe(2);
  });

  it('renews a pattern the agent already holds in place instead of doubling it', async () => {
    const { granted: [a] } = await asAlice.ok('reserve_files', { paths: ['src/**'], ttl_ms: 5_000 });
    const { granted: [b] } = await asAlice.ok('reserve_files', { paths: ['src/**'], ttl_ms: 600_000, exclusive: false });
    expect(b.id).toBe(a.id);
    expect(b.expires_at).toBeGreaterThan(a.expires_at);
    expect(rows()).toHaveLength(1);
  });

  it('never conflicts across fleets', async () => {
    await asAlice.ok('reserve_files', { paths: ['src/**'] });
    expect((await asStranger.ok('reserve_files', { paths: ['src/**'] })).ok).toBe(true);
  });

  it('refuses patterns that are not repository paths, and writes nothing', async () => {
    expect(await asAlice.fails('reserve_files', { paths: ['src/**', '/etc/passwd'] })).toMatch(/paths: the pattern "\/etc\/passwd" starts with "\/"/);
    expect(await asAlice.fails('reserve_files', { paths: ['../outside'] })).toMatch(/"\.\." folder/);
    expect(await asAlice.fails('reserve_files', { paths: Array.from({ length: 65 }, (_, i) => `f${i}`) })).toMatch(/paths has 65 items; the limit is 64/);
    expect(await asAlice.fails('reserve_files', { paths: ['a'], ttl_ms: 10 })).toMatch(/ttl_ms/);
    expect(await asAlice.fails('reserve_files', { paths: [] })).toMatch(/at least 1/);
    expect(rows()).toEqual([]);
  });
});

describe('renew, release and who may touch what', () => {
  it('renews live reservations and says which ids were not live', async () => {
    const { granted: [a, b] } = await asAlice.ok('reserve_files', { paths: ['a.ts', 'b.ts'], ttl_ms: 5_000 });
    expire(b.id);
    const renewed = await asAlice.ok('renew_reservations', { ttl_ms: 900_000, ids: [a.id, b.id] });
    expect(renewed.renewed.map((r: { id: number }) => r.id)).toEqual([a.id]);
    expect(renewed.renewed[0].expires_at).toBeGreaterThan(Date.now() + 800_000);
    expect(renewed.not_live).toEqual([b.id]);
  });

  it('a worker releases its own; another worker\'s ids are refused; a lead and the operator force-release, recorded', async () => {
    const { granted: [a] } = await asAlice.ok('reserve_files', { paths: ['src/**'] });
    const { granted: [b] } = await asBob.ok('reserve_files', { paths: ['docs/**'] });
    const { granted: [s] } = await asStranger.ok('reserve_files', { paths: ['lib/**'] });
    expect(await asBob.ok('release_reservations', { ids: [a.id] })).toMatchObject({ released: [], refused: [a.id] });
    expect((await asLead.ok('release_reservations', { ids: [a.id, s.id] }))).toMatchObject({ released: [{ id: a.id, released_by: lead }], refused: [s.id] });
    expect((await asBob.ok('release_reservations', {})).released.map((r: { id: number }) => r.id)).toEqual([b.id]);
    expect((await host.ok('release_reservations', { ids: [s.id] })).released).toMatchObject([{ id: s.id, released_by: 'operator' }]);
    expect(rows().map((r) => r.released_by)).toEqual([lead, bob, 'operator']);
    const events = rawDatabase(host.dbPath).rows<any>("SELECT json_extract(data, '$.forced') AS forced FROM events WHERE kind = 'files_released' ORDER BY id");
    expect(events.map((e) => e.forced)).toEqual([1, 0, 1]);
  });

  it('an agent lists only its own fleet\'s reservations, filtered by a file path', async () => {
    await asAlice.ok('reserve_files', { paths: ['src/**'] });
    await asBob.ok('reserve_files', { paths: ['docs/*.md'] });
    await asStranger.ok('reserve_files', { paths: ['src/**'] });
    const listed = await asBob.ok('list_reservations', { path: 'src/lib/x.ts' });
    expect(listed.reservations.map((r: { agent_id: string }) => r.agent_id)).toEqual([alice]);
    expect(await asBob.fails('list_reservations', { fleet_id: otherFleet })).toMatch(/cannot list reservations of fleet/);
    expect((await host.ok('list_reservations', {})).count).toBe(3);
  });

  it('an agent cannot reserve or release as another agent', async () => {
    expect(await asAlice.fails('reserve_files', { paths: ['x'], agent_id: bob })).toMatch(/cannot reserve files as/);
    expect(await asAlice.fails('release_reservations', { agent_id: bob })).toMatch(/cannot release reservations as/);
  });
});
