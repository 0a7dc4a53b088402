// Councils whose deadline passed while no hub ran: nothing swept them, so whoever looks first
// decides them, at the deadline, with the outcome the hub would have recorded. The server here
// is a hub-mode server whose hub never starts (as after `meshfleet hub stop`): no sweep runs in
// any process, and the councils are opened on an injected clock, their deadline long past.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { castVote, openCouncil, type NewCouncil } from '../../src/mesh/councils.js';
import { packageRoot } from '../../src/store/package-root.js';
import { rawDatabase } from '../helpers/database.js';
import { dumpDatabase, runCli } from '../helpers/files.js';
import { runAtGate } from '../helpers/gate.js';
import { startHarness, type Harness } from '../helpers/mesh.js';

const MINUTE_MS = 60_000;
const CHILD = join(packageRoot, 'test', 'helpers', 'settle-councils-child.mjs');

let h: Harness;
let fleetId: string;
let lead: string, a: string, b: string;

beforeEach(async () => {
  const noHub = { ensure: () => {}, ensureIfNeeded: () => {}, stop: () => {} };
  h = await startHarness({ hub: noHub });
  ({ fleet_id: fleetId, agent_ids: [lead, a, b] } = await h.ok('spawn_fleet', {
    agents: [{ role: 'lead', prompt: 'p' }, { role: 'a', prompt: 'p' }, { role: 'b', prompt: 'p' }],
  }));
});
afterEach(() => h.close());

/**
 * A council opened ten minutes ago with a one-minute deadline, `a` having approved before it; its
 * deadline is nine minutes past, and nothing has looked at it since.
 */
function overdueCouncil(rules: Partial<NewCouncil> = {}): { id: string; deadlineAt: number } {
  const openedAt = Date.now() - 10 * MINUTE_MS;
  const council = openCouncil(h.store, {
    fleetId, proposerId: lead, subject: 'ship on friday', quorum: 2, voters: [a, b], deadlineMs: MINUTE_MS, ...rules,
  }, openedAt);
  castVote(h.store, council.councilId, a, true, null, openedAt + 1_000);
  return { id: council.councilId, deadlineAt: council.deadlineAt! };
}

const stored = (id: string) => rawDatabase(h.dbPath).row<{ outcome: string | null; decided_at: number | null }>(
  'SELECT outcome, decided_at FROM councils WHERE message_id = ?', id)!;
const decidedEvents = (id: string) => rawDatabase(h.dbPath).value<number>(
  "SELECT count(*) FROM events WHERE kind = 'council_decided' AND json_extract(data, '$.council_id') = ?", id);
const votesCast = (id: string) => rawDatabase(h.dbPath).value<number>('SELECT count(*) FROM council_votes WHERE council_id = ?', id);

describe('a council past its deadline, with no hub running', () => {
  it('tally_council decides it at the deadline, records it once, and says the same every time after', async () => {
    const { id, deadlineAt } = overdueCouncil();
    expect(stored(id)).toEqual({ outcome: null, decided_at: null }); // nothing swept it

    const first = await h.ok('tally_council', { message_id: id });
    expect(first).toMatchObject({ status: 'expired', outcome: 'expired', decided_at: deadlineAt, deadline_at: deadlineAt, approvals: 1 });
    expect(first.reason).toContain('deadline passed with approvals 1 of quorum 2');
    expect(stored(id)).toEqual({ outcome: 'expired', decided_at: deadlineAt });

    expect(await h.ok('tally_council', { message_id: id })).toEqual(first);
    expect(decidedEvents(id)).toBe(1);
  });

  it('under silence "approve", the silent voters count: ratified, at the deadline', async () => {
    const { id, deadlineAt } = overdueCouncil({ silence: 'approve' });
    expect(await h.ok('tally_council', { message_id: id })).toMatchObject({ status: 'ratified', decided_at: deadlineAt, pending: 1 });
    expect(stored(id)).toEqual({ outcome: 'ratified', decided_at: deadlineAt });
  });

  it('a vote cast after the deadline is refused, says so, and changes nothing but recording the deadline\'s outcome', async () => {
    const { id, deadlineAt } = overdueCouncil();
    const before = votesCast(id);

    // b's approval would have ratified it (quorum 2) had it come in time.
    const error = await h.fails('cast_vote', { message_id: id, agent_id: b, approve: true });
    expect(error).toContain(`Voting on council "${id}" closed at its deadline, ${new Date(deadlineAt).toISOString()}`);
    expect(error).toContain('it was already decided: expired');
    expect(error).toContain('This vote was not recorded.');
    expect(error).toContain('Read the outcome with tally_council');

    expect(votesCast(id)).toBe(before);
    expect(stored(id)).toEqual({ outcome: 'expired', decided_at: deadlineAt });
    expect(await h.ok('tally_council', { message_id: id })).toMatchObject({ status: 'expired', approvals: 1, decided_at: deadlineAt });
    expect(decidedEvents(id)).toBe(1);
  });

  it('meshfleet inspect --fleet shows the outcome the deadline gave it, marked as not recorded, and writes nothing', async () => {
    const { id, deadlineAt } = overdueCouncil();
    const before = dumpDatabase(h.dbPath);

    const text = runCli(['inspect', '--db', h.dbPath, '--fleet', fleetId]);
    expect(text.stderr).toBe('');
    const councils = text.stdout.slice(text.stdout.indexOf('COUNCILS'), text.stdout.indexOf('EVENTS'));
    const row = councils.split('\n').find((l) => l.startsWith(id))!;
    expect(row.trim().split(/ {2,}/).slice(0, 4)).toEqual([id, 'ship on friday', 'expired*', '1/2']);
    expect(councils).toContain('* decided by its deadline, not yet recorded');

    const json = JSON.parse(runCli(['inspect', '--db', h.dbPath, '--fleet', fleetId, '--json']).stdout);
    expect(json.councils).toEqual([expect.objectContaining({ council_id: id, status: 'expired', decided_at: deadlineAt, awaiting_record: true })]);
    expect(dumpDatabase(h.dbPath)).toEqual(before);

    // Once a write has recorded it, inspect shows the same outcome, no longer marked.
    await h.ok('tally_council', { message_id: id });
    const after = JSON.parse(runCli(['inspect', '--db', h.dbPath, '--fleet', fleetId, '--json']).stdout);
    expect(after.councils).toEqual([expect.objectContaining({ council_id: id, status: 'expired', decided_at: deadlineAt, awaiting_record: false })]);
    expect(runCli(['inspect', '--db', h.dbPath, '--fleet', fleetId]).stdout).not.toContain('not yet recorded');
  });

  it('processes that look at once (tallies, late votes, a sweep) record one outcome per council, at its deadline', async () => {
    const councils = Array.from({ length: 12 }, (_, i) => overdueCouncil(i % 2 === 0 ? {} : { silence: 'approve' }));
    const ids = councils.map((c) => c.id);
    const votesBefore = ids.map(votesCast);

    const results = await lookAtOnce([['tally', ...ids], ['tally', ...[...ids].reverse()], ['vote', ...ids], ['sweep']]);

    for (const [i, { id, deadlineAt }] of councils.entries()) {
      const expected = { outcome: i % 2 === 0 ? 'expired' : 'ratified', decided_at: deadlineAt };
      expect(stored(id), id).toEqual(expected);
      expect(decidedEvents(id), id).toBe(1);
      expect(votesCast(id), id).toBe(votesBefore[i]);
      // Each tallying process saw the recorded outcome, whoever recorded it.
      for (const tally of [results[0]!, results[1]!]) expect(tally.seen[id], id).toEqual(expected);
      expect(results[2]!.refused[id], id).toContain('closed at its deadline');
    }
  });
});

interface Looked { seen: Record<string, unknown>; refused: Record<string, string> }

/** One process per job, each with the database open, all let go at one moment (test/helpers/gate.ts). */
async function lookAtOnce(jobs: string[][]): Promise<Looked[]> {
  const runs = await runAtGate(jobs.map(([mode, ...ids]) => [CHILD, h.dbPath, mode!, b, ...ids]));
  return runs.map((run, i) => {
    if (run.code !== 0) throw new Error(`${jobs[i]![0]} ended with code ${run.code}: ${run.err}`);
    return JSON.parse(run.out) as Looked;
  });
}
