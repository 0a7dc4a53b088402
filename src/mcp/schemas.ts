// Argument schemas shared by several tools. Messages here are what a model reads on a bad call.
import { z } from 'zod';
import { MAX_TEMPLATE_AGENTS, TEMPLATE_NAME } from '../mesh/templates.js';

export const id = (what: string) => z.string().min(1, `${what} must not be empty`);

export const agentSpec = z.object({
  role: z.string().min(1, 'role must not be empty').describe('What the agent is for, e.g. "reviewer"'),
  prompt: z.string().min(1, 'prompt must not be empty').describe('The task the agent is started with'),
  agent: z.string().min(1).optional().describe('Premade agent stem from list_agents (.opencode/agents/<stem>.md)'),
});

export const templateName = z.string().regex(TEMPLATE_NAME, 'name must be 1 to 64 lowercase letters, digits, "-" or "_"')
  .describe('Template name: 1-64 of a-z, 0-9, "-", "_"');

export const templateVersion = z.int().min(1, 'version must be 1 or more').optional().describe('A saved version; latest when omitted');

export const templateAgents = z.array(agentSpec).min(1, 'a template needs at least one agent')
  .max(MAX_TEMPLATE_AGENTS, `a template holds at most ${MAX_TEMPLATE_AGENTS} agents`);
