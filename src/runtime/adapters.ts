import type { Agent } from '../mesh/fleets.js';
import { AGENT_NAME, MAX_PROMPT_BYTES, quote } from '../mesh/limits.js';

export const RUNTIMES = ['opencode', 'command'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

export interface RuntimeConfig {
  runtime: RuntimeName;
  /** For the command runtime: a command line run through the shell for each agent. */
  agentCommand?: string;
  /** The database agents join (MESHFLEET_DB in their environment). */
  dbPath: string;
}

export interface Launch {
  file: string;
  args: string[];
  shell: boolean;
  env: NodeJS.ProcessEnv;
  /** The agent's own worktree, when it has one; else the server's folder. */
  cwd?: string;
}

/**
 * How to start one attempt of an agent: the program, and the environment that tells it who it
 * is. `token` is this attempt's secret (MESHFLEET_AGENT_TOKEN). Throws when the agent cannot be
 * passed to a process at all; the tools refuse such input up front, this is the last line.
 */
export function launchFor(config: RuntimeConfig, agent: Agent, baseEnv: NodeJS.ProcessEnv, token: string): Launch {
  refuseUnpassable(agent);
  // The operator's token and the parent's own agent token are not the child's to hold.
  const { MESHFLEET_AUTH_TOKEN: _operator, MESHFLEET_AGENT_TOKEN: _parent, ...inherited } = baseEnv;
  const env = {
    ...inherited,
    MESHFLEET_AGENT_ID: agent.id,
    MESHFLEET_AGENT_TOKEN: token,
    MESHFLEET_FLEET_ID: agent.fleetId,
    MESHFLEET_ROLE: agent.role,
    MESHFLEET_PROMPT: agent.prompt,
    MESHFLEET_DB: config.dbPath,
  };
  if (config.runtime === 'command') {
    if (config.agentCommand === undefined || config.agentCommand.trim() === '') {
      throw new Error('MESHFLEET_RUNTIME=command needs MESHFLEET_AGENT_COMMAND, the command line to run for each agent');
    }
    return { file: config.agentCommand, args: [], shell: true, env, cwd: agent.workspace?.path };
  }
  // No shell, so the prompt is never interpreted; after `--`, so a prompt like "-h" is no option.
  const agentArgs = agent.agentFile ? ['--agent', agent.agentFile] : [];
  return { file: 'opencode', args: ['run', ...agentArgs, '--', agent.prompt], shell: false, env, cwd: agent.workspace?.path };
}

function refuseUnpassable(agent: Agent): void {
  // Arguments and environment variables are C strings: a NUL would end them early.
  if (agent.prompt.includes('\0')) throw new Error('the prompt contains a NUL character, which cannot be passed to a process; remove it');
  if (agent.role.includes('\0')) throw new Error('the role contains a NUL character, which cannot be passed to a process; remove it');
  const bytes = Buffer.byteLength(agent.prompt, 'utf8');
  if (bytes > MAX_PROMPT_BYTES) {
    throw new Error(`the prompt is ${bytes} bytes; at most ${MAX_PROMPT_BYTES} can be passed to a process: write the rest to a file and name it in the prompt`);
  }
  if (agent.agentFile !== null && !AGENT_NAME.test(agent.agentFile)) {
    throw new Error(`the agent name ${quote(agent.agentFile)} is not a plain name (letters, digits, '.', '_', '-'; at most 64 characters)`);
  }
}
