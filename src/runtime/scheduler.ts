import { log } from '../log.js';
import { isBusy } from '../store/errors.js';

/**
 * Runs `fn` for a timer or a process event, which have no caller to throw to: an exception there
 * would end the whole server. It is logged instead, and the next tick or event goes on.
 */
export function guarded(what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    logFailure(what, err);
  }
}

/** Like `guarded`, for work that continues after an await. */
export function guardedAsync(what: string, fn: () => Promise<void>): void {
  fn().catch((err: unknown) => logFailure(what, err));
}

function logFailure(what: string, err: unknown): void {
  // A busy database is another process's long write, not a bug: the next tick tries again.
  if (isBusy(err)) log.warn(`${what} waits: the database is locked by another process`);
  else log.error(`${what} failed`, err);
}

/**
 * The supervisor's timers, each guarded, all cleared by stop(). Ticks do not keep the process
 * alive; a one-off timer (a retry due) does, as the agent it belongs to would.
 */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  /** `around` wraps every run (the supervisor lowers the busy timeout for its background work). */
  constructor(private readonly around: (run: () => void) => void = (run) => run()) {}

  /** Runs `fn` every `everyMs` until stop(). */
  every(what: string, everyMs: number, fn: () => void): void {
    if (this.stopped) return;
    const timer = setInterval(() => guarded(what, () => this.around(fn)), everyMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** Runs `fn` once after `delayMs`; returns a cancel function. */
  after(what: string, delayMs: number, fn: () => void): () => void {
    if (this.stopped) return () => undefined;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      guarded(what, () => this.around(fn));
    }, delayMs);
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
