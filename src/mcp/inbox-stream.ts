// One client's server-sent event stream of an agent's inbox (see push.ts for the server).
import type { ServerResponse } from 'node:http';
import { log } from '../log.js';
import type { ChangeFeed } from '../mesh/changes.js';
import { quote } from '../mesh/limits.js';
import { pendingAfter, type InboxMessage } from '../mesh/messages.js';
import type { Store } from '../store/open.js';
import { messageJson } from './wire.js';

export const KEEP_ALIVE_MS = 15_000;
/** Messages read per query while a stream catches up; small, as a blocked stream drops the rest. */
const BATCH = 50;

/**
 * One client's stream. The messages wait in the database, so nothing is buffered here: write one
 * frame at a time, stop when the socket says it is full, and read on from the last seq sent when
 * it drains.
 */
export class InboxStream {
  private stall: NodeJS.Timeout | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly changes: ChangeFeed,
    private readonly res: ServerResponse,
    private readonly agentId: string,
    private lastSeq: number,
    private readonly stalledMs: number,
  ) {}

  start(): void {
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    this.res.write('retry: 1000\n\n');
    this.pump();
    this.unsubscribe = this.changes.subscribe(this.pump);
    this.keepAlive = setInterval(() => this.send(': keep-alive\n\n'), KEEP_ALIVE_MS);
    this.keepAlive.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.keepAlive);
    clearTimeout(this.stall);
    this.unsubscribe?.();
  }

  /** Stops and cuts the connection: the server is going away. */
  end(): void {
    this.stop();
    this.res.destroy();
  }

  isBlocked(): boolean {
    return this.stall !== undefined;
  }

  bufferedBytes(): number {
    return this.res.writableLength;
  }

  /** Sends what is pending after lastSeq. Called by the change feed, so it must never throw. */
  private readonly pump = (): void => {
    try {
      while (!this.stopped && this.stall === undefined) {
        const batch = pendingAfter(this.store, this.agentId, this.lastSeq, BATCH);
        if (batch.length === 0) return;
        for (const m of batch) {
          this.lastSeq = m.seq;
          if (!this.send(frame(m))) return;
        }
      }
    } catch (err) {
      log.error(`inbox stream of agent ${quote(this.agentId)} failed`, err);
      this.res.destroy();
    }
  };

  /** Writes unless blocked; false when the client must drain first. */
  private send(text: string): boolean {
    if (this.stopped || this.stall !== undefined) return false;
    if (this.res.write(text)) return true;
    this.stall = setTimeout(() => {
      log.warn(`dropped the inbox stream of agent ${quote(this.agentId)}: its client read nothing for ${this.stalledMs} ms`);
      this.res.destroy();
    }, this.stalledMs);
    this.stall.unref();
    this.res.once('drain', () => {
      clearTimeout(this.stall);
      this.stall = undefined;
      this.pump();
    });
    return false;
  }
}

function frame(m: InboxMessage): string {
  return `id: ${m.seq}\nevent: message\ndata: ${JSON.stringify(messageJson(m))}\n\n`;
}

