// Argument schemas shared by the tools. Their messages are what a model reads on a bad call:
// each names the field, and for a bound the limit and the size it got.
import { z } from 'zod';
import {
  AGENT_NAME, MAX_ID_CHARS, MAX_PROMPT_BYTES, MAX_ROLE_CHARS, quote,
} from '../mesh/limits.js';
import { MAX_TEMPLATE_AGENTS, TEMPLATE_NAME } from '../mesh/templates.js';

type Issue = { input?: unknown };

const kindOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value);
const missingOr = (field: string, wrong: string) => (iss: Issue) => (iss.input === undefined ? `${field} is required` : `${field} must be ${wrong}, not ${kindOf(iss.input)}`);

/** A string of 1 (or 0, with `empty`) to `max` characters. */
export const text = (field: string, max: number, options: { empty?: boolean } = {}) =>
  z.string({ error: missingOr(field, 'a string') })
    .min(options.empty ? 0 : 1, `${field} must not be empty`)
    .max(max, { error: (iss: Issue) => `${field} is ${(iss.input as string).length} characters; the limit is ${max}` });

export const id = (field: string) => text(field, MAX_ID_CHARS);

/** A whole number in [min, max]; `unit` words the bound. */
export const whole = (field: string, min: number, max: number, unit = '') =>
  z.int({ error: missingOr(field, `a whole number${unit}`) })
    .min(min, `${field} must be ${min} or more`)
    .max(max, `${field} must be at most ${max}${unit}`);

export const flag = (field: string) => z.boolean({ error: missingOr(field, 'true or false') });

export const oneOf = <T extends readonly [string, ...string[]]>(field: string, values: T) =>
  z.enum(values, { error: (iss: Issue) => (iss.input === undefined ? `${field} is required` : `${field} must be one of ${values.join(', ')}; got ${quote(iss.input)}`) });

/** A list of at most `max` items. */
export const list = <T extends z.ZodType>(field: string, item: T, max: number, min = 0) =>
  z.array(item, { error: missingOr(field, 'a list') })
    .min(min, `${field} must hold at least ${min} item${min === 1 ? '' : 's'}`)
    .max(max, { error: (iss: Issue) => `${field} has ${(iss.input as unknown[]).length} items; the limit is ${max}` });

/** Paging of list tools: skip `offset` items, return at most `limit`. */
export const page = (defaultLimit: number, maxLimit: number) => ({
  offset: whole('offset', 0, Number.MAX_SAFE_INTEGER).optional().describe('Items to skip, from the previous answer\'s next_offset (default 0)'),
  limit: whole('limit', 1, maxLimit).optional().describe(`At most this many items (default ${defaultLimit}, max ${maxLimit}); has_more says if more wait`),
});

export const profile = oneOf('profile', ['worker', 'lead'] as const)
  .describe('worker (default): messages, own inbox and capability, route_work, read own fleet and templates. lead: also attach_agent, set_fleet_timeout and record_routing_outcome for its own fleet');

export const agentSpec = z.object({
  role: text('role', MAX_ROLE_CHARS).describe(`What the agent is for, e.g. "reviewer" (at most ${MAX_ROLE_CHARS} characters)`),
  prompt: text('prompt', MAX_PROMPT_BYTES).describe(`The task the agent is started with (at most ${MAX_PROMPT_BYTES} bytes of UTF-8, no NUL)`),
  agent: text('agent', 64).regex(AGENT_NAME, 'agent must be a premade agent stem: letters, digits, ".", "_", "-", no path').optional()
    .describe('Premade agent stem from list_agents (.opencode/agents/<stem>.md)'),
  profile: profile.optional(),
  workspace: oneOf('workspace', ['shared', 'worktree'] as const).optional()
    .describe('shared (default): run in the server\'s folder. worktree: run in a git worktree of its own, on branch meshfleet/<fleet>/<agent>, made from repo\'s HEAD'),
  repo: text('repo', 4_096).optional().describe('With workspace "worktree": the git repository (default: the server\'s folder)'),
});

export const templateName = z.string({ error: missingOr('name', 'a string') }).regex(TEMPLATE_NAME, 'name must be 1 to 64 lowercase letters, digits, "-" or "_"')
  .describe('Template name: 1-64 of a-z, 0-9, "-", "_"');

export const templateVersion = whole('version', 1, Number.MAX_SAFE_INTEGER).optional().describe('A saved version; latest when omitted');

export const templateAgents = list('agents', agentSpec, MAX_TEMPLATE_AGENTS, 1);
