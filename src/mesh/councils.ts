// Councils: a proposal sent to voters, decided by weighted votes (council-rules.ts). Each change
// is one write transaction that re-tallies and stores the first final outcome; the outcome row
// never changes after that (a trigger of migration 0011 refuses it).
import type { Store } from '../store/open.js';
import type { CouncilOutcome, CouncilSilence, CouncilTable } from '../store/schema.js';
import { tallyCouncil, type CouncilRules, type CouncilVoter, type Tally } from './council-rules.js';
import { MeshError } from './errors.js';
import { recordEvent } from './events.js';
import { newId } from './ids.js';
import { MAX_COUNCIL_DEADLINE_MS, MAX_FLEET_VOTERS, MAX_VOTE_WEIGHT, quote } from './limits.js';
import { BROADCAST, lookup, requireAgent, requireMember, writeMessage } from './messages.js';

export interface NewCouncil {
  fleetId: string;
  proposerId: string;
  subject: string;
  /** The proposal in full; the subject alone when omitted. */
  details?: string;
  quorum: number;
  /** Default: every agent of the fleet but the proposer. */
  voters?: readonly string[];
  /** Agent id → weight (default 1). */
  weights?: Readonly<Record<string, number>>;
  requiredSignoffs?: readonly string[];
  /** From now. */
  deadlineMs?: number;
  silence?: CouncilSilence;
}

export interface CouncilState {
  councilId: string;
  fleetId: string;
  proposerId: string;
  subject: string;
  quorum: number;
  silence: CouncilSilence;
  openedAt: number;
  deadlineAt: number | null;
  outcome: CouncilOutcome | null;
  decidedAt: number | null;
  reason: string | null;
  tally: Pick<Tally, 'approvals' | 'declines' | 'pending' | 'total'>;
  voters: { agentId: string; weight: number; required: boolean; vote: 'approve' | 'decline' | null; note: string | null; castAt: number | null; votesCast: number }[];
}

/** Opens a council: stores it and sends the proposal (type question) to every voter but the proposer. */
export function openCouncil(store: Store, input: NewCouncil, now: number = Date.now()): CouncilState {
  const silence = input.silence ?? 'abstain';
  if (input.deadlineMs !== undefined && (!Number.isInteger(input.deadlineMs) || input.deadlineMs < 1 || input.deadlineMs > MAX_COUNCIL_DEADLINE_MS)) {
    throw new MeshError('invalid', `deadline_ms must be a whole number from 1 to ${MAX_COUNCIL_DEADLINE_MS} (30 days); got ${input.deadlineMs}.`, 'Pass how long voting stays open, in ms.');
  }
  return store.write(() => {
    const agentOf = lookup(store);
    requireMember(store, agentOf, input.fleetId, input.proposerId, 'from_agent_id', '');
    const voterIds = input.voters === undefined ? store.hot.otherAgentIds(input.fleetId, input.proposerId) : [...input.voters];
    const voters = checkVoters(store, input, voterIds);
    const total = voters.reduce((sum, v) => sum + v.weight, 0);
    if (!Number.isInteger(input.quorum) || input.quorum < 1 || input.quorum > total) {
      throw new MeshError('invalid', `quorum must be a whole number from 1 to the voters' total weight ${total}; got ${input.quorum}.`,
        'Set quorum to the weight of approvals needed (each voter weighs 1 unless weights says otherwise).');
    }
    const councilId = newId('msg');
    const deadlineAt = input.deadlineMs === undefined ? null : now + input.deadlineMs;
    const required = voters.filter((v) => v.required).map((v) => v.agentId);
    const trailer = `\n\n[council ${councilId}] quorum ${input.quorum} of weight ${total}`
      + (required.length > 0 ? `; sign-off needed from ${required.join(', ')}` : '')
      + (deadlineAt === null ? '' : `; voting closes at ${new Date(deadlineAt).toISOString()} (silence: ${silence})`)
      + `. Vote with cast_vote {"message_id": "${councilId}", "approve": true|false, "note": "why"}.`;
    const recipients = voters.map((v) => v.agentId).filter((id) => id !== input.proposerId).sort();
    writeMessage(store, {
      fleetId: input.fleetId, fromAgentId: input.proposerId, toAgentId: BROADCAST, type: 'question',
      payload: `${input.details ?? input.subject}${trailer}`, subject: input.subject,
    }, recipients, now, councilId);
    store.run(store.sql.insertInto('councils').values({
      message_id: councilId, fleet_id: input.fleetId, proposer_id: input.proposerId, subject: input.subject, quorum: input.quorum,
      silence, opened_at: now, deadline_at: deadlineAt, outcome: null, decided_at: null, reason: null,
    }));
    store.run(store.sql.insertInto('council_voters').values(voters.map((v) => ({
      council_id: councilId, agent_id: v.agentId, weight: v.weight, required: v.required ? 1 as const : 0 as const,
    }))));
    recordEvent(store, { kind: 'council_opened', fleetId: input.fleetId, agentId: input.proposerId, data: { council_id: councilId, subject: input.subject, quorum: input.quorum, voters: voters.length } }, now);
    return readCouncil(store, councilId);
  });
}

function checkVoters(store: Store, input: NewCouncil, voterIds: string[]): CouncilVoter[] {
  if (voterIds.length === 0) {
    throw new MeshError('invalid', 'The council has no voters: the fleet has no agent but the proposer.', 'Pass voters, or attach agents to the fleet first.');
  }
  if (voterIds.length > MAX_FLEET_VOTERS) {
    throw new MeshError('too_large', `voters has ${voterIds.length} agents; the limit is ${MAX_FLEET_VOTERS}.`, 'Name fewer voters.');
  }
  const seen = new Set<string>();
  for (const id of voterIds) {
    if (seen.has(id)) throw new MeshError('invalid', `voters names ${quote(id)} twice.`, 'Name each voter once; give more weight with weights.');
    seen.add(id);
    requireMember(store, lookup(store), input.fleetId, id, 'voters', '');
  }
  for (const [id, weight] of Object.entries(input.weights ?? {})) {
    if (!seen.has(id)) throw new MeshError('invalid', `weights names ${quote(id)}, who is not a voter.`, 'Give weights only to agents in voters.');
    if (!Number.isInteger(weight) || weight < 1 || weight > MAX_VOTE_WEIGHT) {
      throw new MeshError('invalid', `weights[${quote(id)}] must be a whole number from 1 to ${MAX_VOTE_WEIGHT}; got ${weight}.`, 'Weights are whole numbers.');
    }
  }
  const required = new Set(input.requiredSignoffs ?? []);
  for (const id of required) {
    if (!seen.has(id)) throw new MeshError('invalid', `required_signoffs names ${quote(id)}, who is not a voter.`, 'A required sign-off must be one of the voters.');
  }
  return voterIds.map((agentId) => ({ agentId, weight: input.weights?.[agentId] ?? 1, required: required.has(agentId) }));
}

/**
 * Records an agent's vote; a re-cast replaces its earlier vote, which stays in council_votes as
 * history. The council is re-tallied at once. A vote at or after the deadline is refused: the
 * deadline decided the council, and this call records that outcome if no one has yet.
 */
export function castVote(store: Store, councilId: string, agentId: string, approve: boolean, note: string | null, now: number = Date.now()): { replaced: boolean; council: CouncilState } {
  const decidedFirst = store.write(() => {
    const council = requireCouncil(store, councilId, null);
    requireAgent(store, agentId);
    const voter = store.first(store.sql.selectFrom('council_voters').select('weight').where('council_id', '=', councilId).where('agent_id', '=', agentId));
    if (voter === undefined) {
      throw new MeshError('refused', `Agent ${quote(agentId)} is not a voter of council ${quote(councilId)}.`, 'Only the voters named when it opened may vote (see tally_council).');
    }
    if (isDue(council, now)) settle(store, council, now);
    const current = requireCouncil(store, councilId, null);
    if (current.outcome !== null) return current;
    const replaced = store.run(store.sql.updateTable('council_votes').set({ superseded_at: now })
      .where('council_id', '=', councilId).where('agent_id', '=', agentId).where('superseded_at', 'is', null)) > 0;
    store.run(store.sql.insertInto('council_votes').values({ council_id: councilId, agent_id: agentId, approve: approve ? 1 : 0, note, cast_at: now, superseded_at: null }));
    settle(store, current, now);
    return { replaced, council: readCouncil(store, councilId) };
  });
  if ('replaced' in decidedFirst) return decidedFirst;
  throw lateVote(decidedFirst, now);
}

/** Why a vote on a decided council does not count: the deadline passed, or the votes decided it. */
function lateVote(council: CouncilTable, now: number): MeshError {
  const decided = `${council.outcome} at ${new Date(council.decided_at!).toISOString()} (${council.reason})`;
  const hint = 'Read the outcome with tally_council; open a new council to decide again.';
  if (council.deadline_at !== null && now >= council.deadline_at) {
    return new MeshError('conflict', `Voting on council ${quote(council.message_id)} closed at its deadline, ${new Date(council.deadline_at).toISOString()}; `
      + `it was already decided: ${decided}. This vote was not recorded.`, hint);
  }
  return new MeshError('conflict', `Council ${quote(council.message_id)} was already decided: ${decided}; votes no longer count.`, hint);
}

/**
 * The council now. One whose deadline has passed is decided first, in a write, at the deadline:
 * the same outcome and time a hub's sweep records, so it does not matter who looks first.
 */
export function tallyCouncilNow(store: Store, councilId: string, fleetId: string | null, now: number = Date.now()): CouncilState {
  // A plain read unless the deadline has passed, so a tally takes the write lock at most once per council.
  if (!isDue(requireCouncil(store, councilId, fleetId), now)) return readCouncil(store, councilId);
  return store.write(() => {
    settle(store, requireCouncil(store, councilId, fleetId), now);
    return readCouncil(store, councilId);
  });
}

/**
 * The outcome an open council past its deadline has at `now`, as settling would store it, read
 * without writing: for callers that only look (inspect, the dashboard). Null when it is decided
 * already or not due.
 */
export function dueDecision(store: Store, councilId: string, now: number): CouncilDecision | null {
  const council = requireCouncil(store, councilId, null);
  return isDue(council, now) ? decisionAt(store, council, now) : null;
}

/**
 * Decides every open council whose deadline has passed, without anyone calling tally: the
 * process that owns timers calls this periodically (today each server's supervisor tick).
 * Returns how many it decided; at most `max` per call, oldest deadline first.
 */
export function settleDueCouncils(store: Store, now: number = Date.now(), max = 100): number {
  const due = store.all(store.sql.selectFrom('councils').select('message_id')
    .where('outcome', 'is', null).where('deadline_at', 'is not', null).where('deadline_at', '<=', now).orderBy('deadline_at').limit(max));
  if (due.length === 0) return 0;
  return store.write(() => {
    let decided = 0;
    for (const { message_id: id } of due) {
      // Gone since the read above (a prune took its fleet): nothing to decide, and throwing would
      // undo the rest of the sweep.
      const council = store.first(store.sql.selectFrom('councils').selectAll().where('message_id', '=', id));
      if (council !== undefined && settle(store, council, now)) decided += 1;
    }
    return decided;
  });
}

/** Open, with a deadline that has passed: the deadline decides it, whether or not anyone swept yet. */
const isDue = (council: CouncilTable, now: number): boolean =>
  council.outcome === null && council.deadline_at !== null && now >= council.deadline_at;

export interface CouncilDecision {
  outcome: CouncilOutcome;
  /** The deciding vote's time, or the deadline (however late it is noticed). */
  decidedAt: number;
  reason: string;
}

/** The first final outcome of an open council at `now`, or null while it stays open. Reads only. */
function decisionAt(store: Store, council: CouncilTable, now: number): CouncilDecision | null {
  const tally = tallyCouncil(rulesOf(store, council), currentVotes(store, council.message_id), now);
  if (tally.outcome === null) return null;
  return { outcome: tally.outcome, decidedAt: tally.decidedBy === 'deadline' ? council.deadline_at! : now, reason: tally.reason! };
}

/**
 * Stores the council's first final outcome when it has one. Call inside a write. Idempotent: when
 * another process decided it since `council` was read, its outcome stands and no second
 * council_decided event is recorded. Returns whether this call decided it.
 */
function settle(store: Store, council: CouncilTable, now: number): boolean {
  if (council.outcome !== null) return false;
  const decision = decisionAt(store, council, now);
  if (decision === null) return false;
  const stored = store.run(store.sql.updateTable('councils').set({ outcome: decision.outcome, decided_at: decision.decidedAt, reason: decision.reason })
    .where('message_id', '=', council.message_id).where('outcome', 'is', null)) > 0;
  if (stored) {
    recordEvent(store, { kind: 'council_decided', fleetId: council.fleet_id, data: { council_id: council.message_id, outcome: decision.outcome, reason: decision.reason } }, now);
  }
  return stored;
}

function rulesOf(store: Store, council: CouncilTable): CouncilRules {
  const voters = store.all(store.sql.selectFrom('council_voters').select(['agent_id', 'weight', 'required']).where('council_id', '=', council.message_id).orderBy('agent_id'));
  return {
    quorum: council.quorum, silence: council.silence, deadlineAt: council.deadline_at,
    voters: voters.map((v) => ({ agentId: v.agent_id, weight: v.weight, required: v.required === 1 })),
  };
}

function currentVotes(store: Store, councilId: string): Map<string, boolean> {
  const rows = store.all(store.sql.selectFrom('council_votes').select(['agent_id', 'approve']).where('council_id', '=', councilId).where('superseded_at', 'is', null));
  return new Map(rows.map((r) => [r.agent_id, r.approve === 1]));
}

function requireCouncil(store: Store, councilId: string, fleetId: string | null): CouncilTable {
  const council = store.first(store.sql.selectFrom('councils').selectAll().where('message_id', '=', councilId));
  if (council === undefined || (fleetId !== null && council.fleet_id !== fleetId)) {
    throw new MeshError('not_found', `No council ${quote(councilId)}${fleetId === null ? '' : ` in fleet ${quote(fleetId)}`}.`,
      'Pass the message_id open_council returned (the proposal\'s id).');
  }
  return council;
}

/** A council with its voters, their current votes and the counts. */
function readCouncil(store: Store, councilId: string): CouncilState {
  const c = requireCouncil(store, councilId, null);
  const rules = rulesOf(store, c);
  const votes = store.all(store.sql.selectFrom('council_votes').select(['agent_id', 'approve', 'note', 'cast_at', 'superseded_at'])
    .where('council_id', '=', councilId).orderBy('id'));
  const current = new Map(votes.filter((v) => v.superseded_at === null).map((v) => [v.agent_id, v]));
  const tally = tallyCouncil(rules, new Map([...current].map(([id, v]) => [id, v.approve === 1])), c.opened_at);
  return {
    councilId: c.message_id, fleetId: c.fleet_id, proposerId: c.proposer_id, subject: c.subject, quorum: c.quorum, silence: c.silence,
    openedAt: c.opened_at, deadlineAt: c.deadline_at, outcome: c.outcome, decidedAt: c.decided_at, reason: c.reason,
    tally: { approvals: tally.approvals, declines: tally.declines, pending: tally.pending, total: tally.total },
    voters: rules.voters.map((v) => {
      const vote = current.get(v.agentId);
      return {
        agentId: v.agentId, weight: v.weight, required: v.required, vote: vote === undefined ? null : vote.approve === 1 ? 'approve' : 'decline',
        note: vote?.note ?? null, castAt: vote?.cast_at ?? null, votesCast: votes.filter((h) => h.agent_id === v.agentId).length,
      };
    }),
  };
}
