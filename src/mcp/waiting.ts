// Holding a tool call open until the database shows what the caller waits for: any process's
// commit wakes the check (ChangeFeed), and the wait ends at its timeout or when the call is
// cancelled. get_health counts the waits a server holds.
import type { ToolDeps } from './deps.js';

/** Resolves true once `check()` holds after a change, false at the timeout or on cancel. */
export function waitForChange(deps: ToolDeps, check: () => boolean, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    deps.waits.pending += 1;
    let finished = false;
    const done = (arrived: boolean) => {
      if (finished) return;
      finished = true;
      deps.waits.pending -= 1;
      unsubscribe();
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(arrived);
    };
    const onAbort = () => done(false);
    const unsubscribe = deps.changes.subscribe(() => {
      if (check()) done(true);
    });
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref(); // a pending wait must not keep a server alive after its client has gone
    signal.addEventListener('abort', onAbort);
  });
}
