// Retention: settled fleets older than a cutoff leave the database with everything of theirs.
//
// Many processes write to the same file while a prune runs, so it never holds the write lock for
// long: it works in bounded transactions (a few fleets, or a few thousand rows, each) and pauses
// between them. SQLite's lock is not a queue: a writer waiting in its busy handler polls every few
// milliseconds, and back-to-back transactions would let it miss every gap until its busy timeout
// ran out.
import type { Store } from '../store/open.js';
import type { RetentionCounts, RetentionStatements } from '../store/retention-sql.js';
import { MeshError } from './errors.js';

// Reports list the kinds in this order; a new kind goes last, so --json's keys only grow.
export const PRUNE_KINDS = [
  'fleets', 'agents', 'messages', 'deliveries', 'receipts', 'events', 'capabilities', 'outcomes', 'sendKeys', 'reservations',
  'tasks', 'councils', 'councilVotes',
] as const;
export type PruneKind = (typeof PRUNE_KINDS)[number];
/** Rows removed (or, in a dry run, that would be) per kind. */
export type PruneCounts = Record<PruneKind, number>;

export const DEFAULT_FLEETS_PER_TRANSACTION = 20;
/** Rows one transaction may delete (a fleet bigger than this is deleted over several). */
export const DEFAULT_ROWS_PER_TRANSACTION = 5_000;
/** Shortest pause between two transactions; otherwise as long as the last one held the lock. */
const MIN_PAUSE_MS = 5;

export interface PruneOptions {
  /** Fleets settled (complete or failed) more than this long before `now` go. */
  olderThanMs: number;
  /** Count what would go, write nothing. */
  dryRun?: boolean;
  now?: number;
  fleetsPerTransaction?: number;
  rowsPerTransaction?: number;
  /** Called after each commit, outside any transaction, with the totals so far. */
  afterCommit?: (progress: { transactions: number; counts: PruneCounts }) => void;
}

export interface PruneReport {
  olderThanMs: number;
  /** Epoch ms: fleets that completed before it, and fleetless events recorded before it, go. */
  cutoffAt: number;
  dryRun: boolean;
  counts: PruneCounts;
  /** Settled before the cutoff but kept: an agent of theirs is still pending or running. */
  heldBackFleets: number;
  /** Write transactions committed; 0 in a dry run. */
  transactions: number;
}

export type VacuumMode = 'full' | 'incremental';

export interface VacuumReport {
  mode: VacuumMode;
  /** page_count × page_size before and after. */
  bytesBefore: number;
  bytesAfter: number;
  bytesFreed: number;
}

const emptyCounts = (): PruneCounts => ({
  fleets: 0, agents: 0, messages: 0, deliveries: 0, receipts: 0, events: 0, capabilities: 0, outcomes: 0, sendKeys: 0, reservations: 0,
  tasks: 0, councils: 0, councilVotes: 0,
});

const fromRetention = (c: RetentionCounts): PruneCounts => ({
  fleets: c.fleets, agents: c.agents, messages: c.messages, deliveries: c.deliveries, receipts: c.receipts,
  events: c.events, capabilities: c.capabilities, outcomes: c.outcomes, sendKeys: c.send_keys, reservations: c.reservations,
  tasks: c.tasks, councils: c.councils, councilVotes: c.council_votes,
});

/** One transaction's allowance of rows; the first row is always allowed, so every transaction progresses. */
class Budget {
  used = 0;
  constructor(readonly rows: number) {}
  get left(): number { return this.rows - this.used; }
  allows(rows: number): boolean { return this.used === 0 || this.used + rows <= this.rows; }
  take(rows: number): void { this.used += rows; }
}

/**
 * Removes fleets settled before `now - olderThanMs` with their agents, messages (deliveries
 * cascade), receipts, events, capabilities, routing outcomes, send keys, reservations, tasks and
 * councils (their votes cascade), and fleetless events recorded before the cutoff. Fleets still
 * running or pending, or with an agent pending or running, are kept; that is checked again inside every transaction, since attach_agent can
 * re-open a settled fleet in between.
 */
export function pruneSettledFleets(store: Store, options: PruneOptions): PruneReport {
  const { olderThanMs } = options;
  if (!Number.isSafeInteger(olderThanMs) || olderThanMs < 0) {
    throw new MeshError('invalid', `older_than_ms must be a whole number of milliseconds, 0 or more; got ${olderThanMs}.`,
      'Pass e.g. 2592000000 for 30 days.');
  }
  const fleetsPerTransaction = positive(options.fleetsPerTransaction ?? DEFAULT_FLEETS_PER_TRANSACTION, 'fleets_per_transaction');
  const rowsPerTransaction = positive(options.rowsPerTransaction ?? DEFAULT_ROWS_PER_TRANSACTION, 'rows_per_transaction');
  const cutoffAt = (options.now ?? Date.now()) - olderThanMs;
  const sql = store.retention;
  const report = (counts: PruneCounts, transactions: number): PruneReport => ({
    olderThanMs, cutoffAt, dryRun: options.dryRun === true, counts, heldBackFleets: sql.heldBackFleets(cutoffAt), transactions,
  });
  if (options.dryRun === true) return report(fromRetention(sql.countPrunable(cutoffAt)), 0);
  // Inside a caller's transaction every step would be one savepoint, holding the lock throughout.
  if (store.inTransaction) throw new Error('pruneSettledFleets() opens its own transactions; call it outside one');

  const counts = emptyCounts();
  let transactions = 0;
  for (const step of [pruneSomeFleets, pruneSomeFleetlessEvents]) {
    for (;;) {
      const started = performance.now();
      const done = emptyCounts();
      const rows = store.write(() => step(sql, done, cutoffAt, new Budget(rowsPerTransaction), fleetsPerTransaction));
      if (rows === 0) break; // nothing was deleted, so nothing was committed either
      const heldMs = performance.now() - started;
      transactions += 1;
      for (const kind of PRUNE_KINDS) counts[kind] += done[kind];
      options.afterCommit?.({ transactions, counts: { ...counts } });
      pause(Math.max(MIN_PAUSE_MS, heldMs));
    }
  }
  return report(counts, transactions);
}

/** Deletes within one transaction's budget; returns the rows deleted (0: nothing left). */
function pruneSomeFleets(sql: RetentionStatements, counts: PruneCounts, cutoffAt: number, budget: Budget, fleets: number): number {
  for (const fleetId of sql.prunableFleets(cutoffAt, fleets)) {
    if (!pruneFleet(sql, counts, fleetId, budget) || budget.left <= 0) break;
  }
  return budget.used;
}

/**
 * Deletes what the budget allows of one fleet, its own row last; returns whether it is gone. A
 * fleet deleted over several transactions is checked again in each, so one re-opened midway
 * keeps its agents and whatever is left of its history.
 */
function pruneFleet(sql: RetentionStatements, counts: PruneCounts, fleetId: string, budget: Budget): boolean {
  for (;;) {
    const messages = sql.messagesOf(fleetId, Math.max(1, budget.left));
    for (const message of messages) {
      const rows = 1 + message.deliveries + message.receipts;
      if (!budget.allows(rows)) return false;
      counts.receipts += sql.deleteMessage(message);
      counts.messages += 1;
      counts.deliveries += message.deliveries;
      budget.take(rows);
    }
    if (messages.length === 0) break;
  }
  const chunked: [PruneKind, (limit: number) => number][] = [
    ['events', (limit) => sql.deleteEventsOf(fleetId, limit)],
    ['outcomes', (limit) => sql.deleteOutcomesOf(fleetId, limit)],
    ['sendKeys', (limit) => sql.deleteSendKeysOf(fleetId, limit)],
    ['reservations', (limit) => sql.deleteReservationsOf(fleetId, limit)],
  ];
  for (const [kind, remove] of chunked) {
    for (;;) {
      if (budget.left <= 0) return false;
      const limit = budget.left;
      const removed = remove(limit);
      counts[kind] += removed;
      budget.take(removed);
      if (removed < limit) break;
    }
  }
  // Agents and capabilities are few (a fleet holds at most 64 agents): they go with the fleet row
  // in one step, so a fleet is never left without agents while it still exists. Tasks and
  // councils go in that step too: they are the fleet's live state, not history to trim.
  const gone = sql.deleteFleet(fleetId);
  counts.fleets += 1;
  counts.agents += gone.agents;
  counts.capabilities += gone.capabilities;
  counts.tasks += gone.tasks;
  counts.councils += gone.councils;
  counts.councilVotes += gone.councilVotes;
  budget.take(1 + gone.agents + gone.capabilities + gone.tasks + gone.councils + gone.councilVotes);
  return true;
}

function pruneSomeFleetlessEvents(sql: RetentionStatements, counts: PruneCounts, cutoffAt: number, budget: Budget): number {
  const removed = sql.deleteFleetlessEvents(cutoffAt, budget.rows);
  counts.events += removed;
  return removed;
}

/**
 * Gives freed pages back to the file system. `full` runs VACUUM: it rewrites the whole file while
 * holding the write lock, so other processes' writers wait (and fail after their busy timeout on a
 * large file); run it when the fleets are quiet. `incremental` frees the freelist quickly, but
 * only on a database created with auto_vacuum = INCREMENTAL; Meshfleet's are not (auto_vacuum is
 * fixed when a file is created, and changing it needs a full VACUUM), so it is refused there.
 */
export function vacuum(store: Store, mode: VacuumMode): VacuumReport {
  if (store.inTransaction) throw new Error('vacuum() cannot run inside a transaction');
  const autoVacuum = store.vacuum.autoVacuum();
  if (mode === 'incremental' && autoVacuum !== 'incremental') {
    throw new MeshError('refused', `This database has auto_vacuum ${autoVacuum.toUpperCase()}, so an incremental vacuum frees nothing.`,
      'Run a full vacuum instead (meshfleet prune --vacuum), when the fleets are quiet.');
  }
  const bytesBefore = store.vacuum.bytes();
  if (mode === 'full') store.vacuum.full();
  else store.vacuum.incremental();
  const bytesAfter = store.vacuum.bytes();
  return { mode, bytesBefore, bytesAfter, bytesFreed: Math.max(0, bytesBefore - bytesAfter) };
}

/** The report as the CLI's --json and the prune tool give it: snake_case. */
export function pruneReportJson(report: PruneReport, vacuumed?: VacuumReport): Record<string, unknown> {
  const counts = Object.fromEntries(PRUNE_KINDS.map((kind) => [snakeCase(kind), report.counts[kind]]));
  return {
    dry_run: report.dryRun,
    older_than_ms: report.olderThanMs,
    cutoff_at: report.cutoffAt,
    counts,
    held_back_fleets: report.heldBackFleets,
    transactions: report.transactions,
    ...(vacuumed === undefined ? {} : {
      vacuum: { mode: vacuumed.mode, bytes_before: vacuumed.bytesBefore, bytes_after: vacuumed.bytesAfter, bytes_freed: vacuumed.bytesFreed },
    }),
  };
}

const snakeCase = (kind: PruneKind): string => kind.replace(/[A-Z]/g, (upper) => `_${upper.toLowerCase()}`);

/** Durations as people type them: 30d, 12h, 90m, 3600s. Undefined for anything else. */
export function parseDurationMs(text: string): number | undefined {
  const match = text.trim().match(/^(\d+)([dhms])$/);
  if (match === null) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new MeshError('invalid', `${name} must be a whole number, 1 or more; got ${value}.`, 'Leave it out for the default.');
  }
  return value;
}

// Synchronous on purpose: domain functions are (one connection, no awaits around transactions).
const pause = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};
