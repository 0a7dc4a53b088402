// Writes an import plan in one IMMEDIATE transaction: all of it, or nothing.
import type BetterSqlite3 from 'better-sqlite3';
import { connectionOf } from '../connection.js';
import type { Store } from '../open.js';
import { prepareChainStatements } from '../ledger-chain.js';
import { describeValue } from '../quote.js';
import { LedgerError, type LedgerVersion } from './ledger.js';
import type { Anomaly } from './findings.js';
import type { ImportPlan } from './plan.js';

export const KINDS = [
  'fleets', 'agents', 'messages', 'deliveries', 'capabilities', 'capability_skills',
  'templates', 'template_agents', 'receipts', 'legacy_extras',
] as const;
export type Kind = (typeof KINDS)[number];

export interface KindCount {
  /** Rows written by this import. */
  imported: number;
  /** Rows the database already held, identical to the ledger's (an earlier import of it). */
  present: number;
}

export interface ImportReport {
  source: string;
  sha256: string;
  schemaVersion: LedgerVersion;
  database: string;
  dryRun: boolean;
  counts: Record<Kind, KindCount>;
  /** Of the deliveries imported: still in an inbox, and acknowledged. */
  pendingDeliveries: number;
  acknowledgedDeliveries: number;
  anomalies: Anomaly[];
  /** False when the database already held everything: nothing was written. */
  changed: boolean;
}

const COLUMNS: Record<Kind, { columns: string[]; key: string[] }> = {
  fleets: { columns: ['id', 'status', 'created_at', 'completed_at', 'timeout_ms'], key: ['id'] },
  agents: {
    columns: ['id', 'fleet_id', 'role', 'prompt', 'agent_file', 'status', 'pid', 'retry_count', 'output', 'error', 'created_at', 'started_at', 'completed_at', 'attempts'],
    key: ['id'],
  },
  messages: { columns: ['id', 'fleet_id', 'from_agent_id', 'to_agent_id', 'type', 'payload', 'correlation_id', 'sent_at'], key: ['id'] },
  deliveries: { columns: ['message_seq', 'agent_id', 'acked', 'read_at', 'acked_at'], key: ['message_seq', 'agent_id'] },
  capabilities: { columns: ['agent_id', 'fleet_id', 'role', 'model', 'context_window', 'registered_at'], key: ['agent_id'] },
  capability_skills: { columns: ['agent_id', 'position', 'skill'], key: ['agent_id', 'position'] },
  templates: { columns: ['name', 'version', 'description', 'created_at'], key: ['name', 'version'] },
  template_agents: {
    columns: ['template_name', 'template_version', 'position', 'role', 'prompt', 'agent'],
    key: ['template_name', 'template_version', 'position'],
  },
  receipts: { columns: ['message_id', 'agent_id', 'action', 'recorded_at', 'note'], key: ['message_id', 'agent_id', 'action'] },
  legacy_extras: { columns: ['kind', 'record_key', 'body'], key: ['kind', 'record_key'] },
};

const CONFLICT_HINT = 'The database already holds a different version of this record, most likely from an import of another copy of this ledger. Import into a fresh database with --db, or compare the two with `sqlite3`. Nothing was imported.';

/**
 * Imports the plan. Rows the database already holds unchanged are counted as present, so a
 * second run of the same ledger writes nothing at all; a row that exists with other content is
 * a LedgerError and the whole import rolls back.
 */
export function importLedger(
  store: Store,
  plan: ImportPlan,
  source: { path: string; sha256: string },
  options: { dryRun?: boolean; now?: number } = {},
): ImportReport {
  const counts = Object.fromEntries(KINDS.map((kind) => [kind, { imported: 0, present: 0 }])) as Record<Kind, KindCount>;
  const report: ImportReport = {
    source: source.path, sha256: source.sha256, schemaVersion: plan.version, database: store.path,
    dryRun: options.dryRun ?? false, counts, pendingDeliveries: 0, acknowledgedDeliveries: 0,
    anomalies: plan.anomalies, changed: false,
  };
  const now = options.now ?? Date.now();

  const db = connectionOf(store);
  store.write(() => {
    const put = Object.fromEntries(KINDS.map((kind) => [kind, rowWriter(db, kind, counts[kind])])) as Record<Kind, RowWriter>;
    const seqOf = db.prepare('SELECT seq FROM messages WHERE id = ?').pluck();
    // What the import writes is chained as it is written, in ledger order: the chain proves the
    // database kept it unchanged since the import, not what the old system did before.
    const chain = prepareChainStatements(db);

    for (const { label, row } of plan.fleets) put.fleets(label, row);
    for (const { label, row } of plan.agents) put.agents(label, row);
    for (const { label, row, deliveries } of plan.messages) {
      const added = put.messages(label, row);
      const messageSeq = seqOf.get(row.id) as number;
      if (added) chain.appendStored('messages', messageSeq);
      for (const delivery of deliveries) {
        if (put.deliveries(`${label} → ${delivery.agent_id}`, { message_seq: messageSeq, ...delivery })) {
          if (delivery.acked === 1) report.acknowledgedDeliveries += 1;
          else report.pendingDeliveries += 1;
        }
      }
    }
    for (const { label, row, skills } of plan.capabilities) {
      const added = put.capabilities(label, row);
      skills.forEach((skill, position) => put.capability_skills(`${label}.skills[${position}]`, { agent_id: row.agent_id, position, skill }));
      if (added) store.capabilityTerms.replace(row.agent_id, row.role, skills);
    }
    for (const { label, row, seats } of plan.templates) {
      put.templates(label, row);
      for (const seat of seats) {
        put.template_agents(`${label}.agents[${seat.position}]`, { template_name: row.name, template_version: row.version, ...seat });
      }
    }
    for (const { label, row } of plan.receipts) put.receipts(label, row);
    for (const extra of plan.extras) put.legacy_extras(`${extra.kind} ${extra.record_key}`, extra);

    report.changed = KINDS.some((kind) => counts[kind].imported > 0);
    if (report.changed) {
      const summary = JSON.stringify(reportJson(report));
      db.prepare('INSERT INTO legacy_imports (source_path, sha256, schema_version, imported_at, report) VALUES (?, ?, ?, ?, ?)')
        .run(source.path, source.sha256, plan.version, now, summary);
      const event = db.prepare("INSERT INTO events (kind, data, recorded_at) VALUES ('legacy_imported', ?, ?)")
        .run(JSON.stringify({ source: source.path, sha256: source.sha256, schema_version: plan.version }), now);
      chain.appendStored('events', Number(event.lastInsertRowid));
    }
  });
  return report;
}

/** The report as snake_case JSON, for --json and the legacy_imports table. */
export function reportJson(report: ImportReport): Record<string, unknown> {
  return {
    source: report.source,
    sha256: report.sha256,
    schema_version: report.schemaVersion,
    database: report.database,
    dry_run: report.dryRun,
    changed: report.changed,
    counts: report.counts,
    deliveries: { pending: report.pendingDeliveries, acknowledged: report.acknowledgedDeliveries },
    anomalies: report.anomalies,
  };
}

type RowWriter = (label: string, row: object) => boolean;

/** Inserts a row unless its key exists; an existing row must hold the same values. */
function rowWriter(db: BetterSqlite3.Database, kind: Kind, count: KindCount): RowWriter {
  const { columns, key } = COLUMNS[kind];
  const insert = db.prepare(
    `INSERT INTO ${kind} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`);
  const select = db.prepare(`SELECT ${columns.join(', ')} FROM ${kind} WHERE ${key.map((c) => `${c} = ?`).join(' AND ')}`).raw();
  return (label, row) => {
    const record = row as Record<string, unknown>;
    const values = columns.map((column) => record[column] ?? null);
    if (insert.run(...values).changes === 1) {
      count.imported += 1;
      return true;
    }
    const stored = select.get(...key.map((column) => record[column])) as unknown[];
    const differs = columns.findIndex((_, index) => stored[index] !== values[index]);
    if (differs !== -1) {
      throw new LedgerError(label,
        `the database already holds this ${kind} row with a different ${columns[differs]} (stored ${describeValue(stored[differs])}, ledger ${describeValue(values[differs])}).`,
        CONFLICT_HINT);
    }
    count.present += 1;
    return false;
  };
}
