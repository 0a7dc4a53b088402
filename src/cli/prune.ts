import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MeshError } from '../mesh/errors.js';
import {
  PRUNE_KINDS, parseDurationMs, pruneReportJson, pruneSettledFleets, vacuum, type PruneReport, type VacuumReport,
} from '../mesh/retention.js';
import { openStore, openUnchanged } from '../store/open.js';
import { UsageError, type Command } from './command.js';

export const pruneCommand: Command = {
  name: 'prune',
  summary: 'Delete settled fleets older than a given age, with their messages and history',
  usage: 'meshfleet prune --older-than DURATION [--dry-run] [--vacuum] [--json] [--db PATH]\n\n'
    + 'Deletes fleets that completed or failed more than DURATION ago (30d, 12h, 90m, 3600s) with their\n'
    + 'agents, messages, deliveries, receipts, events, capabilities, routing outcomes, send keys, file\n'
    + 'reservations, tasks and councils (with their votes), and events of no fleet older than that.\n'
    + 'Fleets with an agent still pending or running are kept. Works in short transactions, so\n'
    + 'running fleets keep writing meanwhile. --dry-run counts and deletes nothing. --vacuum then\n'
    + 'rewrites the file to give the space back (VACUUM: other processes cannot write until it ends;\n'
    + 'run it when the fleets are quiet).',
  run(args, ctx) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        'older-than': { type: 'string' },
        db: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        vacuum: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
    if (positionals.length > 0) throw new UsageError(`prune takes no arguments; got '${positionals[0]}'.`);
    const text = values['older-than'];
    if (text === undefined) throw new UsageError('prune needs --older-than DURATION, such as 30d.');
    const olderThanMs = parseDurationMs(text);
    if (olderThanMs === undefined) {
      throw new UsageError(/^\s*\d+\s*$/.test(text)
        ? `--older-than needs a unit: ${text.trim()}d, ${text.trim()}h, ${text.trim()}m or ${text.trim()}s.`
        : `--older-than takes a number and a unit (30d, 12h, 90m, 3600s), not '${text}'.`);
    }
    const dryRun = values['dry-run'];
    if (dryRun && values.vacuum) throw new UsageError('--vacuum cannot be combined with --dry-run.');
    const dbPath = ctx.config.database(values.db).path;
    if (!existsSync(dbPath)) {
      throw new MeshError('not_found', `No database at ${dbPath}; nothing to prune.`, 'Pass --db PATH, or set MESHFLEET_DB, to the database to prune.');
    }
    const store = dryRun ? openUnchanged(dbPath) : openStore(dbPath);
    try {
      const report = pruneSettledFleets(store, { olderThanMs, dryRun });
      const vacuumed = values.vacuum ? vacuum(store, 'full') : undefined;
      ctx.stdout.write(values.json
        ? `${JSON.stringify({ database: dbPath, ...pruneReportJson(report, vacuumed) }, null, 2)}\n`
        : formatReport(report, text.trim(), dbPath, vacuumed));
      return 0;
    } finally {
      store.close();
    }
  },
};

const LABELS: Record<(typeof PRUNE_KINDS)[number], string> = {
  fleets: 'fleets', agents: 'agents', messages: 'messages', deliveries: 'deliveries', receipts: 'receipts', events: 'events',
  capabilities: 'capabilities', outcomes: 'routing outcomes', sendKeys: 'send keys', reservations: 'file reservations',
  tasks: 'tasks', councils: 'councils', councilVotes: 'council votes',
};

export function formatReport(report: PruneReport, age: string, dbPath: string, vacuumed?: VacuumReport): string {
  const lines: string[] = [];
  if (report.dryRun) lines.push('Dry run: nothing was deleted.');
  lines.push(`Database ${dbPath}`, `Fleets settled before ${new Date(report.cutoffAt).toISOString()} (older than ${age}).`, '');
  lines.push(`${'kind'.padEnd(18)}${(report.dryRun ? 'would delete' : 'deleted').padStart(12)}`);
  for (const kind of PRUNE_KINDS) lines.push(`${LABELS[kind].padEnd(18)}${String(report.counts[kind]).padStart(12)}`);
  const notes: string[] = [];
  if (!report.dryRun) notes.push(`${report.transactions} transaction${report.transactions === 1 ? '' : 's'}.`);
  if (report.heldBackFleets > 0) {
    notes.push(`Kept ${report.heldBackFleets} settled fleet${report.heldBackFleets === 1 ? '' : 's'} with an agent still pending or running.`);
  }
  if (vacuumed !== undefined) {
    notes.push(`Vacuum: ${size(vacuumed.bytesFreed)} freed (${size(vacuumed.bytesBefore)} before, ${size(vacuumed.bytesAfter)} after).`);
  }
  if (notes.length > 0) lines.push('', ...notes);
  return `${lines.join('\n')}\n`;
}

const size = (bytes: number): string => (bytes < 1_048_576 ? `${Math.round(bytes / 1_024)} KiB` : `${(bytes / 1_048_576).toFixed(1)} MiB`);
