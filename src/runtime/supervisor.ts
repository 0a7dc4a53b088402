import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { log } from '../log.js';
import { recordEvent, type EventRecord } from '../mesh/events.js';
import { getAgent, markAgentFinished, markAgentRetrying, markAgentStarted, type Agent } from '../mesh/fleets.js';
import { hashToken, newAgentToken } from '../mesh/tokens.js';
import {
  beatSupervisor, otherSupervisors, registerSupervisor, removeSupervisor, supervisedAgents, type SupervisorRecord,
} from '../mesh/supervision.js';
import type { Store } from '../store/open.js';
import { launchFor, type RuntimeConfig } from './adapters.js';
import { isBusy, PendingRecords } from './pending-records.js';
import { isAlive, isSameProcess, processStartTime, signalGroup } from './processes.js';

/** What is kept of an agent's stdout (its output) and stderr (its error text): the last 64 KiB. */
export const MAX_CAPTURE_BYTES = 65_536;

export interface SupervisorOptions {
  runtime: RuntimeConfig;
  /** The environment agents inherit (plus their MESHFLEET_* identity). */
  env: NodeJS.ProcessEnv;
  /** MESHFLEET_RETRY_BASE_MS: the first retry waits about this long, each next one twice as long. */
  retryBaseMs?: number;
  /** Attempts in all, the first included. */
  maxAttempts?: number;
  /** MESHFLEET_AGENT_TIMEOUT_MS: the longest one attempt may run. */
  agentTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL when stopping an agent. */
  killGraceMs?: number;
  /** How often timeouts, vanished processes and the heartbeat are checked. */
  tickMs?: number;
  /** How often other servers' dead supervisors are looked for. */
  reclaimEveryMs?: number;
  /** What becomes of an agent whose supervising server died: a new attempt here, or interrupted. */
  recovery?: 'restart' | 'interrupt';
  /** Whether this server takes over dead servers' agents; an agent's own server does not. */
  reclaims?: boolean;
  /** At shutdown, how long to keep trying to write records a busy database held back (plus one busy timeout). */
  shutdownFlushMs?: number;
  random?: () => number;
}

interface Attempt {
  agentId: string;
  number: number;
  child: ChildProcess;
  pid: number;
  stdout: Tail;
  stderr: Tail;
  finished: boolean;
  closed: boolean;
  /** Set when this server stops the attempt (timeout, shutdown): its exit is no failure to retry. */
  stopped: { status: 'failed' | 'interrupted'; reason: string } | null;
  missingTicks: number;
}

type Outcome = { status: 'complete' } | { status: 'failed'; error: string };

/**
 * Starts agent processes and sees each to a final status: retries failed attempts with
 * exponential backoff and jitter, stops attempts past their agent or fleet timeout (SIGTERM,
 * then SIGKILL, on the whole process group), notices processes that vanish, and takes over the
 * agents of servers that died. Each server has one; it never touches another live server's agents.
 */
export class Supervisor {
  readonly id = `sup-${randomUUID()}`;
  private readonly attempts = new Map<string, Attempt>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  /** Starts, retries and ends not yet in the database (another process held the write lock). */
  private readonly records = new PendingRecords();
  private timer: NodeJS.Timeout | undefined;
  private lastBeat = 0;
  private lastReclaim = 0;
  private readonly o: Required<Omit<SupervisorOptions, 'runtime' | 'env'>>;

  constructor(private readonly store: Store, private readonly runtime: RuntimeConfig, private readonly env: NodeJS.ProcessEnv, options: Partial<SupervisorOptions> = {}) {
    this.o = {
      retryBaseMs: options.retryBaseMs ?? 1_000,
      maxAttempts: options.maxAttempts ?? 3,
      agentTimeoutMs: options.agentTimeoutMs ?? 30 * 60_000,
      killGraceMs: options.killGraceMs ?? 3_000,
      tickMs: options.tickMs ?? 250,
      reclaimEveryMs: options.reclaimEveryMs ?? 2_000,
      recovery: options.recovery ?? 'restart',
      reclaims: options.reclaims ?? true,
      shutdownFlushMs: options.shutdownFlushMs ?? 5_000,
      random: options.random ?? Math.random,
    };
  }

  /** Registers this server as a supervisor, takes over dead servers' agents, starts the ticks. */
  begin(): void {
    const now = Date.now();
    registerSupervisor(this.store, { id: this.id, pid: process.pid, pidStart: processStartTime(process.pid), startedAt: now, heartbeatAt: now });
    this.lastBeat = now;
    if (this.o.reclaims) this.reclaim();
    this.timer = setInterval(() => this.guard('supervisor tick', () => this.tick()), this.o.tickMs);
    this.timer.unref();
  }

  /** Starts a new agent's first attempt. Returns at once. */
  start(agent: Agent): void {
    this.launch(agent.id, agent.attempts + 1);
  }

  get running(): number {
    return this.attempts.size;
  }

  private launch(agentId: string, number: number): void {
    let agent: Agent | undefined;
    try {
      agent = getAgent(this.store, agentId);
    } catch (err) {
      log.warn(`could not read agent ${agentId} to start attempt ${number}; trying again`, err);
      this.launchLater(agentId, number, this.o.retryBaseMs);
      return;
    }
    if (agent === undefined) return;
    // A new secret per attempt: a token that leaked from an earlier attempt no longer works.
    const token = newAgentToken();
    let child: ChildProcess;
    try {
      const launch = launchFor(this.runtime, agent, this.env, token);
      // Own process group (detached), so a stop reaches everything the agent started.
      child = spawn(launch.file, launch.args, { shell: launch.shell, env: launch.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      // Nothing a retry would change (the agent cannot be passed to a process as it is): final.
      this.record(agentId, { status: 'failed', output: null, error: `could not start: ${(err as Error).message}` });
      return;
    }
    if (child.pid === undefined) {
      child.once('error', (err: NodeJS.ErrnoException) => this.guard(`the start of agent ${agentId}`,
        () => this.settle(agentId, number, { status: 'failed', error: `could not start: ${this.startHint(err)}` }, null)));
      return;
    }
    const attempt: Attempt = {
      agentId, number, child, pid: child.pid, stdout: new Tail(), stderr: new Tail(), finished: false, closed: false, stopped: null, missingTicks: 0,
    };
    this.attempts.set(agentId, attempt);
    const started = { pid: child.pid, pidStart: processStartTime(child.pid), supervisorId: this.id, number, tokenHash: hashToken(token) };
    const now = Date.now();
    this.records.add(agentId, `the start of agent ${agentId}`, () => markAgentStarted(this.store, agentId, started, now));
    child.stdout?.on('data', (chunk: Buffer) => attempt.stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => attempt.stderr.push(chunk));
    child.once('error', (err: NodeJS.ErrnoException) => this.guard(`the end of agent ${agentId}`,
      () => this.end(attempt, { status: 'failed', error: `could not start: ${this.startHint(err)}` })));
    child.once('close', (code, signal) => this.guard(`the end of agent ${agentId}`, () => {
      attempt.closed = true;
      if (code === 0) this.end(attempt, { status: 'complete' });
      else this.end(attempt, { status: 'failed', error: attempt.stderr.text() ?? (signal !== null ? `killed by ${signal}` : `exited with code ${code}`) });
    }));
  }

  /** Starts attempt `number` after `delayMs`; until then the agent counts as waiting for a retry. */
  private launchLater(agentId: string, number: number, delayMs: number): void {
    const timer = setTimeout(() => this.guard(`attempt ${number} of agent ${agentId}`, () => {
      this.retries.delete(agentId);
      this.launch(agentId, number);
    }), delayMs);
    this.retries.set(agentId, timer);
  }

  /** Timers and process events have no caller to throw to: an exception there would end the server. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // A busy database is another process's long write, not a bug: the next tick or timer tries again.
      if (isBusy(err)) log.warn(`${what} waits: the database is locked by another process`);
      else log.error(`${what} failed`, err);
    }
  }

  private startHint(err: NodeJS.ErrnoException): string {
    return err.code === 'ENOENT' && this.runtime.runtime === 'opencode'
      ? 'opencode is not installed or not on PATH; install it, or set MESHFLEET_RUNTIME=command and MESHFLEET_AGENT_COMMAND'
      : err.message;
  }

  /** An attempt ended; record it once. */
  private end(attempt: Attempt, outcome: Outcome): void {
    if (attempt.finished) return; // 'error' and 'close' may both come, and the heartbeat may beat them
    attempt.finished = true;
    if (this.attempts.get(attempt.agentId) === attempt) this.attempts.delete(attempt.agentId);
    if (attempt.stopped !== null) {
      this.record(attempt.agentId, { status: attempt.stopped.status, output: attempt.stdout.text(), error: attempt.stopped.reason });
      return;
    }
    this.settle(attempt.agentId, attempt.number, outcome, attempt.stdout.text());
  }

  /** A failure is retried while attempts remain; anything else is final. */
  private settle(agentId: string, number: number, outcome: Outcome, output: string | null): void {
    if (outcome.status === 'complete') {
      this.record(agentId, { status: 'complete', output, error: null });
    } else if (number < this.o.maxAttempts) {
      const delayMs = Math.round(this.o.retryBaseMs * 2 ** (number - 1) * (0.5 + this.o.random()));
      const now = Date.now();
      this.records.add(agentId, `the retry of agent ${agentId}`,
        () => markAgentRetrying(this.store, agentId, { attempt: number, delayMs, error: outcome.error }, now));
      this.launchLater(agentId, number + 1, delayMs);
    } else {
      this.record(agentId, { status: 'failed', output, error: outcome.error });
    }
  }

  /** An agent's final status, written now or, if the database is busy, as soon as it lets us. */
  private record(agentId: string, outcome: { status: 'complete' | 'failed' | 'interrupted'; output: string | null; error: string | null }): void {
    const now = Date.now();
    this.records.add(agentId, `the end of agent ${agentId}`, () => markAgentFinished(this.store, agentId, outcome, now));
  }

  private recordAgentEvent(agentId: string, what: string, event: EventRecord, now: number): void {
    this.records.add(agentId, `${what} of agent ${agentId}`, () => this.store.write(() => recordEvent(this.store, event, now)));
  }

  /** Stops an attempt: SIGTERM to its process group, SIGKILL after the grace period. */
  private stop(attempt: Attempt, status: 'failed' | 'interrupted', reason: string): void {
    if (attempt.stopped !== null) return;
    attempt.stopped = { status, reason };
    signalGroup(attempt.pid, 'SIGTERM');
    setTimeout(() => {
      if (!attempt.closed) signalGroup(attempt.pid, 'SIGKILL');
    }, this.o.killGraceMs).unref();
  }

  /** Each step on its own: a busy database failing the heartbeat must not skip the timeouts. */
  private tick(): void {
    const now = Date.now();
    if (now - this.lastBeat >= 1_000) {
      this.guard('the supervisor heartbeat', () => beatSupervisor(this.store, this.id, now));
      this.lastBeat = now;
    }
    this.guard('the timeout check', () => this.enforceTimeouts(now));
    // A process that is gone though its exit never reached us: after a second, fail it.
    this.guard('the process check', () => {
      for (const attempt of [...this.attempts.values()]) {
        if (attempt.closed || isAlive(attempt.pid)) attempt.missingTicks = 0;
        else if (++attempt.missingTicks * this.o.tickMs >= 1_000) this.end(attempt, { status: 'failed', error: 'the agent process ended without reporting' });
      }
    });
    if (this.o.reclaims && now - this.lastReclaim >= this.o.reclaimEveryMs) this.guard('the reclaim of dead servers\' agents', () => this.reclaim());
  }

  /** The agent timeout and the fleet's, read from the database each tick so a new fleet timeout applies at once. */
  private enforceTimeouts(now: number): void {
    for (const agent of supervisedAgents(this.store, this.id)) {
      // The database is behind on this agent (its end, say, waits to be written): what it shows is stale.
      if (this.records.has(agent.id)) continue;
      const attempt = this.attempts.get(agent.id);
      if (attempt?.stopped != null) continue; // already being stopped: one agent_timed_out per attempt
      const fleetDeadline = agent.fleetTimeoutMs === null ? Infinity : agent.fleetCreatedAt + agent.fleetTimeoutMs;
      const agentDeadline = agent.status === 'running' && agent.startedAt !== null ? agent.startedAt + this.o.agentTimeoutMs : Infinity;
      if (now < Math.min(fleetDeadline, agentDeadline)) continue;
      const reason = fleetDeadline <= agentDeadline
        ? `stopped: the fleet's timeout of ${agent.fleetTimeoutMs} ms passed`
        : `stopped: the attempt ran past the agent timeout of ${this.o.agentTimeoutMs} ms`;
      this.recordAgentEvent(agent.id, 'the timeout', {
        kind: 'agent_timed_out', fleetId: agent.fleetId, agentId: agent.id, data: { reason, attempt: attempt?.number ?? agent.attempts },
      }, now);
      const retry = this.retries.get(agent.id);
      if (attempt !== undefined) {
        this.stop(attempt, 'failed', reason);
      } else {
        if (retry !== undefined) clearTimeout(retry);
        this.retries.delete(agent.id);
        this.record(agent.id, { status: 'failed', output: null, error: reason });
      }
    }
  }

  /**
   * Takes over the agents of supervisors whose process is gone. The claim is one IMMEDIATE
   * transaction, so when several live servers look at once, each agent goes to exactly one.
   */
  reclaim(now: number = Date.now()): void {
    this.lastReclaim = now;
    this.settleLegacyAgents();
    for (const dead of otherSupervisors(this.store, this.id).filter((s) => !isSupervisorAlive(s, now))) {
      const claimed = this.store.write(() => {
        const agents = supervisedAgents(this.store, dead.id);
        this.store.run(this.store.sql.updateTable('agents').set({ supervisor_id: this.id })
          .where('supervisor_id', '=', dead.id).where('status', 'in', ['pending', 'running']));
        this.store.run(this.store.sql.deleteFrom('supervisors').where('id', '=', dead.id));
        recordEvent(this.store, { kind: 'supervisor_reclaimed', data: { supervisor: dead.id, pid: dead.pid, agents: agents.length, by: this.id } }, now);
        return agents;
      });
      for (const agent of claimed) {
        // The orphan may still run; end it, but only if the pid is still that process.
        if (agent.pid !== null && isSameProcess(agent.pid, agent.pidStart)) signalGroup(agent.pid, 'SIGKILL');
        if (this.o.recovery === 'restart' && agent.attempts < this.o.maxAttempts) {
          this.recordAgentEvent(agent.id, 'the recovery', {
            kind: 'agent_recovered', fleetId: agent.fleetId, agentId: agent.id, data: { from: dead.id, attempt: agent.attempts + 1 },
          }, now);
          this.launch(agent.id, agent.attempts + 1);
        } else {
          this.record(agent.id, { status: 'interrupted', output: null, error: `its supervising server (pid ${dead.pid}) died` });
        }
      }
    }
  }

  /**
   * Agents imported from a legacy ledger as pending or running belonged to the old server's
   * processes, which no Meshfleet server can watch or resume: record them interrupted, so their
   * fleets settle instead of running forever. (Only legacy rows have no created_at; a new agent
   * waiting for its first launch is never touched.)
   */
  private settleLegacyAgents(): void {
    const stranded = this.store.all(this.store.sql.selectFrom('agents').select(['id', 'output'])
      .where('created_at', 'is', null).where('supervisor_id', 'is', null).where('status', 'in', ['pending', 'running']));
    for (const { id, output } of stranded) {
      if (this.records.has(id)) continue; // already on its way to the database
      this.record(id, { status: 'interrupted', output, error: 'imported from a legacy ledger while it ran; its process belonged to the old server and cannot be resumed' });
    }
  }

  /** Shutdown: every agent of this server is stopped and recorded interrupted; the supervisor row goes. */
  async stopAll(reason: string): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const [agentId, timer] of this.retries) {
      clearTimeout(timer);
      this.record(agentId, { status: 'interrupted', output: null, error: reason });
    }
    this.retries.clear();
    const live = [...this.attempts.values()];
    for (const attempt of live) {
      attempt.stopped = { status: 'interrupted', reason };
      this.end(attempt, { status: 'failed', error: reason }); // recorded now, as interrupted
    }
    for (const attempt of live) signalGroup(attempt.pid, 'SIGTERM');
    const deadline = Date.now() + Math.min(this.o.killGraceMs, 2_000);
    while (live.some((a) => !a.closed && isAlive(a.pid)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const attempt of live) if (!attempt.closed) signalGroup(attempt.pid, 'SIGKILL');
    const written = await this.records.drain(this.o.shutdownFlushMs);
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

/** Alive when its pid still names the process that registered; without a start time, by heartbeat. */
function isSupervisorAlive(s: SupervisorRecord, now: number): boolean {
  if (s.pidStart !== null) return isSameProcess(s.pid, s.pidStart);
  return isAlive(s.pid) && now - s.heartbeatAt < 60_000;
}

/** Keeps the last MAX_CAPTURE_BYTES of a stream. */
class Tail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private dropped = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.length >= MAX_CAPTURE_BYTES) {
      const first = this.chunks.shift()!;
      this.bytes -= first.length;
      this.dropped += first.length;
    }
  }

  text(): string | null {
    if (this.bytes === 0) return null;
    let all = Buffer.concat(this.chunks);
    let dropped = this.dropped;
    if (all.length > MAX_CAPTURE_BYTES) {
      dropped += all.length - MAX_CAPTURE_BYTES;
      all = all.subarray(all.length - MAX_CAPTURE_BYTES);
    }
    const text = all.toString('utf8');
    return dropped > 0 ? `[first ${dropped} bytes cut]\n${text}` : text;
  }
}
