// Threads: a message and its replies (correlation_id naming a message), in send order.
import type { Store } from '../store/open.js';
import { MeshError } from './errors.js';
import { quote } from './limits.js';
import { countWithinBudget, toInboxMessage, type InboxMessage } from './messages.js';

export interface ThreadPage {
  threadId: string;
  fleetId: string;
  messages: InboxMessage[];
  hasMore: boolean;
  /** Pass as `after` for the next page. */
  nextAfter: number | null;
}

/**
 * The thread that `id` names (a message id: the thread it is in; else a thread id), in send
 * order after the seq `after`. `fleetId` limits it to one fleet (an agent's own). A page stops at
 * `limit` messages or before its JSON would pass the reply budget.
 */
export function getThread(store: Store, id: string, fleetId: string | null, after: number, limit: number): ThreadPage {
  const found = store.threads.find(id, fleetId);
  if (found === undefined) {
    throw new MeshError('not_found', `No message or thread ${quote(id)}${fleetId === null ? '' : ` in fleet ${quote(fleetId)}`}.`,
      'Pass a message id (from get_inbox or search_messages) or a thread_id those return.');
  }
  const rows = store.threads.messages(found.threadId, found.fleetId, after, limit + 1);
  const fitting = Math.min(limit, countWithinBudget(rows));
  const hasMore = rows.length > fitting;
  rows.length = Math.min(rows.length, fitting);
  return {
    threadId: found.threadId, fleetId: found.fleetId, messages: rows.map(toInboxMessage), hasMore,
    nextAfter: hasMore ? rows[rows.length - 1]!.seq : null,
  };
}
