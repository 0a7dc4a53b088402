#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { ConfigError } from '../config.js';
import { MeshError } from '../mesh/errors.js';
import { LedgerError } from '../store/legacy/ledger.js';
import { isBusy, StoreError } from '../store/errors.js';
import { UsageError, type Command } from './command.js';
import { processContext, type Context } from './context.js';
import { checkReservationsCommand } from './check-reservations.js';
import { configCommand } from './config.js';
import { dashboardCommand } from './dashboard.js';
import { demoCommand } from './demo.js';
import { inspectCommand } from './inspect.js';
import { migrateCommand } from './migrate.js';
import { pruneCommand } from './prune.js';
import { serveCommand } from './serve.js';

export const COMMANDS: Command[] = [serveCommand, demoCommand, migrateCommand, inspectCommand, dashboardCommand, pruneCommand, configCommand, checkReservationsCommand];

function helpText(ctx: Context, commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    `meshfleet ${ctx.version}: a coordination layer for fleets of AI coding agents, on one SQLite database`,
    '',
    'Usage: meshfleet <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Options:',
    '  --help      Show this help, or a command\'s with `meshfleet <command> --help`',
    '  --version   Print the version',
    '',
    'The database is --db PATH, else $MESHFLEET_DB, else ~/.meshfleet/mesh.db.',
    '',
  ].join('\n');
}

/**
 * Runs the CLI; returns the exit code. The one place errors become messages: 2 for bad flags or
 * settings, 1 for what the user can fix, 70 (EX_SOFTWARE) for anything else, which is our bug.
 */
export async function main(argv: string[], ctx: Context, commands: readonly Command[] = COMMANDS): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      ctx.stdout.write(helpText(ctx, commands));
      return 0;
    }
    if (first === '--version' || first === '-v') {
      ctx.stdout.write(`${ctx.version}\n`);
      return 0;
    }
    const command = commands.find((c) => c.name === first);
    if (command === undefined) {
      throw new UsageError(first.startsWith('-') ? `unknown option '${first}'.` : `unknown command '${first}'.`);
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      ctx.stdout.write(`Usage: ${command.usage}\n`);
      return 0;
    }
    return await command.run(rest, ctx);
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err)) {
      // node:util's parseArgs explains at length; its first sentence names the option.
      const [sentence] = (err as Error).message.split(/(?<=\.) /);
      ctx.stderr.write(`meshfleet: ${sentence!.charAt(0).toLowerCase()}${sentence!.slice(1)} Run 'meshfleet --help'.\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      // Its message starts with the variable's or flag's name, which keeps its case.
      ctx.stderr.write(`meshfleet: ${err.message}\n`);
      return 2;
    }
    if (err instanceof StoreError || err instanceof LedgerError || err instanceof MeshError) {
      ctx.stderr.write(`meshfleet: ${err.message}\n  ${err.hint}\n`);
      return 1;
    }
    if (isBusy(err)) {
      ctx.stderr.write('meshfleet: the database is locked by another process (it held the write lock past the busy timeout); nothing was changed.\n  Try again in a moment.\n');
      return 1;
    }
    // The whole error (stack, cause, fields such as `code`) on stderr: a bug report needs it, and stdout may be a pipe to a program.
    ctx.stderr.write(`meshfleet: unexpected failure; this is a bug in meshfleet. Please report it with what follows.\n${inspect(err)}\n`);
    return 70;
  }
}

const isParseArgsError = (err: unknown): boolean =>
  typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('ERR_PARSE_ARGS');

const invokedDirectly = process.argv[1] !== undefined
  && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  process.exitCode = await main(process.argv.slice(2), processContext());
}
