import { log } from '../log.js';
import type { BearerCaller } from '../mcp/access.js';
import { BACKGROUND_BUSY_TIMEOUT_MS } from '../runtime/agent-records.js';
import { isBusy } from '../store/errors.js';
import type { Store } from '../store/open.js';

/** Callers remembered at most; beyond it the memory starts over (a write each, once). */
const MAX_REMEMBERED = 10_000;

/**
 * Every authenticated request is a heartbeat of its caller: agents.last_seen_at (what the hub
 * judges a remote agent's silence by) and operator_tokens.last_used_at. Written at most once per
 * `everyMs` per caller, so a busy agent costs one small write a second, not one per request; a
 * heartbeat that finds the database locked is skipped, the next request brings another.
 */
export class Heartbeats {
  private readonly written = new Map<string, number>();

  constructor(private readonly store: Store, private readonly everyMs: number) {}

  seen(who: BearerCaller, now: number = Date.now()): void {
    const key = who.caller.kind === 'operator' ? `operator:${who.operatorTokenId}` : who.caller.agentId;
    if (who.caller.kind === 'operator' && who.operatorTokenId === undefined) return;
    if (now - (this.written.get(key) ?? -Infinity) < this.everyMs) return;
    if (this.written.size >= MAX_REMEMBERED) this.written.clear();
    this.written.set(key, now);
    try {
      this.store.withBusyTimeout(BACKGROUND_BUSY_TIMEOUT_MS, () => this.store.write(() => {
        if (who.caller.kind !== 'operator') this.store.access.touchAgent(who.caller.agentId, now);
        else this.store.access.touchOperatorToken(who.operatorTokenId!, now);
      }));
    } catch (err) {
      this.written.delete(key);
      if (!isBusy(err)) log.warn('recording a heartbeat failed', err);
    }
  }
}
