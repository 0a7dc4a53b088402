// Pages of list answers: at most `limit` items, and never more bytes of JSON than the reply
// budget, so that a long list or a few large items cannot make an answer a client refuses.
import { MAX_REPLY_BYTES } from '../mesh/limits.js';

export interface Page<T> {
  items: T[];
  /** Set when more items follow: pass it back as `offset`. */
  nextOffset: number | null;
}

/** Room kept for what the answer holds beside the list (ids, counts, field names). */
const ENVELOPE_BYTES = 16_384;

/**
 * Takes items from `offset` on while they fit. The first item of a page always goes in (every
 * single item is bounded well under the budget by the input limits).
 */
export function pageOf<S, T>(all: readonly S[], toJson: (item: S) => T, offset = 0, limit = Infinity): Page<T> {
  const items: T[] = [];
  let bytes = ENVELOPE_BYTES;
  let index = offset;
  for (; index < all.length && items.length < limit; index++) {
    const json = toJson(all[index]!);
    bytes += Buffer.byteLength(JSON.stringify(json)) + 1;
    if (bytes > MAX_REPLY_BYTES && items.length > 0) break;
    items.push(json);
  }
  return { items, nextOffset: index < all.length ? index : null };
}

/** The paging fields of an answer. */
export const pageFields = (page: Page<unknown>) => ({ has_more: page.nextOffset !== null, next_offset: page.nextOffset });
