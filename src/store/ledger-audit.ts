// What `meshfleet verify` reads. Reads only: it runs beside writers in one read transaction, so
// every check sees the same snapshot, and never takes the write lock.
import type BetterSqlite3 from 'better-sqlite3';
import type { ConsistencyCheck } from './consistency-checks.js';
import { CHAINED_COLUMNS, type ChainedTable } from './ledger-chain.js';

export const EXAMPLES_PER_CHECK = 5;

/** A link of the chain as stored, with its row's current values when the link is live and the row exists. */
export interface StoredLink {
  position: number;
  refTable: string;
  refId: number;
  fleetId: string | null;
  rowHash: string;
  chainHash: string;
  prunedAt: number | null;
  /** The row's values in CHAINED_COLUMNS order; undefined when the row is gone or the link pruned. */
  row: unknown[] | undefined;
}

export interface AuditCounts {
  fleets: number;
  agents: number;
  messages: number;
  deliveries: number;
  deliveries_pending: number;
  events: number;
  receipts: number;
  chain_links: number;
  chain_links_pruned: number;
}

export interface AuditStatements {
  /** Runs fn in one read transaction: one snapshot of the file for every read inside. */
  snapshot<T>(fn: () => T): T;
  /** Whether this database has the chain (schema 6 and later). */
  hasChain(): boolean;
  counts(): AuditCounts;
  /** How many problems a check finds, and the first few. */
  runCheck(check: ConsistencyCheck): { found: number; examples: string[] };
  /** Every link in position order, with its row. Do not run other statements from the visitor. */
  walkChain(visit: (link: StoredLink) => void): void;
  /** Rows of a table with no live link: how many, and the first few ids. */
  unchained(table: ChainedTable): { found: number; first: number[] };
  /** Pruned links whose fleet is still in the database. */
  prunedOfLiveFleets(): { found: number; examples: string[] };
  /** The link at a position (for a kept head). */
  linkAt(position: number): { chainHash: string } | undefined;
  meta(key: string): string | undefined;
  legacyImports(): { count: number; last: number | null };
}

export function prepareAuditStatements(db: BetterSqlite3.Database): AuditStatements {
  const one = (sql: string) => db.prepare(sql).pluck();
  const count = (table: string, where = '') => one(`SELECT count(*) FROM ${table} ${where}`).get() as number;
  const rowColumns = (alias: string, table: ChainedTable) => CHAINED_COLUMNS[table].map((c) => `${alias}.${c}`).join(', ');
  const unchainedSql = (table: ChainedTable, key: string) =>
    `FROM ${table} AS t WHERE NOT EXISTS (
       SELECT 1 FROM ledger_chain AS c WHERE c.ref_table = '${table}' AND c.ref_id = t.${key} AND c.pruned_at IS NULL)`;
  const keys: Record<ChainedTable, string> = { messages: 'seq', events: 'id' };
  const hasChain = () => db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'ledger_chain'").get() !== undefined;

  return {
    snapshot: <T>(fn: () => T): T => db.transaction(fn)() as T,
    hasChain,
    counts: () => {
      const chained = hasChain();
      return {
        fleets: count('fleets'),
        agents: count('agents'),
        messages: count('messages'),
        deliveries: count('deliveries'),
        deliveries_pending: count('deliveries', 'WHERE acked = 0'),
        events: count('events'),
        receipts: count('receipts'),
        chain_links: chained ? count('ledger_chain') : 0,
        chain_links_pruned: chained ? count('ledger_chain', 'WHERE pruned_at IS NOT NULL') : 0,
      };
    },
    runCheck: (check) => ({
      found: one(`SELECT count(*) FROM (${check.sql})`).get() as number,
      examples: one(`SELECT what FROM (${check.sql}) LIMIT ${EXAMPLES_PER_CHECK}`).all() as string[],
    }),
    walkChain: (visit) => {
      // A live link joins its row by primary key; a pruned link's row is gone (or its id reused).
      const links = db.prepare(
        `SELECT c.position, c.ref_table, c.ref_id, c.fleet_id, c.row_hash, c.chain_hash, c.pruned_at,
                m.seq IS NOT NULL, ${rowColumns('m', 'messages')}, e.id IS NOT NULL, ${rowColumns('e', 'events')}
           FROM ledger_chain AS c
           LEFT JOIN messages AS m ON c.ref_table = 'messages' AND c.pruned_at IS NULL AND m.seq = c.ref_id
           LEFT JOIN events AS e ON c.ref_table = 'events' AND c.pruned_at IS NULL AND e.id = c.ref_id
          ORDER BY c.position`).raw();
      const messageWidth = CHAINED_COLUMNS.messages.length;
      for (const r of links.iterate() as Iterable<unknown[]>) {
        const messageAt = 8;
        const eventAt = messageAt + messageWidth + 1;
        const row = r[7] === 1 ? r.slice(messageAt, messageAt + messageWidth)
          : r[eventAt - 1] === 1 ? r.slice(eventAt, eventAt + CHAINED_COLUMNS.events.length) : undefined;
        visit({
          position: r[0] as number, refTable: r[1] as string, refId: r[2] as number, fleetId: r[3] as string | null,
          rowHash: r[4] as string, chainHash: r[5] as string, prunedAt: r[6] as number | null, row,
        });
      }
    },
    unchained: (table) => ({
      found: one(`SELECT count(*) ${unchainedSql(table, keys[table])}`).get() as number,
      first: one(`SELECT t.${keys[table]} ${unchainedSql(table, keys[table])} ORDER BY t.${keys[table]} LIMIT ${EXAMPLES_PER_CHECK}`).all() as number[],
    }),
    prunedOfLiveFleets: () => {
      const sql = `FROM ledger_chain AS c JOIN fleets AS f ON f.id = c.fleet_id WHERE c.pruned_at IS NOT NULL`;
      return {
        found: one(`SELECT count(*) ${sql}`).get() as number,
        examples: one(`SELECT c.ref_table || ' ' || c.ref_id || ' (link ' || c.position || ') of fleet "' || c.fleet_id || '"' ${sql}
                        ORDER BY c.position LIMIT ${EXAMPLES_PER_CHECK}`).all() as string[],
      };
    },
    linkAt: (position) => {
      const hash = one('SELECT chain_hash FROM ledger_chain WHERE position = ?').get(position) as string | undefined;
      return hash === undefined ? undefined : { chainHash: hash };
    },
    meta: (key) => one('SELECT value FROM meshfleet_meta WHERE key = ?').get(key) as string | undefined,
    legacyImports: () => {
      const r = db.prepare('SELECT count(*) AS count, max(imported_at) AS last FROM legacy_imports').get() as { count: number; last: number | null };
      return r;
    },
  };
}
