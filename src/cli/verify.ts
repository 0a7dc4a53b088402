import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MeshError } from '../mesh/errors.js';
import { headJson, parseHead, verifyLedger, verifyReportJson, type ChainHead, type VerifyReport } from '../mesh/verify.js';
import { openUnchanged } from '../store/open.js';
import { UsageError, type Command } from './command.js';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Check the database\'s consistency and its tamper-evident history (exit 1 on errors)',
  usage: 'meshfleet verify [--db PATH] [--json] [--export FILE] [--against FILE]\n\n'
    + 'Runs named consistency checks over fleets, agents, messages, deliveries, receipts and file\n'
    + 'reservations, and recomputes the hash chain over every message and event, naming the first\n'
    + 'row that was altered, deleted or inserted out of order. Reads only; never changes the database.\n'
    + '  --export FILE   write the chain\'s head (position and hash) to FILE, to keep elsewhere\n'
    + '  --against FILE  check that the chain still holds a head written by --export\n'
    + 'Exit 0 when no check at level error fails (warnings are legal but odd history), 1 otherwise.',
  run(args, ctx) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        db: { type: 'string' },
        json: { type: 'boolean', default: false },
        export: { type: 'string' },
        against: { type: 'string' },
      },
    });
    if (positionals.length > 0) throw new UsageError(`verify takes no arguments; got '${positionals[0]}'.`);
    if (values.export === '' || values.against === '') throw new UsageError('--export and --against need a file name.');
    const dbPath = ctx.config.database(values.db).path;
    if (!existsSync(dbPath)) {
      throw new MeshError('not_found', `No database at ${dbPath}; nothing to verify.`, 'Pass --db PATH, or set MESHFLEET_DB, to the database to verify.');
    }
    const against = values.against === undefined ? undefined : parseHead(readText(values.against), values.against);
    const began = Date.now();
    const store = openUnchanged(dbPath);
    let report: VerifyReport;
    try {
      report = verifyLedger(store, against === undefined ? {} : { against });
    } finally {
      store.close();
    }
    // openUnchanged checks a file of an older schema on a private upgraded copy: its chain was
    // made just now, by that copy's upgrade, and the file itself still has none.
    const upgradedCopy = report.chain.startedAt !== null && report.chain.startedAt >= began;
    let exported: string | undefined;
    if (values.export !== undefined) {
      if (upgradedCopy) {
        ctx.stderr.write(`meshfleet: ${dbPath} has no chain yet (its schema predates it), so no head was written.\n  Let this meshfleet upgrade it first (any server on it does, e.g. meshfleet serve), then export again.\n`);
      } else if (report.checks.some((c) => c.name.startsWith('chain_') && c.level === 'error' && c.found > 0)) {
        ctx.stderr.write(`meshfleet: the chain has errors, so its head was not written to ${values.export}.\n  Keep a head only of a chain that verifies.\n`);
      } else {
        writeHead(values.export, headJson(report));
        exported = values.export;
      }
    }
    ctx.stdout.write(values.json
      ? `${JSON.stringify({ ...verifyReportJson(report, against), upgraded_copy: upgradedCopy, ...(exported === undefined ? {} : { exported_to: exported }) }, null, 2)}\n`
      : formatReport(report, against, exported, upgradedCopy));
    return report.ok && (values.export === undefined || exported !== undefined) ? 0 : 1;
  },
};

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new MeshError('not_found', `Cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
      'Pass the file written by `meshfleet verify --export`.');
  }
}

function writeHead(path: string, head: Record<string, unknown>): void {
  try {
    writeFileSync(path, `${JSON.stringify(head, null, 2)}\n`);
  } catch (err) {
    throw new MeshError('invalid', `Cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
      'Pass --export a file in a folder you can write.');
  }
}

export function formatReport(report: VerifyReport, against?: ChainHead, exported?: string, upgradedCopy = false): string {
  const c = report.counts;
  const lines = [
    `Database ${report.database} (checked ${new Date(report.checkedAt).toISOString()})`,
    `${c.fleets} fleets, ${c.agents} agents, ${c.messages} messages, ${c.deliveries} deliveries (${c.deliveries_pending} pending), `
      + `${c.events} events, ${c.receipts} receipts; chain of ${c.chain_links} links (${c.chain_links_pruned} pruned)`,
    '',
  ];
  const width = Math.max(...report.checks.map((check) => check.name.length)) + 2;
  for (const check of report.checks) {
    const result = check.found === 0 ? 'ok' : `${check.level === 'error' ? 'FAILED' : 'warning'}: ${check.found}`;
    lines.push(`${check.name.padEnd(width)}${check.level.padEnd(9)}${result}`);
    if (check.found > 0) lines.push(`    ${check.about}`, ...check.examples.map((e) => `    - ${e}`));
  }
  const { head, firstProblem, backfilledRows, startedAt, legacyImports } = report.chain;
  lines.push('', `Chain head: link ${head.position}, ${head.chainHash}`);
  if (against !== undefined) lines.push(`Checked against the kept head at link ${against.position}.`);
  if (firstProblem !== null) {
    lines.push(`First problem: ${firstProblem.position === null ? '' : `link ${firstProblem.position}: `}${firstProblem.problem}`);
  }
  if (upgradedCopy) {
    lines.push('This file\'s schema predates the chain: it was checked on a private upgraded copy, chained just now, so the chain proves nothing yet. The file was not changed.');
  } else if (backfilledRows > 0 && startedAt !== null) {
    lines.push(`${backfilledRows} rows from before the chain were linked by the upgrade of ${new Date(startedAt).toISOString()}; the chain proves nothing about them before that.`);
  }
  if (legacyImports > 0) lines.push(`${legacyImports} legacy import(s): their rows were chained when imported, not when the old system wrote them.`);
  if (exported !== undefined) lines.push(`Head written to ${exported}: keep it somewhere this database's users cannot edit, and check later with --against.`);
  lines.push('', report.ok
    ? `OK: no errors, ${report.warnings} warning${report.warnings === 1 ? '' : 's'}.`
    : `${report.errors} check${report.errors === 1 ? '' : 's'} failed, ${report.warnings} warning${report.warnings === 1 ? '' : 's'}.`);
  return `${lines.join('\n')}\n`;
}
