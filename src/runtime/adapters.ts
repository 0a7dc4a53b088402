import type { Agent } from '../mesh/fleets.js';

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
}

/** How to start one agent: the program, and the environment that tells it who it is. */
export function launchFor(config: RuntimeConfig, agent: Agent, baseEnv: NodeJS.ProcessEnv): Launch {
  const env = {
    ...baseEnv,
    MESHFLEET_AGENT_ID: agent.id,
    MESHFLEET_FLEET_ID: agent.fleetId,
    MESHFLEET_ROLE: agent.role,
    MESHFLEET_PROMPT: agent.prompt,
    MESHFLEET_DB: config.dbPath,
  };
  if (config.runtime === 'command') {
    if (config.agentCommand === undefined || config.agentCommand.trim() === '') {
      throw new Error('MESHFLEET_RUNTIME=command needs MESHFLEET_AGENT_COMMAND, the command line to run for each agent');
    }
    return { file: config.agentCommand, args: [], shell: true, env };
  }
  // opencode reads the prompt as an argument; no shell, so the prompt is never interpreted.
  return { file: 'opencode', args: ['run', ...(agent.agentFile ? ['--agent', agent.agentFile] : []), agent.prompt], shell: false, env };
}
