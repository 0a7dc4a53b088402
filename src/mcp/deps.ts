import type { ChangeFeed } from '../mesh/changes.js';
import type { Agent } from '../mesh/fleets.js';
import type { Store } from '../store/open.js';
import type { Caller } from './access.js';
import type { InboxPush } from './push.js';

/** What tools work with: one per server process. */
export interface ToolDeps {
  store: Store;
  changes: ChangeFeed;
  /** Where spawn_fleet and attach_agent send new agents. */
  agents: AgentLauncher;
  push: InboxPush;
  startedAt: number;
  version: string;
  /** Where list_agents looks for .opencode/agents (the project), and the user's home. */
  projectDir: string;
  homeDir: string;
  /** Who this server acts for: the operator, or (MESHFLEET_AGENT_ID) one agent only. */
  caller: Caller;
  /** wait_for_messages calls this server holds open now; get_health reports the count. */
  waits: { pending: number };
}

/** Starts new agents: this server's own supervisor (--no-hub), or the database's hub. */
export interface AgentLauncher {
  /** The supervisor id new agents are claimed for as they are recorded; null leaves them to the hub. */
  readonly owner: string | null;
  /** Called after the agents are recorded; returns at once. */
  start(agents: readonly Agent[]): void;
  /** Agent processes this server runs itself (0 when a hub runs them). */
  readonly runningHere: number;
}

/** What a server needs of the hub: started when none lives, once agents wait for it. */
export interface HubLink {
  ensure(): void;
  ensureIfNeeded(): void;
  stop(): void;
}
