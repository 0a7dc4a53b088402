import type { ChangeFeed } from '../mesh/changes.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { Store } from '../store/open.js';
import type { Caller } from './access.js';
import type { InboxPush } from './push.js';

/** What tools work with: one per server process. */
export interface ToolDeps {
  store: Store;
  changes: ChangeFeed;
  supervisor: Supervisor;
  push: InboxPush;
  startedAt: number;
  version: string;
  /** Where list_agents looks for .opencode/agents (the project), and the user's home. */
  projectDir: string;
  homeDir: string;
  /** Who this server acts for: the operator, or (MESHFLEET_AGENT_ID) one agent only. */
  caller: Caller;
  /**
   * The MCP URL of the hub serving this database over HTTP, where remote agents connect; undefined
   * when none does (attach_agent with runtime "remote" is then refused).
   */
  hubUrl?: () => string | undefined;
  /** wait_for_messages calls this server holds open now; get_health reports the count. */
  waits: { pending: number };
}
