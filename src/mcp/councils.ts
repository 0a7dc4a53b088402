import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { castVote, openCouncil, tallyCouncilNow, type CouncilState } from '../mesh/councils.js';
import {
  MAX_COUNCIL_DEADLINE_MS, MAX_COUNCIL_DETAILS_CHARS, MAX_FLEET_VOTERS, MAX_NOTE_CHARS, MAX_SUBJECT_CHARS, MAX_VOTE_WEIGHT,
} from '../mesh/limits.js';
import { actingAgent, actingFleet, readableFleet } from './access.js';
import type { ToolDeps } from './deps.js';
import { toolResult } from './result.js';
import { flag, id, list, oneOf, text, whole } from './schemas.js';

const councilJson = (c: CouncilState) => ({
  council_id: c.councilId, message_id: c.councilId, fleet_id: c.fleetId, proposer_id: c.proposerId, subject: c.subject,
  status: c.outcome ?? 'open', outcome: c.outcome, reason: c.reason, decided_at: c.decidedAt,
  quorum: c.quorum, silence: c.silence, opened_at: c.openedAt, deadline_at: c.deadlineAt,
  approvals: c.tally.approvals, declines: c.tally.declines, pending: c.tally.pending, total_weight: c.tally.total,
  voters: c.voters.map((v) => ({
    agent_id: v.agentId, weight: v.weight, required: v.required, vote: v.vote, note: v.note, cast_at: v.castAt, votes_cast: v.votesCast,
  })),
});

export function registerCouncilTools(server: McpServer, deps: ToolDeps): void {
  const { store, caller, changes } = deps;
  server.registerTool('open_council', {
    description: 'Put a proposal to a vote: sends it (type question) to the voters and returns its message_id, the council id. '
      + 'Ratified when approvals (weighted) reach quorum and every required sign-off approved; rejected when a sign-off declines or quorum becomes unreachable; '
      + 'at deadline_ms, silence "abstain" expires it, "approve" counts non-voters as approving (never as a sign-off).',
    inputSchema: {
      fleet_id: id('fleet_id').optional().describe('Defaults to this server\'s own agent\'s fleet'),
      from_agent_id: id('from_agent_id').optional().describe('The proposer; defaults to this server\'s own agent'),
      subject: text('subject', MAX_SUBJECT_CHARS).describe(`What is proposed, at most ${MAX_SUBJECT_CHARS} characters`),
      details: text('details', MAX_COUNCIL_DETAILS_CHARS).optional().describe(`The proposal in full (at most ${MAX_COUNCIL_DETAILS_CHARS} characters); the subject when omitted`),
      quorum: whole('quorum', 1, MAX_FLEET_VOTERS * MAX_VOTE_WEIGHT).describe('Weight of approvals needed (each voter weighs 1 unless weights says otherwise)'),
      voters: list('voters', id('a voter'), MAX_FLEET_VOTERS, 1).optional().describe('Agents of the fleet who vote; default every agent but the proposer'),
      weights: z.record(id('a weights key'), whole('a weight', 1, MAX_VOTE_WEIGHT), { error: 'weights must be an object of agent id → whole number' })
        .refine((w) => Object.keys(w).length <= MAX_FLEET_VOTERS, { error: `weights names more than ${MAX_FLEET_VOTERS} agents; it may name only voters` }).optional()
        .describe(`Agent id → weight, 1 to ${MAX_VOTE_WEIGHT} (default 1)`),
      required_signoffs: list('required_signoffs', id('a sign-off'), MAX_FLEET_VOTERS).optional().describe('Voters whose own approval is required'),
      deadline_ms: whole('deadline_ms', 1, MAX_COUNCIL_DEADLINE_MS, ' ms').optional().describe('Voting closes this many ms from now (max 30 days); none when omitted'),
      silence: oneOf('silence', ['abstain', 'approve'] as const).optional().describe('At the deadline, voters who did not vote: abstain (default) or approve'),
    },
  }, (input) => toolResult(() => {
    const council = openCouncil(store, {
      fleetId: actingFleet(caller, input.fleet_id, 'open a council in'), proposerId: actingAgent(caller, input.from_agent_id, 'from_agent_id', 'propose'),
      subject: input.subject, details: input.details, quorum: input.quorum, voters: input.voters, weights: input.weights,
      requiredSignoffs: input.required_signoffs, deadlineMs: input.deadline_ms, silence: input.silence,
    });
    changes.notify();
    return councilJson(council);
  }));

  server.registerTool('cast_vote', {
    description: 'Vote on a council as this agent (a voter). Voting again replaces your vote (the earlier one is kept as history). Returns the tally; refused once the council is decided.',
    inputSchema: {
      message_id: id('message_id').describe('The council id: the proposal\'s message_id'),
      approve: flag('approve'),
      note: text('note', MAX_NOTE_CHARS, { empty: true }).optional().describe(`Why, at most ${MAX_NOTE_CHARS} characters`),
      agent_id: id('agent_id').optional().describe('The voter; defaults to this server\'s own agent'),
    },
  }, (input) => toolResult(() => {
    const agentId = actingAgent(caller, input.agent_id, 'agent_id', 'vote');
    const { replaced, council } = castVote(store, input.message_id, agentId, input.approve, input.note ?? null);
    return { ...councilJson(council), replaced };
  }));

  server.registerTool('tally_council', {
    description: 'A council\'s status (open, ratified, rejected, expired), weights counted and each voter\'s current vote.',
    inputSchema: { message_id: id('message_id').describe('The council id: the proposal\'s message_id') },
  }, (input) => toolResult(() => councilJson(tallyCouncilNow(store, input.message_id, readableFleet(caller, undefined, 'read councils in')))));
}
