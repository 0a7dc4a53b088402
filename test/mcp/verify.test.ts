// verify_ledger through the SDK's client, on a fleet of real agent processes.
import { afterEach, describe, expect, it } from 'vitest';
import { rawDatabase } from '../helpers/database.js';
import { RuntimeFixtures, settled } from '../helpers/runtime.js';

const fixtures = new RuntimeFixtures();
afterEach(() => fixtures.endAll());

describe('verify_ledger', () => {
  it('a fleet run through real tools verifies clean; an edit afterwards is named, and a kept head still matches up to where it was', async () => {
    const h = await fixtures.harness();
    const { fleet_id, agent_ids } = await h.ok('spawn_fleet', {
      agents: [{ role: 'planner', prompt: 'pipeline' }, { role: 'coder', prompt: 'pipeline' }, { role: 'reviewer', prompt: 'pipeline' }],
    });
    expect((await settled(h, fleet_id, 60_000)).fleet.status).toBe('complete');
    await h.ok('send_message', { fleet_id, from_agent_id: agent_ids[2], to_agent_id: '*', type: 'alert', payload: 'all done' });

    const clean = await h.ok('verify_ledger');
    expect(clean).toMatchObject({ ok: true, errors: 0, warnings: 0, chain: { first_problem: null, backfilled_rows: 0, legacy_imports: 0 } });
    expect(clean.checks.every((c: { passed: boolean }) => c.passed)).toBe(true);
    expect(clean.counts).toMatchObject({ fleets: 1, agents: 3, messages: 3, deliveries: 4 });
    expect(clean.counts.chain_links).toBe(clean.counts.messages + clean.counts.events);
    const head = clean.chain.head;
    expect(head.position).toBe(clean.counts.chain_links);

    const db = rawDatabase(h.dbPath);
    const seq = db.value<number>('SELECT seq FROM messages WHERE to_agent_id = ? ORDER BY seq LIMIT 1', agent_ids[1]);
    db.run("UPDATE messages SET payload = 'forged handoff' WHERE seq = ?", seq);
    const edited = await h.ok('verify_ledger', { against_position: head.position, against_hash: head.chain_hash });
    expect(edited.ok).toBe(false);
    expect(edited.chain.first_problem).toMatchObject({ check: 'chain_rows', table: 'messages', id: seq });
    expect(edited.checks.find((c: { name: string }) => c.name === 'chain_head')).toMatchObject({ passed: true });
  }, 90_000);

  it('refuses a head given by halves or with a malformed hash', async () => {
    const h = await fixtures.harness();
    expect(await h.fails('verify_ledger', { against_position: 3 })).toContain('against_position and against_hash go together');
    expect(await h.fails('verify_ledger', { against_position: 3, against_hash: 'abc' })).toContain('chain_hash must be 64 lower-case hex digits');
  });
});
