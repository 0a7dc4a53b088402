import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readLedgerFile } from '../store/legacy/file.js';
import { importLedger, KINDS, reportJson, type ImportReport } from '../store/legacy/import.js';
import { parseLedger } from '../store/legacy/ledger.js';
import { planImport } from '../store/legacy/plan.js';
import { openSnapshot, openStore } from '../store/open.js';
import { UsageError, type Command } from './command.js';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Import a legacy agent-mesh JSON ledger (v0, v1, v2) into the database',
  usage: 'meshfleet migrate [ledger.json] [--db PATH] [--dry-run] [--json]\n\n'
    + 'Without a file, imports the old default ledger (AGENT_MESH_DATA_FILE, else\n'
    + '~/.config/opencode/agent-mesh.json) if there is one. The ledger is validated first and\n'
    + 'imported in one transaction; running it again changes nothing. --dry-run prints the\n'
    + 'report and writes nothing. The JSON file is never modified.',
  run(args, ctx) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { db: { type: 'string' }, 'dry-run': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
    });
    if (positionals.length > 1) throw new UsageError(`migrate takes one ledger file; got ${positionals.length}.`);
    const explicit = positionals[0];
    const ledgerPath = explicit === undefined ? ctx.config.legacyLedgerPath : resolve(ctx.config.cwd, explicit);
    if (explicit === undefined && !existsSync(ledgerPath)) {
      ctx.stdout.write(`No legacy ledger at ${ledgerPath}; nothing to import. Pass a file, or set AGENT_MESH_DATA_FILE.\n`);
      return 0;
    }
    // Validate the whole ledger before the database is opened: broken input never touches it.
    const file = readLedgerFile(ledgerPath);
    const plan = planImport(parseLedger(file.text));
    const dryRun = values['dry-run'];
    const { path: dbPath, isDefault } = ctx.config.database(values.db);
    const store = dryRun ? openSnapshot(dbPath) : openStore(dbPath, { createParentDir: isDefault });
    try {
      const report = importLedger(store, plan, file, { dryRun });
      ctx.stdout.write(values.json ? `${JSON.stringify(reportJson(report), null, 2)}\n` : formatReport(report));
      return 0;
    } finally {
      store.close();
    }
  },
};

export function formatReport(report: ImportReport): string {
  const lines: string[] = [];
  const version = report.schemaVersion === 0 ? 'no schema_version (v0)' : `schema_version ${report.schemaVersion}`;
  if (report.dryRun) lines.push('Dry run: nothing was written.');
  lines.push(`Ledger   ${report.source} (${version})`, `Database ${report.database}`);
  if (!report.changed) lines.push('The database already holds everything in this ledger; nothing changed.');
  lines.push('', `${'kind'.padEnd(18)}${(report.dryRun ? 'would import' : 'imported').padStart(12)}${'already there'.padStart(15)}`);
  for (const kind of KINDS) {
    const { imported, present } = report.counts[kind];
    lines.push(`${kind.padEnd(18)}${String(imported).padStart(12)}${String(present).padStart(15)}`);
  }
  lines.push(`deliveries ${report.dryRun ? 'to import' : 'imported'}: ${report.pendingDeliveries} pending (see the inbox view), ${report.acknowledgedDeliveries} acknowledged`);
  lines.push('', report.anomalies.length === 0 ? 'No anomalies.' : `Anomalies (${report.anomalies.length}): odd but legal history, imported as described`);
  for (const { record, problem } of report.anomalies) lines.push(`  - ${record}: ${problem}`);
  return `${lines.join('\n')}\n`;
}
