import { randomUUID } from 'node:crypto';

/** fleet-…, agent-…, msg-…: unique across processes without asking the database. */
export const newId = (prefix: 'fleet' | 'agent' | 'msg'): string => `${prefix}-${randomUUID()}`;
