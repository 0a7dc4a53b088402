// Timers and process callbacks have no caller to throw to: a failure there is logged, never an
// uncaught exception that would end the server.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { log } from '../../src/log.js';
import { guarded, guardedAsync, Scheduler } from '../../src/runtime/scheduler.js';
import { eventually } from '../helpers/mesh.js';

const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
let scheduler: Scheduler | undefined;
afterEach(() => {
  scheduler?.stop();
  vi.restoreAllMocks();
});

function quietLog() {
  return { error: vi.spyOn(log, 'error').mockImplementation(() => undefined), warn: vi.spyOn(log, 'warn').mockImplementation(() => undefined) };
}

describe('guarded', () => {
  it('logs an error with what failed, and returns', () => {
    const logged = quietLog();
    const boom = new Error('boom');
    expect(() => guarded('the timeout check', () => { throw boom; })).not.toThrow();
    expect(logged.error).toHaveBeenCalledWith('the timeout check failed', boom);
  });

  it('logs a busy database as a wait, not a failure', () => {
    const logged = quietLog();
    guarded('the heartbeat', () => { throw busy(); });
    expect(logged.warn).toHaveBeenCalledWith('the heartbeat waits: the database is locked by another process');
    expect(logged.error).not.toHaveBeenCalled();
  });

  it('logs a rejected promise', async () => {
    const logged = quietLog();
    guardedAsync('stopping agent a', async () => { throw new Error('no'); });
    await eventually(() => expect(logged.error).toHaveBeenCalledWith('stopping agent a failed', expect.any(Error)));
  });
});

describe('Scheduler', () => {
  it('keeps running a repeating task that throws', async () => {
    const logged = quietLog();
    scheduler = new Scheduler();
    let calls = 0;
    scheduler.every('the reclaim', 5, () => {
      calls += 1;
      throw new Error(`failure ${calls}`);
    });
    await eventually(() => expect(calls).toBeGreaterThanOrEqual(3));
    expect(logged.error.mock.calls.length).toBeGreaterThanOrEqual(3);
  });

  it('runs a one-off task once, logs its failure, and can cancel one', async () => {
    const logged = quietLog();
    scheduler = new Scheduler();
    const ran: string[] = [];
    const cancel = scheduler.after('attempt 2 of agent b', 5, () => ran.push('cancelled'));
    cancel();
    scheduler.after('attempt 2 of agent a', 5, () => {
      ran.push('a');
      throw busy();
    });
    await eventually(() => expect(logged.warn).toHaveBeenCalledWith('attempt 2 of agent a waits: the database is locked by another process'));
    expect(ran).toEqual(['a']);
  });

  it('runs nothing after stop()', async () => {
    scheduler = new Scheduler();
    let calls = 0;
    scheduler.every('tick', 5, () => { calls += 1; });
    scheduler.after('later', 5, () => { calls += 100; });
    scheduler.stop();
    scheduler.every('tick after stop', 5, () => { calls += 1_000; });
    // Timers run in the order they are due: once one due later than theirs has run, theirs would have.
    const witness = new Scheduler();
    let witnessed = false;
    witness.after('witness', 25, () => { witnessed = true; });
    await eventually(() => expect(witnessed).toBe(true));
    expect(calls).toBe(0);
  });
});
