// How a council is decided, as a pure function of its rules, the current votes and the time, so
// the rules can be tested on their own (test/mesh/council-rules.test.ts checks them against a
// plain reference on random councils). The caller stores the first final outcome it returns.
import type { CouncilOutcome, CouncilSilence } from '../store/schema.js';

export interface CouncilVoter {
  agentId: string;
  /** Whole number ≥ 1: how much this voter's approval counts toward the quorum. */
  weight: number;
  /** A required sign-off: the council cannot pass without this voter's own approval. */
  required: boolean;
}

export interface CouncilRules {
  /** Weight of approvals needed, 1 to the voters' total weight. */
  quorum: number;
  /** After the deadline: voters who did not vote abstain, or count as approving. */
  silence: CouncilSilence;
  deadlineAt: number | null;
  voters: readonly CouncilVoter[];
}

export interface Tally {
  approvals: number;
  declines: number;
  /** Weight of voters who have not voted. */
  pending: number;
  total: number;
  outcome: CouncilOutcome | null;
  /** Why it was decided, in words; null while open. */
  reason: string | null;
  /** What decided it: a vote (now), or the deadline passing (at deadlineAt). */
  decidedBy: 'votes' | 'deadline' | null;
}

/**
 * The outcome of a council with `votes` (agent id → approve) at `now`:
 * - rejected once a required sign-off declines, or once the approvals plus the weight still to
 *   vote cannot reach the quorum;
 * - ratified once the approvals reach the quorum and every required sign-off approved;
 * - at the deadline, still undecided: with silence "approve" the voters who did not vote count as
 *   approving (never as a sign-off), so it is ratified when every sign-off approved and expired
 *   otherwise; with silence "abstain" it expires.
 * Votes of agents that are not voters are ignored.
 */
export function tallyCouncil(rules: CouncilRules, votes: ReadonlyMap<string, boolean>, now: number): Tally {
  let approvals = 0;
  let declines = 0;
  let pending = 0;
  let total = 0;
  let declinedSignoff: string | null = null;
  let missingSignoff: string | null = null;
  for (const voter of rules.voters) {
    total += voter.weight;
    const vote = votes.get(voter.agentId);
    if (vote === true) approvals += voter.weight;
    else if (vote === false) declines += voter.weight;
    else pending += voter.weight;
    if (voter.required && vote === false) declinedSignoff ??= voter.agentId;
    if (voter.required && vote !== true) missingSignoff ??= voter.agentId;
  }
  const counts = { approvals, declines, pending, total };
  const decided = (outcome: CouncilOutcome, reason: string, decidedBy: 'votes' | 'deadline'): Tally => ({ ...counts, outcome, reason, decidedBy });
  if (declinedSignoff !== null) return decided('rejected', `required sign-off ${declinedSignoff} declined`, 'votes');
  if (approvals >= rules.quorum && missingSignoff === null) return decided('ratified', `approvals ${approvals} of quorum ${rules.quorum}, every sign-off given`, 'votes');
  if (approvals + pending < rules.quorum) return decided('rejected', `quorum ${rules.quorum} unreachable: approvals ${approvals}, still to vote ${pending}`, 'votes');
  if (rules.deadlineAt === null || now < rules.deadlineAt) return { ...counts, outcome: null, reason: null, decidedBy: null };
  if (rules.silence === 'approve') {
    // approvals + pending reach the quorum here (else rejected above): only a sign-off can be missing.
    if (missingSignoff === null) return decided('ratified', `deadline passed: approvals ${approvals} plus ${pending} silent counted as approving reach quorum ${rules.quorum}`, 'deadline');
    return decided('expired', `deadline passed without required sign-off ${missingSignoff} (silence never signs off)`, 'deadline');
  }
  return decided('expired', `deadline passed with approvals ${approvals} of quorum ${rules.quorum}${missingSignoff === null ? '' : `, sign-off ${missingSignoff} not given`}`, 'deadline');
}
