// The task board's tools. Leads (and the operator) put tasks on the board; every agent of the
// fleet claims, completes, releases and blocks its own claims; leads and the operator may also
// release or block any task of their fleet. An agent sees only its own fleet's tasks.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import {
  DEFAULT_LEASE_MS, MAX_DESCRIPTION_CHARS, MAX_LEASE_MS, MAX_PAYLOAD_BYTES, MAX_SKILLS, MAX_TASK_BATCH, MAX_TASK_CHARS,
  MAX_TASK_DEPENDENCIES, MAX_TASK_PAGE, MAX_TASK_PRIORITY, MAX_TASK_TITLE_CHARS, MAX_TERM_CHARS, MIN_LEASE_MS, MIN_TASK_PRIORITY,
} from '../mesh/limits.js';
import { blockTask, claimTask, completeTask, releaseTask, type ClaimActor } from '../mesh/task-claims.js';
import { createTasks, getTask, listTasks, TASK_STATUSES, type Task, type TaskDetail, type TaskSpec } from '../mesh/tasks.js';
import { nextTask, type NextTaskAnswer } from '../routing/next-task.js';
import { actingAgent, actingFleet, type Caller } from './access.js';
import type { ToolDeps } from './deps.js';
import { pageFields, pageOf } from './paging.js';
import { toolResult } from './result.js';
import { flag, id, list, oneOf, page, text, whole } from './schemas.js';
import { waitForChange } from './waiting.js';

const MAX_WAIT_MS = 60_000;

const taskFields = {
  title: text('title', MAX_TASK_TITLE_CHARS).describe(`Short name of the work (at most ${MAX_TASK_TITLE_CHARS} characters)`),
  description: text('description', MAX_TASK_CHARS).describe(`What to do (at most ${MAX_TASK_CHARS} characters); routed like route_work's description`),
  depends_on: list('depends_on', id('a dependency'), MAX_TASK_DEPENDENCIES).optional()
    .describe(`Task ids (or refs of tasks in the same create_tasks call) that must be done first; at most ${MAX_TASK_DEPENDENCIES}`),
  skills: list('skills', text('a skill', MAX_TERM_CHARS), MAX_SKILLS).optional()
    .describe('Skills the work needs, e.g. ["react", "testing"]: next_task routes on them (else on title and description), and complete_task records outcomes for them'),
  priority: whole('priority', MIN_TASK_PRIORITY, MAX_TASK_PRIORITY).optional().describe(`Higher is taken first (default 0, ${MIN_TASK_PRIORITY} to ${MAX_TASK_PRIORITY})`),
};

const leaseArg = whole('lease_ms', MIN_LEASE_MS, MAX_LEASE_MS, ' ms').optional()
  .describe(`How long the claim holds without renewal, in ms (default ${DEFAULT_LEASE_MS}, max ${MAX_LEASE_MS}); claim_task again to renew`);

const toSpec = (t: { ref?: string; title: string; description: string; depends_on?: string[]; skills?: string[]; priority?: number }): TaskSpec => ({
  ref: t.ref, title: t.title, description: t.description, dependsOn: t.depends_on, skills: t.skills, priority: t.priority,
});

function taskJson(task: Task & { dependsOn?: unknown }) {
  return {
    id: task.id, fleet_id: task.fleetId, title: task.title, description: task.description, status: task.status, ready: task.ready,
    priority: task.priority, skills: task.skills, waiting_on: task.waitingOn, claimed_by: task.claimedBy, lease_expires_at: task.leaseExpiresAt,
    created_by: task.createdBy, created_at: task.createdAt, updated_at: task.updatedAt, finished_by: task.finishedBy,
    finished_at: task.finishedAt, blocked_reason: task.blockedReason, ...(task.dependsOn === undefined ? {} : { depends_on: task.dependsOn }),
  };
}

const detailJson = (task: TaskDetail) => ({
  ...taskJson(task), result: task.result, depends_on: task.dependsOn, dependents: task.dependents, dependent_count: task.dependentCount,
});

/** Who acts on a claim: an agent as itself (with a lead's reach), or the operator over any. */
const actorOf = (caller: Caller): ClaimActor => (caller.kind === 'operator' ? { operator: true } : { agentId: caller.agentId, lead: caller.kind === 'lead' });
/** The fleet an agent's calls are limited to; the operator reaches every fleet. */
const fleetOf = (caller: Caller): string | undefined => (caller.kind === 'operator' ? undefined : caller.fleetId);

export function registerTaskTools(server: McpServer, deps: ToolDeps): void {
  const { store, caller } = deps;
  const creator = caller.kind === 'operator' ? null : caller.agentId;
  const fleetArg = id('fleet_id').optional().describe(caller.kind === 'operator' ? 'The fleet' : 'Defaults to this agent\'s fleet');
  const agentArg = id('agent_id').optional().describe('The agent the claim is for; defaults to this server\'s own agent');

  server.registerTool('create_task', {
    description: 'Put a task on the fleet\'s board. It is ready for an agent to claim once every task in depends_on is done.',
    inputSchema: { fleet_id: fleetArg, ...taskFields },
  }, (input) => toolResult(() => {
    const [task] = createTasks(store, actingFleet(caller, input.fleet_id, 'create tasks in'), [toSpec(input)], creator);
    return { task_id: task!.id, ready: task!.ready };
  }));

  server.registerTool('create_tasks', {
    description: `Put up to ${MAX_TASK_BATCH} tasks on the board in one transaction (all or none). A task may depend on another of the same call by its ref; a cycle is refused.`,
    inputSchema: {
      fleet_id: fleetArg,
      tasks: list('tasks', z.object({ ref: id('ref').optional().describe('A name other tasks of this call can list in depends_on'), ...taskFields }), MAX_TASK_BATCH, 1),
    },
  }, (input) => toolResult(() => ({
    tasks: createTasks(store, actingFleet(caller, input.fleet_id, 'create tasks in'), input.tasks.map(toSpec), creator)
      .map((t) => ({ ref: t.ref, task_id: t.id, ready: t.ready })),
  })));

  server.registerTool('list_tasks', {
    description: `The fleet's tasks in creation order, ${MAX_TASK_PAGE} per page, without results (get_task has them). ready: true lists only tasks an agent could claim now.`,
    inputSchema: {
      fleet_id: fleetArg,
      status: oneOf('status', TASK_STATUSES).optional().describe('Only tasks in this status: open, claimed, done, failed, blocked'),
      ready: flag('ready').optional().describe('true: only claimable tasks (open, every dependency done); false: only the others'),
      ...page(MAX_TASK_PAGE, MAX_TASK_PAGE),
    },
  }, (input) => toolResult(() => {
    const fleetId = actingFleet(caller, input.fleet_id, 'list tasks of');
    const offset = input.offset ?? 0;
    const listed = listTasks(store, fleetId, { status: input.status, ready: input.ready }, { offset, limit: input.limit ?? MAX_TASK_PAGE });
    const cut = pageOf(listed.tasks, taskJson);
    const more = cut.nextOffset !== null || listed.hasMore;
    const next = offset + (cut.nextOffset ?? listed.tasks.length);
    return { fleet_id: fleetId, tasks: cut.items, ...pageFields({ items: cut.items, nextOffset: more ? next : null }) };
  }));

  server.registerTool('get_task', {
    description: 'One task with its description, dependencies and their status, the tasks waiting for it, its claim and its result.',
    inputSchema: { task_id: id('task_id') },
  }, (input) => toolResult(() => detailJson(getTask(store, input.task_id, fleetOf(caller)))));

  server.registerTool('claim_task', {
    description: 'Claim a ready task (every dependency done) for this agent: exactly one agent wins a task. Returns a lease; claiming it again renews the lease. Finish with complete_task, or release_task / block_task.',
    inputSchema: { task_id: id('task_id'), agent_id: agentArg, lease_ms: leaseArg },
  }, (input) => toolResult(() => {
    const agentId = actingAgent(caller, input.agent_id, 'agent_id', 'claim tasks');
    const claim = claimTask(store, input.task_id, agentId, input.lease_ms);
    return { task_id: claim.taskId, agent_id: claim.agentId, lease_expires_at: claim.leaseExpiresAt, renewed: claim.renewed };
  }));

  server.registerTool('next_task', {
    description: `Claim the best ready task for this agent: highest priority, then how well the agent fits it (route_work's score), then the oldest. task is null when none is ready; wait_ms (max ${MAX_WAIT_MS}) waits for one. counts shows the board: with nothing open or claimed, no more work will come.`,
    inputSchema: {
      agent_id: agentArg,
      lease_ms: leaseArg,
      wait_ms: whole('wait_ms', 0, MAX_WAIT_MS, ' ms').optional().describe(`While no task is ready but some are open or claimed, wait up to this long for one (default 0, max ${MAX_WAIT_MS})`),
    },
  }, (input, extra) => toolResult(async () => {
    const agentId = actingAgent(caller, input.agent_id, 'agent_id', 'claim tasks');
    const deadline = Date.now() + (input.wait_ms ?? 0);
    let answer: NextTaskAnswer = nextTask(store, agentId, input.lease_ms);
    while (answer.next === null && answer.counts.open + answer.counts.claimed > 0 && Date.now() < deadline && !extra.signal.aborted) {
      await waitForChange(deps, () => true, deadline - Date.now(), extra.signal);
      answer = nextTask(store, agentId, input.lease_ms);
    }
    return {
      task: answer.next === null ? null : detailJson(getTask(store, answer.next.claim.taskId)),
      lease_expires_at: answer.next?.claim.leaseExpiresAt ?? null,
      score: answer.next?.score ?? null,
      matched: answer.next?.matched ?? [],
      counts: answer.counts,
    };
  }));

  server.registerTool('complete_task', {
    description: 'Finish a task this agent has claimed: success true makes it done (tasks waiting only for it become ready), false makes it failed. Either way the outcome teaches routing for its skills.',
    inputSchema: {
      task_id: id('task_id'),
      success: flag('success'),
      result: text('result', MAX_PAYLOAD_BYTES, { empty: true }).describe(`What came of it (at most ${MAX_PAYLOAD_BYTES} bytes of UTF-8): a summary, a branch, a path`),
    },
  }, (input) => toolResult(() => {
    const done = completeTask(store, input.task_id, actorOf(caller), { success: input.success, result: input.result }, fleetOf(caller));
    return { task_id: input.task_id, status: done.status, agent_id: done.agentId, outcome_keys: done.keys, now_ready: done.nowReady };
  }));

  server.registerTool('release_task', {
    description: 'Put a task back on the board (open): your own claim; a lead or the operator may also release another agent\'s claim, or reopen a blocked or failed task.',
    inputSchema: { task_id: id('task_id') },
  }, (input) => toolResult(() => {
    const { previous } = releaseTask(store, input.task_id, actorOf(caller), fleetOf(caller));
    return { task_id: input.task_id, status: 'open', was: previous };
  }));

  server.registerTool('block_task', {
    description: 'Mark a task blocked with the reason (its claim ends; it is not offered until a lead or the operator releases it): your own claim, or for a lead any open or claimed task of its fleet.',
    inputSchema: { task_id: id('task_id'), reason: text('reason', MAX_DESCRIPTION_CHARS).describe(`What it waits for (at most ${MAX_DESCRIPTION_CHARS} characters)`) },
  }, (input) => toolResult(() => {
    blockTask(store, input.task_id, actorOf(caller), input.reason, fleetOf(caller));
    return { task_id: input.task_id, status: 'blocked' };
  }));
}
