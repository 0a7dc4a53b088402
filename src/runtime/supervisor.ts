import { randomUUID } from 'node:crypto';
import { log } from '../log.js';
import { settleDueCouncils } from '../mesh/councils.js';
import { indexPendingMessages } from '../mesh/search.js';
import { FINAL_AGENT_STATUSES, getAgent, requireFleet, type Agent } from '../mesh/fleets.js';
import { hashToken, newAgentToken } from '../mesh/tokens.js';
import {
  beatSupervisor, otherSupervisors, registerSupervisor, removeSupervisor, strandedLegacyAgents, supervisedAgents, takeOverAgents,
  type SupervisedAgent, type SupervisorRecord,
} from '../mesh/supervision.js';
import type { Store } from '../store/open.js';
import { launchFor, type RuntimeConfig } from './adapters.js';
import { AgentRecords, BACKGROUND_BUSY_TIMEOUT_MS } from './agent-records.js';
import { Attempt, outcomeOf, type AttemptEnd } from './attempt.js';
import { passedDeadline, retryDelayMs, whySupervisorIsDead } from './policy.js';
import { isSameProcess, processStartTime, signalGroup } from './processes.js';
import { guarded, guardedAsync, Scheduler } from './scheduler.js';
import { settingsFrom, type Settings, type SupervisorOptions } from './supervisor-settings.js';
import { retireSettledWorkspaces } from './workspaces.js';

export { MAX_CAPTURE_BYTES } from './attempt.js';
export type { SupervisorOptions } from './supervisor-settings.js';

/** An attempt this server runs, and what it knows about it beyond the process. */
interface LiveAttempt {
  agentId: string;
  number: number;
  attempt: Attempt;
  /** Its end is not for this server to record: recorded already at shutdown, or the agent went to another server. */
  abandoned: boolean;
  /** When the process was first seen gone without an exit. */
  missingSince: number | null;
}

/**
 * Starts agent processes and sees each to a final status: retries failed attempts with
 * exponential backoff and jitter, stops attempts past their agent or fleet timeout, notices
 * processes that vanish, and takes over the agents of servers that died. Each server has one;
 * it never touches another live server's agents.
 *
 * Liveness: a server is alive while its process is (pid and start time match its supervisors
 * row) and its heartbeat, written every `heartbeatEveryMs`, is at most `staleAfterMs` old. There
 * is no heartbeat per agent: an agent's own process is watched directly (its exit, its pid).
 */
export class Supervisor {
  readonly id = `sup-${randomUUID()}`;
  private readonly live = new Map<string, LiveAttempt>();
  /** Agents waiting to be retried, each with the cancel function of its timer. */
  private readonly retries = new Map<string, () => void>();
  /** Starts, retries and ends not yet in the database (another process held the write lock). */
  private readonly records: AgentRecords;
  // Background work waits at most BACKGROUND_BUSY_TIMEOUT_MS for another process's write lock
  // and tries again on its next tick: a 10 s wait would freeze every call of this server.
  private readonly scheduler = new Scheduler((run) => this.store.withBusyTimeout(BACKGROUND_BUSY_TIMEOUT_MS, run));
  private readonly settings: Settings;
  /** The worktree sweep under way, if any: its git runs for seconds, across ticks. */
  private sweep: Promise<void> | null = null;
  private readonly stopping = new AbortController();

  constructor(private readonly store: Store, private readonly runtime: RuntimeConfig, private readonly env: NodeJS.ProcessEnv, options: Partial<SupervisorOptions> = {}) {
    this.settings = settingsFrom(options);
    this.records = new AgentRecords(store, this.id);
  }

  /** Registers this server as a supervisor, takes over dead servers' agents, starts the ticks. */
  begin(): void {
    this.register(Date.now());
    const { tickMs, heartbeatEveryMs, reclaimEveryMs, reclaims } = this.settings;
    this.scheduler.every('the timeout check', tickMs, () => this.enforceTimeouts(Date.now()));
    this.scheduler.every('the process check', tickMs, () => this.endVanished(Date.now()));
    this.scheduler.every('the supervisor heartbeat', heartbeatEveryMs, () => this.beat(Date.now()));
    // Council deadlines decide without anyone calling tally_council. Every server sweeps (a
    // decided council is never decided twice); the hub will own this timer where there is one.
    this.scheduler.every('the council deadlines', tickMs, () => settleDueCouncils(this.store, Date.now()));
    // New messages wait in a queue for the full-text index (migration 0011); index them in batches.
    this.scheduler.every('the search index', tickMs, () => indexPendingMessages(this.store));
    if (reclaims) {
      // Worktrees of settled fleets: removed when clean, else kept (runtime/workspaces.ts).
      this.scheduler.every('the worktree sweep', tickMs, () => this.sweepWorkspaces());
      guarded('the reclaim of dead servers\' agents', () => this.reclaim());
      this.scheduler.every('the reclaim of dead servers\' agents', reclaimEveryMs, () => this.reclaim());
    }
  }

  /** Starts a worktree sweep unless the last one still runs (it would pick the same worktrees again). */
  private sweepWorkspaces(): void {
    if (this.sweep !== null) return;
    const around = (write: () => void): void => this.store.withBusyTimeout(BACKGROUND_BUSY_TIMEOUT_MS, write);
    const sweep = retireSettledWorkspaces(this.store, { signal: this.stopping.signal, around }).then(() => undefined);
    guardedAsync('the worktree sweep', () => sweep);
    this.sweep = sweep.catch(() => undefined).finally(() => { this.sweep = null; });
  }

  /** Starts a new agent's first attempt. Returns at once. */
  start(agent: Agent): void {
    this.launch(agent.id, agent.attempts + 1);
  }

  /** Attempts whose process runs here now (agents waiting for a retry not counted). */
  get running(): number {
    return this.live.size;
  }

  /** Starts attempt `number` of the agent, unless it should not run now (see agentToStart). */
  private launch(agentId: string, number: number): void {
    const agent = this.agentToStart(agentId, number);
    if (agent === null) return;
    // A new secret per attempt: a token that leaked from an earlier attempt no longer works.
    const token = newAgentToken();
    let attempt: Attempt;
    try {
      // Its end never comes before this function returns: process events wait for the event loop.
      attempt = new Attempt(launchFor(this.runtime, agent, this.env, token), `agent ${agentId}`, (end) => this.attemptEnded(entry, end));
    } catch (err) {
      // Nothing a retry would change (the agent cannot be passed to a process as it is): final.
      this.records.final(agentId, { status: 'failed', output: null, error: `could not start: ${(err as Error).message}` });
      return;
    }
    const entry: LiveAttempt = { agentId, number, attempt, abandoned: false, missingSince: null };
    const pid = attempt.pid;
    if (pid === undefined) return; // it could not start: its end follows, as a failed attempt
    this.live.set(agentId, entry);
    this.records.started(agentId, { pid, pidStart: processStartTime(pid), number, tokenHash: hashToken(token) },
      () => this.abandon(entry, 'the agent is final or another server\'s'));
  }

  /**
   * The agent, when attempt `number` should start now; else null: it is gone, final, another
   * server's, or past its fleet's deadline (then failed here). A busy database means later.
   */
  private agentToStart(agentId: string, number: number): Agent | null {
    let agent: Agent | undefined;
    let fleet: { createdAt: number; timeoutMs: number | null };
    try {
      agent = getAgent(this.store, agentId);
      if (agent === undefined) return null;
      fleet = requireFleet(this.store, agent.fleetId);
    } catch (err) {
      log.warn(`could not read agent ${agentId} to start attempt ${number}; trying again`, err);
      this.retryLater(agentId, number, this.settings.retryBaseMs);
      return null;
    }
    if (FINAL_AGENT_STATUSES.includes(agent.status)) return null;
    if (agent.supervisorId !== null && agent.supervisorId !== this.id) return null;
    const now = Date.now();
    const deadline = passedDeadline({ status: 'pending', startedAt: null, fleetCreatedAt: fleet.createdAt, fleetTimeoutMs: fleet.timeoutMs },
      this.settings.agentTimeoutMs, now);
    if (deadline === null) return agent;
    this.failForDeadline(agent.id, agent.fleetId, agent.attempts, deadline.reason);
    return null;
  }

  /** Starts attempt `number` after `delayMs`; until then the agent counts as waiting for a retry. */
  private retryLater(agentId: string, number: number, delayMs: number): void {
    this.retries.get(agentId)?.();
    this.retries.set(agentId, this.scheduler.after(`attempt ${number} of agent ${agentId}`, delayMs, () => {
      this.retries.delete(agentId);
      this.launch(agentId, number);
    }));
  }

  private cancelRetry(agentId: string): void {
    this.retries.get(agentId)?.();
    this.retries.delete(agentId);
  }

  private describeStartError(err: NodeJS.ErrnoException): string {
    return err.code === 'ENOENT' && this.runtime.runtime === 'opencode'
      ? 'opencode is not installed or not on PATH; install it, or set MESHFLEET_RUNTIME=command and MESHFLEET_AGENT_COMMAND'
      : err.message;
  }

  /** An attempt ended: a stop is final, a failure is retried while attempts remain, success is final. */
  private attemptEnded(entry: LiveAttempt, end: AttemptEnd): void {
    if (this.live.get(entry.agentId) === entry) this.live.delete(entry.agentId);
    if (entry.abandoned) return;
    const { agentId, number } = entry;
    if (end.stop !== null) {
      this.records.final(agentId, { status: end.stop.status, output: end.stdout, error: end.stop.reason });
      return;
    }
    const outcome = outcomeOf(end, (err) => this.describeStartError(err));
    if (outcome.status === 'complete') {
      this.records.final(agentId, { status: 'complete', output: end.stdout, error: null });
    } else if (number < this.settings.maxAttempts) {
      const delayMs = retryDelayMs(this.settings.retryBaseMs, number, this.settings.random);
      this.records.retrying(agentId, { attempt: number, delayMs, error: outcome.error });
      this.retryLater(agentId, number + 1, delayMs);
    } else {
      this.records.final(agentId, { status: 'failed', output: end.stdout, error: outcome.error });
    }
  }

  /** The attempt is no longer this server's to record; its process goes. */
  private abandon(entry: LiveAttempt, why: string): void {
    entry.abandoned = true;
    if (this.live.get(entry.agentId) === entry) this.live.delete(entry.agentId);
    guardedAsync(`stopping agent ${entry.agentId}`, () => entry.attempt.terminate({ status: 'interrupted', reason: why }, this.settings.killGraceMs));
  }

  /** A deadline passed while the agent had no process here (waiting for a retry, or about to start). */
  private failForDeadline(agentId: string, fleetId: string, attempt: number, reason: string): void {
    this.records.event(agentId, 'the timeout', { kind: 'agent_timed_out', fleetId, agentId, data: { reason, attempt } });
    this.cancelRetry(agentId);
    this.records.final(agentId, { status: 'failed', output: null, error: reason });
  }

  /** Deadlines are read from the database each tick, so a fleet timeout set meanwhile applies at once. */
  private enforceTimeouts(now: number): void {
    for (const agent of supervisedAgents(this.store, this.id)) {
      // The database is behind on this agent (its end, say, waits to be written): what it shows is stale.
      if (this.records.has(agent.id)) continue;
      const entry = this.live.get(agent.id);
      // Being stopped already (one agent_timed_out per attempt), or ended and being recorded.
      if (entry !== undefined && (entry.attempt.isStopping || entry.attempt.hasExited)) continue;
      const deadline = passedDeadline(agent, this.settings.agentTimeoutMs, now);
      if (deadline === null) continue;
      if (entry === undefined) {
        this.failForDeadline(agent.id, agent.fleetId, agent.attempts, deadline.reason);
        continue;
      }
      this.records.event(agent.id, 'the timeout', {
        kind: 'agent_timed_out', fleetId: agent.fleetId, agentId: agent.id, data: { reason: deadline.reason, attempt: entry.number },
      });
      guardedAsync(`stopping agent ${agent.id}`, () => entry.attempt.terminate({ status: 'failed', reason: deadline.reason }, this.settings.killGraceMs));
    }
  }

  /** A process that is gone though its exit never reached us: after a second, it ends as a failure. */
  private endVanished(now: number): void {
    for (const entry of [...this.live.values()]) {
      if (!entry.attempt.isGoneUnreported()) entry.missingSince = null;
      else if (now - (entry.missingSince ??= now) >= 1_000) entry.attempt.endVanished();
    }
  }

  private register(now: number): void {
    registerSupervisor(this.store, { id: this.id, pid: process.pid, pidStart: processStartTime(process.pid), startedAt: now, heartbeatAt: now });
  }

  /**
   * The heartbeat. When this server's row is gone, another server judged it dead (the process
   * was stopped, or busy past `staleAfterMs`) and took its agents over: attempts of those agents
   * are stopped here without a record, and the server registers again for the agents it kept.
   */
  private beat(now: number): void {
    if (beatSupervisor(this.store, this.id, now)) return;
    log.error(`another server took over this server's agents (its heartbeat was older than ${this.settings.staleAfterMs} ms); stopping their processes here`);
    for (const entry of [...this.live.values()]) {
      if (getAgent(this.store, entry.agentId)?.supervisorId !== this.id) this.abandon(entry, 'another server took the agent over');
    }
    this.register(now);
  }

  /**
   * Takes over the agents of other servers that are dead (see the class comment): each claim is
   * one transaction in src/mesh/supervision.ts, so an agent goes to one server only.
   */
  reclaim(now: number = Date.now()): void {
    this.settleLegacyAgents();
    for (const other of otherSupervisors(this.store, this.id)) {
      const why = whySupervisorIsDead(other, now, this.settings.staleAfterMs);
      if (why === null) continue;
      const taken = takeOverAgents(this.store, other, this.id, why, now);
      for (const agent of taken ?? []) this.recover(agent, other, why);
    }
  }

  private recover(agent: SupervisedAgent, dead: SupervisorRecord, why: string): void {
    // The orphan may still run; end it, but only if the pid is still that process.
    if (agent.pid !== null && isSameProcess(agent.pid, agent.pidStart)) signalGroup(agent.pid, 'SIGKILL');
    if (this.settings.recovery === 'restart' && agent.attempts < this.settings.maxAttempts) {
      this.records.event(agent.id, 'the recovery', {
        kind: 'agent_recovered', fleetId: agent.fleetId, agentId: agent.id, data: { from: dead.id, attempt: agent.attempts + 1 },
      });
      this.launch(agent.id, agent.attempts + 1);
    } else {
      const what = why === 'its process is gone' ? 'died' : `stopped responding (${why})`;
      this.records.final(agent.id, { status: 'interrupted', output: null, error: `its supervising server (pid ${dead.pid}) ${what}` });
    }
  }

  /** Legacy agents left pending or running are recorded interrupted, so their fleets settle instead of running forever. */
  private settleLegacyAgents(): void {
    for (const { id, output } of strandedLegacyAgents(this.store)) {
      if (this.records.has(id)) continue; // already on its way to the database
      this.records.final(id, { status: 'interrupted', output, error: 'imported from a legacy ledger while it ran; its process belonged to the old server and cannot be resumed' });
    }
  }

  /** Shutdown: every agent of this server is recorded interrupted and stopped; the supervisor row goes. */
  async stopAll(reason: string): Promise<void> {
    this.scheduler.stop();
    this.stopping.abort();
    for (const agentId of [...this.retries.keys()]) {
      this.cancelRetry(agentId);
      this.records.final(agentId, { status: 'interrupted', output: null, error: reason });
    }
    const stopping = [...this.live.values()].map((entry) => {
      // Recorded now, with what it printed so far: the end the stop causes adds nothing.
      this.records.final(entry.agentId, { status: 'interrupted', output: entry.attempt.output(), error: reason });
      entry.abandoned = true;
      return entry.attempt.terminate({ status: 'interrupted', reason }, this.settings.killGraceMs);
    });
    this.live.clear();
    await Promise.all([...stopping, this.sweep]);
    const written = await this.records.drain(this.settings.shutdownFlushMs);
    this.records.stop();
    // With records lost, the row stays: the next server finds this one dead and settles its agents.
    if (!written) return;
    try {
      removeSupervisor(this.store, this.id);
    } catch (err) {
      log.error('could not remove the supervisor record', err);
    }
  }
}
