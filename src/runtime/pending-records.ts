import { log } from '../log.js';
import { isBusy } from '../store/errors.js';

interface PendingRecord {
  agentId: string;
  /** For the log: "the end of agent-…". */
  what: string;
  write: () => void;
}

/**
 * What the supervisor owes the database (an agent's start, retry, end, an event about it), kept
 * until it is written. Another process may hold the write lock past the busy timeout; dropping
 * an agent's end then would lose its output and leave it running forever, so a record that meets
 * a busy database is retried with backoff until written. One queue for all agents keeps each
 * agent's records in order, and a busy database is busy for everyone: after one SQLITE_BUSY,
 * trying the records behind it would only wait out the busy timeout again.
 */
export class PendingRecords {
  private readonly queue: PendingRecord[] = [];
  private readonly perAgent = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private busyTries = 0;
  private stopped = false;

  constructor(private readonly retryBaseMs = 100, private readonly retryMaxMs = 2_000) {}

  /** Writes the record now, or, while earlier ones wait for the database, queues it behind them. */
  add(agentId: string, what: string, write: () => void): void {
    this.queue.push({ agentId, what, write });
    this.perAgent.set(agentId, (this.perAgent.get(agentId) ?? 0) + 1);
    if (this.timer === undefined) this.flush();
  }

  /** Whether something about this agent is not written yet: the database is behind on it. */
  has(agentId: string): boolean {
    return this.perAgent.has(agentId);
  }

  get size(): number {
    return this.queue.length;
  }

  /** Writes what it can, in order; true when nothing is left. On a busy database, tries again later. */
  flush(): boolean {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      try {
        next.write();
      } catch (err) {
        if (isBusy(err)) {
          if (++this.busyTries === 1) log.warn(`the database is locked by another process; ${this.queue.length} record(s) wait to be written, retrying`);
          this.retryLater();
          return false;
        }
        // Not a matter of waiting: it would fail the same way again, and hold up every record behind it.
        log.error(`could not record ${next.what}`, err);
      }
      this.queue.shift();
      const left = this.perAgent.get(next.agentId)! - 1;
      if (left === 0) this.perAgent.delete(next.agentId);
      else this.perAgent.set(next.agentId, left);
    }
    if (this.busyTries > 0) log.info(`pending records written after ${this.busyTries} busy tries`);
    this.busyTries = 0;
    return true;
  }

  /** Keeps trying for about `timeoutMs` (one try may take the busy timeout). True when all was written. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.flush()) {
      const leftMs = deadline - Date.now();
      if (leftMs <= 0) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(leftMs, this.retryBaseMs)));
    }
    return true;
  }

  /** No more tries by timer; what is left is listed in the log as lost. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const record of this.queue) log.error(`could not record ${record.what} before shutdown; it is lost`);
  }

  private retryLater(): void {
    if (this.stopped) return;
    const delayMs = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(this.busyTries - 1, 16));
    this.timer = setTimeout(() => {
      try {
        this.flush();
      } catch (err) {
        log.error('writing pending records failed', err);
      }
    }, delayMs);
    this.timer.unref();
  }
}
