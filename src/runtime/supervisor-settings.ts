// How a supervisor behaves: retries, timeouts, liveness and recovery, with their defaults.
import type { RuntimeConfig } from './adapters.js';

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
  /** Between SIGTERM and SIGKILL whenever an agent is stopped (timeout, shutdown). */
  killGraceMs?: number;
  /** How often timeouts and vanished processes are checked. */
  tickMs?: number;
  /** How often this server writes its heartbeat (default 5 s). */
  heartbeatEveryMs?: number;
  /**
   * A server whose heartbeat is older than this counts as dead (stopped, or its event loop hung)
   * and its agents are taken over (default 30 s). Several heartbeats fit in it, so a few writes
   * that meet a busy database do not make a live server look dead.
   */
  staleAfterMs?: number;
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

export type Settings = Required<Omit<SupervisorOptions, 'runtime' | 'env'>>;

export function settingsFrom(options: Partial<SupervisorOptions>): Settings {
  return {
    retryBaseMs: options.retryBaseMs ?? 1_000,
    maxAttempts: options.maxAttempts ?? 3,
    agentTimeoutMs: options.agentTimeoutMs ?? 30 * 60_000,
    killGraceMs: options.killGraceMs ?? 3_000,
    tickMs: options.tickMs ?? 250,
    heartbeatEveryMs: options.heartbeatEveryMs ?? 5_000,
    staleAfterMs: options.staleAfterMs ?? 30_000,
    reclaimEveryMs: options.reclaimEveryMs ?? 2_000,
    recovery: options.recovery ?? 'restart',
    reclaims: options.reclaims ?? true,
    shutdownFlushMs: options.shutdownFlushMs ?? 5_000,
    random: options.random ?? Math.random,
  };
}
