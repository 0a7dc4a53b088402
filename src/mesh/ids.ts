import { randomBytes } from 'node:crypto';

let counter = 0;

/**
 * fleet-…, agent-…, msg-…: unique across processes without asking the database, short enough
 * for a model to copy, and in creation order (time, then a per-process counter), so agents of
 * a fleet list in the order they were spawned.
 */
export function newId(prefix: 'fleet' | 'agent' | 'msg'): string {
  counter = (counter + 1) % 1_296;
  const time = Date.now().toString(36).padStart(9, '0');
  const seq = counter.toString(36).padStart(2, '0');
  const random = randomBytes(5).readUIntBE(0, 5).toString(36).padStart(8, '0').slice(-8);
  return `${prefix}-${time}${seq}-${random}`;
}
