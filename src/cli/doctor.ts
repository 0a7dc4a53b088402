import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { checkDatabase, checkLegacyLedger, checkNode, checkRuntime, checkSqlite, type CheckResult } from './doctor-checks.js';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Check this install and a database: ok, warn or fail per line, with what to do',
  usage: 'meshfleet doctor [--db PATH] [--json]\n\n'
    + 'Checks Node, the SQLite module, the database (opens, integrity_check, journal mode, schema\n'
    + 'version, WAL size, agents whose server is dead), a legacy ledger not yet imported, and the\n'
    + 'agent runtime on PATH. It only reads: the database, its -wal and -shm are not changed, and a\n'
    + 'missing database is not created. Exit 0 when nothing failed (warnings allowed), 1 otherwise.\n'
    + '--json prints {"ok", "database", "checks": [{"check", "status", "detail", "fix"?}]}.',
  async run(args, ctx) {
    const { values } = parseArgs({ args, options: { db: { type: 'string' }, json: { type: 'boolean', default: false } } });
    const db = ctx.config.database(values.db).path;
    const sqlite = await checkSqlite();
    const database = checkDatabase(sqlite.Database, db, Date.now());
    let checks: CheckResult[];
    try {
      checks = [
        checkNode(process.version),
        sqlite.result,
        ...database.results,
        checkLegacyLedger(ctx.config.legacyLedgerPath, database.reader),
        checkRuntime(ctx.config, db),
      ];
    } finally {
      database.reader?.close();
    }
    const failed = checks.some((c) => c.status === 'fail');
    ctx.stdout.write(values.json ? `${JSON.stringify({ ok: !failed, database: db, checks }, null, 2)}\n` : formatChecks(checks));
    return failed ? 1 : 0;
  },
};

export function formatChecks(checks: readonly CheckResult[]): string {
  const width = Math.max(...checks.map((c) => c.check.length)) + 2;
  const lines = checks.flatMap((c) => [
    `${c.status.padEnd(6)}${c.check.padEnd(width)}${c.detail}`,
    ...(c.fix === undefined ? [] : [`${' '.repeat(6 + width)}→ ${c.fix}`]),
  ]);
  const count = (status: string): number => checks.filter((c) => c.status === status).length;
  const [warnings, failures] = [count('warn'), count('fail')];
  lines.push('', failures > 0 ? `${failures} failed, ${warnings} to look at.` : warnings > 0 ? `Nothing failed; ${warnings} to look at.` : 'All good.');
  return `${lines.join('\n')}\n`;
}
