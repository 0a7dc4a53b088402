// What a supervisor writes about its agents. Each write waits in a queue while another process
// holds the database (see PendingRecords), and is stamped with the moment it happened, not the
// moment it could be written.
import { recordEvent, type EventRecord } from '../mesh/events.js';
import { markAgentFinished, markAgentRetrying, markAgentStarted } from '../mesh/fleets.js';
import type { Store } from '../store/open.js';
import { PendingRecords } from './pending-records.js';

/**
 * How long a record waits for another process's write lock before it is queued to try again: a
 * record is never dropped, so there is no need to block this process's event loop (every other
 * call, ping included) for the full busy timeout.
 */
export const BACKGROUND_BUSY_TIMEOUT_MS = 100;

export type FinalStatus = { status: 'complete' | 'failed' | 'interrupted'; output: string | null; error: string | null };

/**
 * Records for the agents of one supervisor. Retries and ends are written only while the agent is
 * still this supervisor's (or nobody's): once another server has taken an agent over, what this
 * one says about it changes nothing.
 */
export class AgentRecords {
  private readonly pending = new PendingRecords();

  constructor(private readonly store: Store, private readonly supervisorId: string) {}

  private add(agentId: string, what: string, write: () => void): void {
    this.pending.add(agentId, what, () => this.store.withBusyTimeout(BACKGROUND_BUSY_TIMEOUT_MS, write));
  }

  /** Whether something about this agent is not written yet: the database is behind on it. */
  has(agentId: string): boolean {
    return this.pending.has(agentId);
  }

  /** An attempt started; `refused` runs if the agent turned out final or another server's. */
  started(agentId: string, attempt: { pid: number; pidStart: string | null; number: number; tokenHash: string }, refused: () => void): void {
    const now = Date.now();
    this.add(agentId, `the start of agent ${agentId}`, () => {
      if (!markAgentStarted(this.store, agentId, { ...attempt, supervisorId: this.supervisorId }, now)) refused();
    });
  }

  retrying(agentId: string, retry: { attempt: number; delayMs: number; error: string }): void {
    const now = Date.now();
    this.add(agentId, `the retry of agent ${agentId}`,
      () => markAgentRetrying(this.store, agentId, { ...retry, supervisorId: this.supervisorId }, now));
  }

  final(agentId: string, final: FinalStatus): void {
    const now = Date.now();
    this.add(agentId, `the end of agent ${agentId}`,
      () => markAgentFinished(this.store, agentId, { ...final, supervisorId: this.supervisorId }, now));
  }

  /** An event about the agent, in order with its other records; `what` names it in the log. */
  event(agentId: string, what: string, event: EventRecord): void {
    const now = Date.now();
    this.add(agentId, `${what} of agent ${agentId}`, () => this.store.write(() => recordEvent(this.store, event, now)));
  }

  /** At shutdown: keeps trying for about `timeoutMs`; true when everything was written. */
  drain(timeoutMs: number): Promise<boolean> {
    return this.pending.drain(timeoutMs);
  }

  /** No more tries; what is left is logged as lost. */
  stop(): void {
    this.pending.stop();
  }
}
