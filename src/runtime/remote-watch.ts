import { recordEvent } from '../mesh/events.js';
import { getAgent, markAgentFinished } from '../mesh/fleets.js';
import { runningRemoteAgents, type RunningRemoteAgent } from '../mesh/remote-agents.js';
import type { Store } from '../store/open.js';
import { BACKGROUND_BUSY_TIMEOUT_MS } from './agent-records.js';
import { passedDeadline } from './policy.js';
import { Scheduler } from './scheduler.js';

export interface RemoteWatchOptions {
  /** A remote agent with no authenticated request for this long fails (MESHFLEET_REMOTE_SILENCE_MS). */
  silenceMs: number;
  /** The same agent timeout local agents have, counted from the attach. */
  agentTimeoutMs: number;
  tickMs: number;
}

/** Why a remote agent must end now, or null. Deadlines as for a local agent; then silence. */
export function whyRemoteAgentEnds(agent: RunningRemoteAgent, options: RemoteWatchOptions, now: number): string | null {
  const deadline = passedDeadline({ status: 'running', startedAt: agent.startedAt, fleetCreatedAt: agent.fleetCreatedAt, fleetTimeoutMs: agent.fleetTimeoutMs },
    options.agentTimeoutMs, now);
  if (deadline !== null) return deadline.reason;
  const seen = agent.lastSeenAt ?? agent.startedAt ?? now;
  return now - seen >= options.silenceMs
    ? `stopped: the remote agent made no request for ${options.silenceMs} ms (its last at ${new Date(seen).toISOString()}); attach a new one to continue`
    : null;
}

/**
 * The hub's watch over remote agents: there is no process to stop or restart, so an agent past
 * a deadline, or silent past `silenceMs`, fails with the reason, and its token stops working.
 */
export class RemoteWatch {
  private readonly scheduler = new Scheduler((run) => this.store.withBusyTimeout(BACKGROUND_BUSY_TIMEOUT_MS, run));

  constructor(private readonly store: Store, private readonly options: RemoteWatchOptions) {}

  begin(): void {
    this.scheduler.every('the remote agents\' check', this.options.tickMs, () => this.check(Date.now()));
  }

  check(now: number): void {
    for (const agent of runningRemoteAgents(this.store)) {
      const why = whyRemoteAgentEnds(agent, this.options, now);
      if (why === null) continue;
      this.store.write(() => {
        // It may have finished since the read above; its end stands.
        if (getAgent(this.store, agent.id)?.status !== 'running') return;
        recordEvent(this.store, { kind: 'agent_timed_out', fleetId: agent.fleetId, agentId: agent.id, data: { reason: why, remote: true } }, now);
        markAgentFinished(this.store, agent.id, { status: 'failed', output: null, error: why }, now);
      });
    }
  }

  stop(): void {
    this.scheduler.stop();
  }
}
