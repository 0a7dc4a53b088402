import type { Store } from '../store/open.js';

export const CHANGE_POLL_MS = 20;

/**
 * Tells listeners that the database may hold something new, whichever process committed it.
 * Polls PRAGMA data_version (a read of shared memory, no disk access) only while someone
 * listens, so an idle server costs nothing. This connection's own commits do not move
 * data_version, so local writes call notify().
 */
export class ChangeFeed {
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private lastVersion = 0;

  constructor(private readonly store: Store, private readonly pollMs: number = CHANGE_POLL_MS) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.timer === undefined) {
      this.lastVersion = this.store.hot.dataVersion();
      this.timer = setInterval(() => this.poll(), this.pollMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Call after a local commit that listeners may care about. */
  notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private poll(): void {
    const version = this.store.hot.dataVersion();
    if (version === this.lastVersion) return;
    this.lastVersion = version;
    this.notify();
  }
}
