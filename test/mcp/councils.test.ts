// Councils over MCP: open, vote, tally; deadlines decided by the server's own loop; the first
// outcome final, even at the sqlite3 prompt; votes as oneself, in one's own fleet.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawDatabase } from '../helpers/database.js';
import { eventually, startAgentServer, startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
let fleetId: string;
let lead: string, a: string, b: string, c: string;
let otherFleet: string, outsider: string;

beforeEach(async () => {
  h = await startHarness();
  ({ fleet_id: fleetId, agent_ids: [lead, a, b, c] } = await h.ok('spawn_fleet', {
    agents: [{ role: 'lead', prompt: 'p' }, { role: 'a', prompt: 'p' }, { role: 'b', prompt: 'p' }, { role: 'c', prompt: 'p' }],
  }));
  ({ fleet_id: otherFleet, agent_ids: [outsider] } = await h.ok('spawn_fleet', { agents: [{ role: 'solo', prompt: 'x' }, { role: 'solo', prompt: 'y' }] }));
});
afterEach(() => h.close());

const open = (args: Record<string, unknown>) => h.ok('open_council', { fleet_id: fleetId, from_agent_id: lead, subject: 'ship 2.0 on friday', ...args });
const vote = (council: string, agent: string, approve: boolean, note?: string) =>
  h.ok('cast_vote', { message_id: council, agent_id: agent, approve, ...(note === undefined ? {} : { note }) });

describe('councils', () => {
  it('sends the proposal to every voter but the proposer, and is ratified once weighted approvals reach quorum with every sign-off', async () => {
    const council = await open({ details: 'Release notes are in docs/.', quorum: 4, weights: { [a]: 3 }, required_signoffs: [b] });
    expect(council).toMatchObject({ status: 'open', quorum: 4, total_weight: 5, approvals: 0, pending: 5, silence: 'abstain', deadline_at: null });
    const [proposal] = (await h.ok('get_inbox', { agent_id: c })).messages;
    expect(proposal).toMatchObject({ id: council.council_id, type: 'question', subject: 'ship 2.0 on friday', from_agent_id: lead });
    expect(proposal.payload).toContain('Release notes are in docs/.');
    expect(proposal.payload).toContain(`cast_vote {"message_id": "${council.council_id}"`);
    expect((await h.ok('get_inbox', { agent_id: lead })).messages).toEqual([]);

    expect(await vote(council.council_id, a, true)).toMatchObject({ status: 'open', approvals: 3 });
    // Quorum reached (3 + 1), but the required sign-off has not approved: still open.
    expect(await vote(council.council_id, c, true)).toMatchObject({ status: 'open', approvals: 4 });
    const ratified = await vote(council.council_id, b, true, 'lgtm');
    expect(ratified).toMatchObject({ status: 'ratified', outcome: 'ratified', approvals: 5 });
    expect(ratified.decided_at).toBeGreaterThanOrEqual(ratified.opened_at);
    expect(ratified.voters.find((v: { agent_id: string }) => v.agent_id === b)).toMatchObject({ vote: 'approve', note: 'lgtm', required: true, weight: 1 });

    // Decided: later votes are refused and change nothing.
    expect(await h.fails('cast_vote', { message_id: council.council_id, agent_id: b, approve: false })).toContain('was already decided: ratified');
    expect(await h.ok('tally_council', { message_id: council.council_id })).toMatchObject({ status: 'ratified', decided_at: ratified.decided_at, approvals: 5 });
  });

  it('is rejected when a required sign-off declines', async () => {
    const council = await open({ quorum: 1, required_signoffs: [c] });
    await vote(council.council_id, a, true);
    const rejected = await vote(council.council_id, c, false, 'not before the freeze');
    expect(rejected).toMatchObject({ status: 'rejected' });
    expect(rejected.reason).toContain(`required sign-off ${c} declined`);
  });

  it('is rejected once quorum cannot be reached', async () => {
    const council = await open({ quorum: 2, voters: [a, b] });
    expect(await vote(council.council_id, a, true)).toMatchObject({ status: 'open' });
    const rejected = await vote(council.council_id, b, false);
    expect(rejected.status).toBe('rejected');
    expect(rejected.reason).toContain('quorum 2 unreachable');
  });

  it('a re-cast replaces the vote and keeps the earlier one as history', async () => {
    const council = await open({ quorum: 2 });
    await vote(council.council_id, a, false, 'first thought');
    const recast = await vote(council.council_id, a, true, 'changed my mind');
    expect(recast).toMatchObject({ replaced: true, approvals: 1, declines: 0 });
    expect(recast.voters.find((v: { agent_id: string }) => v.agent_id === a)).toMatchObject({ vote: 'approve', note: 'changed my mind', votes_cast: 2 });
    expect(rawDatabase(h.dbPath).rows('SELECT approve, note, superseded_at IS NULL AS current FROM council_votes WHERE agent_id = ? ORDER BY id', a))
      .toEqual([{ approve: 0, note: 'first thought', current: 0 }, { approve: 1, note: 'changed my mind', current: 1 }]);
    expect(rawDatabase(h.dbPath).row('SELECT vote, votes_cast FROM council_ballots WHERE council_id = ? AND agent_id = ?', council.council_id, a))
      .toEqual({ vote: 'approve', votes_cast: 2 });
  });

  it('expires at its deadline under abstain, decided by the server without anyone calling tally', async () => {
    const council = await open({ quorum: 2, deadline_ms: 300 });
    await vote(council.council_id, a, true);
    const row = await eventually(() => {
      const r = rawDatabase(h.dbPath).row<{ outcome: string | null; decided_at: number; deadline_at: number }>('SELECT outcome, decided_at, deadline_at FROM councils WHERE message_id = ?', council.council_id)!;
      if (r.outcome === null) throw new Error('not decided yet');
      return r;
    });
    expect(row.outcome).toBe('expired');
    expect(row.decided_at).toBe(row.deadline_at); // at the deadline, however late the sweep ran
    expect(await h.fails('cast_vote', { message_id: council.council_id, agent_id: b, approve: true })).toContain('was already decided: expired');
    expect(rawDatabase(h.dbPath).row('SELECT status, approvals, total_weight FROM council_tally WHERE council_id = ?', council.council_id))
      .toEqual({ status: 'expired', approvals: 1, total_weight: 3 });
  });

  it('under approve, silence counts toward quorum after the deadline but never as a sign-off', async () => {
    const passes = await open({ quorum: 3, deadline_ms: 200, silence: 'approve' });
    const needsSignoff = await open({ quorum: 3, deadline_ms: 200, silence: 'approve', required_signoffs: [c] });
    await vote(passes.council_id, a, true);
    await vote(needsSignoff.council_id, a, true);
    const outcome = async (id: string) => (await h.ok('tally_council', { message_id: id })).status;
    await eventually(async () => expect(await outcome(passes.council_id)).not.toBe('open'));
    expect(await outcome(passes.council_id)).toBe('ratified');
    expect(await outcome(needsSignoff.council_id)).toBe('expired');
  });

  it('the first outcome stays, even against an edit at the sqlite3 prompt', async () => {
    const council = await open({ quorum: 1, voters: [a] });
    await vote(council.council_id, a, true);
    expect(() => rawDatabase(h.dbPath).run("UPDATE councils SET outcome = 'rejected' WHERE message_id = ?", council.council_id)).toThrow(/outcome is final/);
    expect((await h.ok('tally_council', { message_id: council.council_id })).status).toBe('ratified');
  });

  it('refuses a council it could never decide, and stores nothing', async () => {
    expect(await h.fails('open_council', { fleet_id: fleetId, from_agent_id: lead, subject: 's', quorum: 4 })).toContain("quorum must be a whole number from 1 to the voters' total weight 3");
    expect(await h.fails('open_council', { fleet_id: fleetId, from_agent_id: lead, subject: 's', quorum: 1, weights: { [outsider]: 2 } })).toContain('is not a voter');
    expect(await h.fails('open_council', { fleet_id: fleetId, from_agent_id: lead, subject: 's', quorum: 1, required_signoffs: [lead] })).toContain('is not a voter');
    expect(await h.fails('open_council', { fleet_id: fleetId, from_agent_id: lead, subject: 's', quorum: 1, voters: [a, outsider] })).toContain(`belongs to fleet "${otherFleet}"`);
    expect(await h.fails('open_council', { fleet_id: fleetId, from_agent_id: lead, subject: 's', quorum: 1, voters: [a, a] })).toContain('twice');
    expect(await h.fails('open_council', { fleet_id: fleetId, from_agent_id: lead, subject: 's', quorum: 1, weights: { [a]: 1001 } })).toContain('at most 1000');
    expect(await h.fails('open_council', { fleet_id: fleetId, from_agent_id: lead, subject: 's', quorum: 1, deadline_ms: 0 })).toContain('deadline_ms must be 1 or more');
    expect(await h.fails('open_council', { fleet_id: fleetId, from_agent_id: lead, subject: 'x'.repeat(201), quorum: 1 })).toContain('subject is 201 characters; the limit is 200');
    expect(rawDatabase(h.dbPath).value('SELECT count(*) FROM councils')).toBe(0);
    expect(rawDatabase(h.dbPath).value('SELECT count(*) FROM messages')).toBe(0);
  });

  it('an agent proposes and votes as itself, in its own fleet; a non-voter cannot vote', async () => {
    const agent = await startAgentServer(h, a);
    try {
      const council = await agent.ok('open_council', { subject: 'rename the package', quorum: 1, voters: [a, b] });
      expect(council.proposer_id).toBe(a);
      expect(await agent.ok('cast_vote', { message_id: council.council_id, approve: true })).toMatchObject({ status: 'ratified' });
      expect(await agent.fails('cast_vote', { message_id: council.council_id, approve: true, agent_id: b })).toContain(`cannot vote as "${b}"`);
      expect(await agent.fails('open_council', { subject: 's', quorum: 1, fleet_id: otherFleet })).toContain(`cannot open a council in fleet "${otherFleet}"`);
      const theirs = await h.ok('open_council', { fleet_id: otherFleet, from_agent_id: outsider, subject: 'theirs', quorum: 1 });
      expect(await agent.fails('tally_council', { message_id: theirs.council_id })).toContain(`No council "${theirs.council_id}" in fleet "${fleetId}"`);
      const other = await open({ quorum: 1, voters: [b] });
      expect(await agent.fails('cast_vote', { message_id: other.council_id, approve: true })).toContain(`is not a voter of council "${other.council_id}"`);
    } finally {
      await agent.close();
    }
  });

  it('prune takes a settled fleet\'s councils, voters and votes with it', async () => {
    const council = await open({ quorum: 2 });
    await vote(council.council_id, a, true);
    await eventually(() => expect(rawDatabase(h.dbPath).value("SELECT count(*) FROM agents WHERE fleet_id = ? AND status IN ('pending', 'running')", fleetId)).toBe(0));
    rawDatabase(h.dbPath).run("UPDATE fleets SET status = 'complete', completed_at = 1 WHERE id = ?", fleetId);
    expect((await h.ok('prune', { older_than: '1d' })).counts.fleets).toBe(1);
    const db = rawDatabase(h.dbPath);
    expect([db.value('SELECT count(*) FROM councils'), db.value('SELECT count(*) FROM council_voters'), db.value('SELECT count(*) FROM council_votes')]).toEqual([0, 0, 0]);
  });
});
