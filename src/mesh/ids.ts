import { randomFillSync } from 'node:crypto';

let counter = 0;
// One getrandom() call per 1,024 ids instead of one per id: per-id calls were half of the
// cost of a 10,000-message batch.
const pool = Buffer.alloc(5 * 1_024);
let offset = pool.length;

/**
 * fleet-…, agent-…, msg-…: unique across processes without asking the database, short enough
 * for a model to copy, and in creation order (time, then a per-process counter), so agents of
 * a fleet list in the order they were spawned.
 */
export function newId(prefix: 'fleet' | 'agent' | 'msg' | 'task'): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const random = pool.readUIntBE(offset, 5).toString(36).padStart(8, '0').slice(-8);
  offset += 5;
  counter = (counter + 1) % 1_296;
  return `${prefix}-${Date.now().toString(36).padStart(9, '0')}${counter.toString(36).padStart(2, '0')}-${random}`;
}
