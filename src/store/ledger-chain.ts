// The hash chain over messages and events (migrations/NNNN-ledger-chain.sql): how a row's content
// is hashed, how each link covers the one before, and the statements that append links.
import { createHash } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';

export type ChainedTable = 'messages' | 'events';

/**
 * The columns a row's hash covers, in order. A column added to these tables later goes at the
 * end of its list; trailing NULLs are dropped before hashing (canonicalContent), so rows written
 * before the column existed keep the hash they were chained with.
 */
export const CHAINED_COLUMNS: Readonly<Record<ChainedTable, readonly string[]>> = {
  messages: ['seq', 'id', 'fleet_id', 'from_agent_id', 'to_agent_id', 'type', 'payload', 'correlation_id', 'sent_at', 'subject'],
  events: ['id', 'kind', 'fleet_id', 'agent_id', 'data', 'recorded_at'],
};

/** The previous hash of the first link. */
export const GENESIS_HASH = '0'.repeat(64);

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The row's values as JSON, trailing NULLs dropped: what row_hash covers. */
export function canonicalContent(table: ChainedTable, values: readonly unknown[]): string {
  let end = values.length;
  while (end > 0 && values[end - 1] === null) end -= 1;
  return JSON.stringify([table, ...values.slice(0, end)]);
}

export const rowHash = (table: ChainedTable, values: readonly unknown[]): string => sha256(canonicalContent(table, values));

export interface Link {
  position: number;
  refTable: ChainedTable;
  refId: number;
  fleetId: string | null;
  rowHash: string;
}

/** What chain_hash covers: the previous link's chain_hash and every field of this link but pruned_at. */
export const linkHash = (previous: string, link: Link): string =>
  sha256(JSON.stringify([previous, link.position, link.refTable, link.refId, link.fleetId, link.rowHash]));

export interface ChainStatements {
  /**
   * Appends the link of a row just written, from the values written (no read back). Call inside
   * the row's write transaction: the last link is read there, under the write lock.
   */
  append(table: ChainedTable, refId: number, fleetId: string | null, values: readonly unknown[]): void;
  /** Appends the link of a row as stored (a legacy import's rows, written by generic statements). */
  appendStored(table: ChainedTable, refId: number): void;
  /** prune deleted this row: its link stays (the chain needs it) and says so. */
  markPruned(table: ChainedTable, refId: number, at: number): void;
  /** Links every message (in seq order), then every event (in id order), that has none; returns how many. */
  backfill(): number;
}

const PAGE = 2_000;

export function prepareChainStatements(db: BetterSqlite3.Database): ChainStatements {
  // The chain's end: the primary key's last entry, one B-tree descent.
  const last = db.prepare('SELECT position, chain_hash FROM ledger_chain ORDER BY position DESC LIMIT 1').raw();
  const insert = db.prepare(
    'INSERT INTO ledger_chain (position, ref_table, ref_id, fleet_id, row_hash, chain_hash) VALUES (?, ?, ?, ?, ?, ?)');
  const stored = {
    messages: db.prepare(`SELECT ${CHAINED_COLUMNS.messages.join(', ')} FROM messages WHERE seq = ?`).raw(),
    events: db.prepare(`SELECT ${CHAINED_COLUMNS.events.join(', ')} FROM events WHERE id = ?`).raw(),
  };
  // ledger_chain_by_ref.
  const markPruned = db.prepare(
    'UPDATE ledger_chain SET pruned_at = ? WHERE ref_table = ? AND ref_id = ? AND pruned_at IS NULL');
  const unchained = {
    messages: db.prepare(
      `SELECT ${CHAINED_COLUMNS.messages.join(', ')} FROM messages AS m WHERE seq > ? AND NOT EXISTS (
         SELECT 1 FROM ledger_chain AS c WHERE c.ref_table = 'messages' AND c.ref_id = m.seq AND c.pruned_at IS NULL)
        ORDER BY seq LIMIT ${PAGE}`).raw(),
    events: db.prepare(
      `SELECT ${CHAINED_COLUMNS.events.join(', ')} FROM events AS e WHERE id > ? AND NOT EXISTS (
         SELECT 1 FROM ledger_chain AS c WHERE c.ref_table = 'events' AND c.ref_id = e.id AND c.pruned_at IS NULL)
        ORDER BY id LIMIT ${PAGE}`).raw(),
  };

  const append = (table: ChainedTable, refId: number, fleetId: string | null, values: readonly unknown[]): void => {
    const end = last.get() as [number, string] | undefined;
    const link: Link = { position: (end?.[0] ?? 0) + 1, refTable: table, refId, fleetId, rowHash: rowHash(table, values) };
    insert.run(link.position, table, refId, fleetId, link.rowHash, linkHash(end?.[1] ?? GENESIS_HASH, link));
  };
  const fleetIndex = (table: ChainedTable) => CHAINED_COLUMNS[table].indexOf('fleet_id');

  return {
    append,
    appendStored: (table, refId) => {
      const values = stored[table].get(refId) as unknown[] | undefined;
      if (values === undefined) throw new Error(`appendStored: no ${table} row ${refId}`);
      append(table, refId, values[fleetIndex(table)] as string | null, values);
    },
    markPruned: (table, refId, at) => {
      markPruned.run(at, table, refId);
    },
    backfill: () => {
      let linked = 0;
      for (const table of ['messages', 'events'] as const) {
        let after = Number.MIN_SAFE_INTEGER;
        for (;;) {
          const rows = unchained[table].all(after) as unknown[][];
          for (const values of rows) append(table, values[0] as number, values[fleetIndex(table)] as string | null, values);
          linked += rows.length;
          if (rows.length < PAGE) break;
          after = rows[rows.length - 1]![0] as number;
        }
      }
      return linked;
    },
  };
}
