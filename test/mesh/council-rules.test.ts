// The council rules, property-tested: random councils and vote sequences (a seeded generator, so
// a failure names its seed and repeats) against a plain reference written from the words.
// First the pure tally, then the same through the domain on a real database file, where the
// first final outcome must be stored, at the right time, and never change.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tallyCouncil, type CouncilRules } from '../../src/mesh/council-rules.js';
import { castVote, openCouncil, settleDueCouncils, tallyCouncilNow } from '../../src/mesh/councils.js';
import { MeshError } from '../../src/mesh/errors.js';
import { createFleet } from '../../src/mesh/fleets.js';
import { openStore, type Store } from '../../src/store/open.js';
import { tempDir } from '../helpers/files.js';
import { seededRandom } from '../helpers/random.js';

/** Seeded picks, good enough to choose cases. */
function random(seed: number): { int(min: number, max: number): number; chance(p: number): boolean; pick<T>(items: readonly T[]): T } {
  const next = seededRandom(seed);
  return {
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!,
  };
}

type Outcome = 'ratified' | 'rejected' | 'expired' | null;

/** The rules as the issue states them, one sentence at a time. */
function reference(rules: CouncilRules, votes: ReadonlyMap<string, boolean>, now: number): Outcome {
  const weight = (ids: string[]) => rules.voters.filter((v) => ids.includes(v.agentId)).reduce((sum, v) => sum + v.weight, 0);
  const all = rules.voters.map((v) => v.agentId);
  const approvers = all.filter((id) => votes.get(id) === true);
  const silent = all.filter((id) => !votes.has(id));
  const signoffs = rules.voters.filter((v) => v.required).map((v) => v.agentId);
  // "rejected: a sign-off declines"
  for (const id of signoffs) if (votes.get(id) === false) return 'rejected';
  // "ratified: weighted approvals reach quorum and every required sign-off approved"
  const everySignoffApproved = signoffs.every((id) => approvers.includes(id));
  if (weight(approvers) >= rules.quorum && everySignoffApproved) return 'ratified';
  // "rejected: quorum becomes unreachable"
  if (weight(approvers) + weight(silent) < rules.quorum) return 'rejected';
  const past = rules.deadlineAt !== null && now >= rules.deadlineAt;
  if (!past) return null;
  // "approve silence counts non-voters as approvals after the deadline but never satisfies a sign-off"
  if (rules.silence === 'approve' && weight(approvers) + weight(silent) >= rules.quorum && everySignoffApproved) return 'ratified';
  // "expired: deadline passes" (under abstain; under approve, a sign-off silence cannot give)
  return 'expired';
}

function randomRules(r: ReturnType<typeof random>): CouncilRules {
  const count = r.int(1, 6);
  const voters = Array.from({ length: count }, (_, i) => ({ agentId: `v${i}`, weight: r.int(1, 4), required: r.chance(0.25) }));
  const total = voters.reduce((sum, v) => sum + v.weight, 0);
  return { quorum: r.int(1, total), silence: r.pick(['abstain', 'approve'] as const), deadlineAt: r.chance(0.8) ? 1_000 : null, voters };
}

describe('tallyCouncil against the reference', () => {
  it('agrees on 20,000 random councils, votes and times', () => {
    for (let seed = 1; seed <= 20_000; seed++) {
      const r = random(seed);
      const rules = randomRules(r);
      const votes = new Map<string, boolean>();
      for (const v of rules.voters) if (r.chance(0.6)) votes.set(v.agentId, r.chance(0.6));
      const now = r.pick([0, 999, 1_000, 5_000]);
      const tally = tallyCouncil(rules, votes, now);
      expect(tally.outcome, `seed ${seed}`).toBe(reference(rules, votes, now));
      // Invariants a user relies on.
      expect(tally.approvals + tally.declines + tally.pending).toBe(tally.total);
      if (tally.outcome === 'ratified') {
        for (const v of rules.voters.filter((x) => x.required)) expect(votes.get(v.agentId), `seed ${seed}: silence signed off`).toBe(true);
      }
      if (rules.deadlineAt !== null && now >= rules.deadlineAt) expect(tally.outcome, `seed ${seed}: open after the deadline`).not.toBeNull();
      // Decided by the votes when the same votes decide it with no deadline at all; else by the deadline.
      if (tally.outcome !== null) expect(tally.decidedBy, `seed ${seed}`).toBe(reference({ ...rules, deadlineAt: null }, votes, now) === null ? 'deadline' : 'votes');
    }
  });
});

describe('councils on a database, against the reference replayed', () => {
  let dir: { dir: string; cleanup: () => void };
  let store: Store;
  beforeAll(() => {
    dir = tempDir();
    store = openStore(join(dir.dir, 'mesh.db'));
  });
  afterAll(() => {
    store.close();
    dir.cleanup();
  });

  it('stores the first final outcome, when it happened, and never changes it (300 random sequences)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = random(seed * 7919);
      const rules = randomRules(r);
      const { agents } = createFleet(store, [{ role: 'proposer', prompt: 'p' }, ...rules.voters.map(() => ({ role: 'voter', prompt: 'p' }))], 0);
      const [proposer, ...voterAgents] = agents.map((a) => a.id);
      const idOf = new Map(rules.voters.map((v, i) => [v.agentId, voterAgents[i]!]));
      const opened = 10_000 * seed;
      const deadlineMs = rules.deadlineAt === null ? undefined : r.int(50, 400);
      const council = openCouncil(store, {
        fleetId: agents[0]!.fleetId, proposerId: proposer!, subject: `case ${seed}`, quorum: rules.quorum, silence: rules.silence,
        voters: rules.voters.map((v) => idOf.get(v.agentId)!), weights: Object.fromEntries(rules.voters.map((v) => [idOf.get(v.agentId)!, v.weight])),
        requiredSignoffs: rules.voters.filter((v) => v.required).map((v) => idOf.get(v.agentId)!), deadlineMs,
      }, opened);
      const deadlineAt = deadlineMs === undefined ? null : opened + deadlineMs;
      const replay: CouncilRules = { ...rules, deadlineAt, voters: rules.voters.map((v) => ({ ...v, agentId: idOf.get(v.agentId)! })) };

      const votes = new Map<string, boolean>();
      let expected: { outcome: Outcome; at: number | null } = { outcome: null, at: null };
      let now = opened;
      for (let step = 0; step < 12; step++) {
        now += r.int(0, 60);
        // The reference: a deadline that has passed decides first, at the deadline.
        if (expected.outcome === null && deadlineAt !== null && now >= deadlineAt) expected = { outcome: reference(replay, votes, deadlineAt), at: deadlineAt };
        const action = r.int(0, 9);
        if (action < 7) {
          const voter = r.pick(replay.voters).agentId;
          const approve = r.chance(0.6);
          let refused = false;
          try {
            castVote(store, council.councilId, voter, approve, null, now);
          } catch (err) {
            if (!(err instanceof MeshError) || err.code !== 'conflict') throw err;
            refused = true;
          }
          expect(refused, `seed ${seed} step ${step}: vote refused`).toBe(expected.outcome !== null);
          if (!refused) {
            votes.set(voter, approve);
            const outcome = reference(replay, votes, now);
            if (outcome !== null) expected = { outcome, at: now };
          }
        } else if (action < 9) {
          settleDueCouncils(store, now);
        } else {
          tallyCouncilNow(store, council.councilId, null, now);
        }
        const stored = store.first(store.sql.selectFrom('councils').select(['outcome', 'decided_at']).where('message_id', '=', council.councilId))!;
        // The stored outcome lags the reference only while a passed deadline waits for a sweep.
        const waitingForSweep = stored.outcome === null && expected.at === deadlineAt && expected.outcome !== null;
        if (!waitingForSweep) expect({ outcome: stored.outcome, at: stored.decided_at }, `seed ${seed} step ${step}`).toEqual(expected);
      }
      settleDueCouncils(store, now + 1_000);
      if (expected.outcome === null && deadlineAt !== null) expected = { outcome: reference(replay, votes, deadlineAt), at: deadlineAt };
      const final = tallyCouncilNow(store, council.councilId, null, now + 1_000);
      expect({ outcome: final.outcome, at: final.decidedAt }, `seed ${seed} at the end`).toEqual(expected);
      expect(final.voters.reduce((n, v) => n + v.votesCast, 0)).toBe(store.all(store.sql.selectFrom('council_votes').select('id').where('council_id', '=', council.councilId)).length);
    }
  });
});
