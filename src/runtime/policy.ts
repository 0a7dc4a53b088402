// The supervisor's decisions that need no process and no database: how long to wait before a
// retry, which deadline an agent has and when it passed, and whether another server still lives.
import type { AgentStatus } from '../store/schema.js';
import { isSameProcess } from './processes.js';

/**
 * How long to wait before retrying after failed attempt `failedAttempt` (1 for the first):
 * base · 2^(n−1), times a random factor in [0.5, 1.5) so that agents which failed together do
 * not all come back in the same instant.
 */
export function retryDelayMs(baseMs: number, failedAttempt: number, random: () => number = Math.random): number {
  return Math.round(baseMs * 2 ** (failedAttempt - 1) * (0.5 + random()));
}

/** What the deadlines are computed from: an agent's row and its fleet's. */
export interface DeadlineInput {
  status: AgentStatus;
  /** When the current attempt started (epoch ms); null before the first. */
  startedAt: number | null;
  fleetCreatedAt: number;
  /** The fleet's timeout, counted from its creation; null for none. */
  fleetTimeoutMs: number | null;
}

export interface Deadline {
  /** Epoch ms. */
  at: number;
  /** Recorded as the agent's error when the deadline stops it. */
  reason: string;
}

/**
 * The deadline that applies to an agent now, or null for none: the fleet's (created_at +
 * timeout_ms) always, the agent timeout (started_at + agentTimeoutMs) only while an attempt runs,
 * so time spent waiting for a retry counts against the fleet but not against the next attempt.
 * The earlier wins; at the same instant, the fleet's, whose reason the user set.
 */
export function deadlineOf(agent: DeadlineInput, agentTimeoutMs: number): Deadline | null {
  const fleetAt = agent.fleetTimeoutMs === null ? Infinity : agent.fleetCreatedAt + agent.fleetTimeoutMs;
  const attemptAt = agent.status === 'running' && agent.startedAt !== null ? agent.startedAt + agentTimeoutMs : Infinity;
  if (fleetAt === Infinity && attemptAt === Infinity) return null;
  return fleetAt <= attemptAt
    ? { at: fleetAt, reason: `stopped: the fleet's timeout of ${agent.fleetTimeoutMs} ms passed` }
    : { at: attemptAt, reason: `stopped: the attempt ran past the agent timeout of ${agentTimeoutMs} ms` };
}

/** The deadline that has passed at `now`, or null while there is time left. */
export function passedDeadline(agent: DeadlineInput, agentTimeoutMs: number, now: number): Deadline | null {
  const deadline = deadlineOf(agent, agentTimeoutMs);
  return deadline !== null && now >= deadline.at ? deadline : null;
}

/** A supervisors row, as far as liveness goes. */
export interface SupervisorLiveness {
  pid: number;
  pidStart: string | null;
  heartbeatAt: number;
}

/**
 * Why another server counts as dead, or null while it lives. Dead is either of: its process is
 * gone (the pid names no process, or one that started at another time: a reused pid), or its
 * heartbeat is older than `staleAfterMs` (the process exists but is stopped or hung, and its
 * agents are nobody's). A live server beats far more often than that bound.
 */
export function whySupervisorIsDead(
  s: SupervisorLiveness,
  now: number,
  staleAfterMs: number,
  sameProcess: (pid: number, start: string | null) => boolean = isSameProcess,
): string | null {
  if (!sameProcess(s.pid, s.pidStart)) return 'its process is gone';
  const ageMs = now - s.heartbeatAt;
  if (ageMs > staleAfterMs) return `its heartbeat is ${Math.floor(ageMs / 1_000)} s old`;
  return null;
}
