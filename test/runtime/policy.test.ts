// The supervisor's policy, without processes: retry delays, deadlines, and when another server
// counts as dead.
import { describe, expect, it } from 'vitest';
import { deadlineOf, passedDeadline, retryDelayMs, whySupervisorIsDead, type DeadlineInput } from '../../src/runtime/policy.js';

describe('retryDelayMs', () => {
  it('doubles with each failed attempt, from the base', () => {
    const middle = () => 0.5; // a jitter factor of exactly 1
    expect([1, 2, 3, 4].map((n) => retryDelayMs(1_000, n, middle))).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('spreads each delay over half to one and a half times its nominal value', () => {
    expect(retryDelayMs(1_000, 1, () => 0)).toBe(500);
    expect(retryDelayMs(1_000, 3, () => 0)).toBe(2_000);
    expect(retryDelayMs(1_000, 3, () => 0.999_999)).toBe(6_000);
    for (let i = 0; i < 200; i++) {
      const delay = retryDelayMs(200, 2, Math.random);
      expect(delay).toBeGreaterThanOrEqual(200);
      expect(delay).toBeLessThanOrEqual(600);
    }
  });

  it('is whole milliseconds', () => {
    expect(retryDelayMs(333, 1, () => 0.123)).toBe(207); // 207.459 rounded
  });
});

describe('deadlines', () => {
  const AGENT_TIMEOUT = 60_000;
  const running = (over: Partial<DeadlineInput> = {}): DeadlineInput =>
    ({ status: 'running', startedAt: 10_000, fleetCreatedAt: 1_000, fleetTimeoutMs: null, ...over });

  it('a running attempt without a fleet timeout has the agent timeout, counted from its start', () => {
    expect(deadlineOf(running(), AGENT_TIMEOUT)).toEqual({ at: 70_000, reason: 'stopped: the attempt ran past the agent timeout of 60000 ms' });
  });

  it('the fleet timeout counts from the fleet\'s creation, and applies when it comes first', () => {
    expect(deadlineOf(running({ fleetTimeoutMs: 5_000 }), AGENT_TIMEOUT)).toEqual({ at: 6_000, reason: "stopped: the fleet's timeout of 5000 ms passed" });
  });

  it('the agent timeout applies when it comes first', () => {
    expect(deadlineOf(running({ fleetTimeoutMs: 600_000 }), AGENT_TIMEOUT)?.at).toBe(70_000);
  });

  it('when both fall on the same instant, the fleet\'s reason is given', () => {
    expect(deadlineOf(running({ fleetTimeoutMs: 69_000 }), AGENT_TIMEOUT)?.reason).toBe("stopped: the fleet's timeout of 69000 ms passed");
  });

  it('an agent waiting for a retry has only the fleet\'s deadline', () => {
    expect(deadlineOf(running({ status: 'pending' }), AGENT_TIMEOUT)).toBeNull();
    expect(deadlineOf(running({ status: 'pending', fleetTimeoutMs: 100_000 }), AGENT_TIMEOUT)?.at).toBe(101_000);
  });

  it('a running agent whose start is not recorded yet has no agent deadline', () => {
    expect(deadlineOf(running({ startedAt: null }), AGENT_TIMEOUT)).toBeNull();
  });

  it('passes at its instant, not before', () => {
    const agent = running({ fleetTimeoutMs: 5_000 });
    expect(passedDeadline(agent, AGENT_TIMEOUT, 5_999)).toBeNull();
    expect(passedDeadline(agent, AGENT_TIMEOUT, 6_000)?.reason).toBe("stopped: the fleet's timeout of 5000 ms passed");
    expect(passedDeadline(running(), AGENT_TIMEOUT, 1e12)?.at).toBe(70_000);
  });
});

describe('whySupervisorIsDead', () => {
  const STALE_MS = 30_000;
  const now = 1_000_000;
  const alive = () => true;
  const gone = () => false;

  it('a live process with a recent heartbeat is alive', () => {
    expect(whySupervisorIsDead({ pid: 42, pidStart: '7', heartbeatAt: now - 5_000 }, now, STALE_MS, alive)).toBeNull();
    expect(whySupervisorIsDead({ pid: 42, pidStart: '7', heartbeatAt: now - STALE_MS }, now, STALE_MS, alive)).toBeNull();
  });

  it('a process that is gone is dead, however fresh its heartbeat', () => {
    expect(whySupervisorIsDead({ pid: 42, pidStart: '7', heartbeatAt: now }, now, STALE_MS, gone)).toBe('its process is gone');
  });

  it('a live process whose heartbeat is older than the bound is dead (stopped or hung)', () => {
    expect(whySupervisorIsDead({ pid: 42, pidStart: '7', heartbeatAt: now - STALE_MS - 1 }, now, STALE_MS, alive)).toBe('its heartbeat is 30 s old');
    expect(whySupervisorIsDead({ pid: 42, pidStart: null, heartbeatAt: now - 90_500 }, now, STALE_MS, alive)).toBe('its heartbeat is 90 s old');
  });

  it('asks about the pid and the start time recorded for it', () => {
    const asked: [number, string | null][] = [];
    whySupervisorIsDead({ pid: 42, pidStart: '7', heartbeatAt: now }, now, STALE_MS, (pid, start) => {
      asked.push([pid, start]);
      return true;
    });
    expect(asked).toEqual([[42, '7']]);
  });

  it('by default checks the real process: this one is alive, a reused pid is not', () => {
    expect(whySupervisorIsDead({ pid: process.pid, pidStart: null, heartbeatAt: now }, now, STALE_MS)).toBeNull();
    expect(whySupervisorIsDead({ pid: process.pid, pidStart: 'another start', heartbeatAt: now }, now, STALE_MS)).toBe('its process is gone');
  });
});
