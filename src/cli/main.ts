#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { ConfigError } from '../config.js';
import { isBusy, StoreError } from '../store/errors.js';
import { loadCommand, UsageError, type CommandEntry } from './command.js';
import { processContext, type Context } from './context.js';

// Each command's module is imported when that command runs; the summaries here are what --help
// prints (test/cli/main.test.ts checks each against its command's own).
export const COMMANDS: CommandEntry[] = [
  { name: 'serve', summary: 'Run the MCP server over stdio (what an MCP host launches)', load: async () => (await import('./serve.js')).serveCommand },
  { name: 'hub', summary: 'Run the one long-lived process per database that starts and watches agents (status, stop)', load: async () => (await import('./hub.js')).hubCommand },
  { name: 'demo', summary: 'Run a whole fleet with the built-in test agent (no LLM): handoffs, a broadcast, routing, a template', load: async () => (await import('./demo.js')).demoCommand },
  { name: 'migrate', summary: 'Import a legacy agent-mesh JSON ledger (v0, v1, v2) into the database', load: async () => (await import('./migrate.js')).migrateCommand },
  { name: 'inspect', summary: 'Show fleets, a fleet\'s agents and messages, an inbox, events, metrics, routing (--json for scripts)', load: async () => (await import('./inspect.js')).inspectCommand },
  { name: 'dashboard', summary: 'A live terminal view: fleets and their progress, the selected fleet\'s agents, its messages and events', load: async () => (await import('./dashboard.js')).dashboardCommand },
  { name: 'prune', summary: 'Delete settled fleets older than a given age, with their messages and history', load: async () => (await import('./prune.js')).pruneCommand },
  { name: 'verify', summary: 'Check the database\'s consistency and its tamper-evident history (exit 1 on errors)', load: async () => (await import('./verify.js')).verifyCommand },
  { name: 'config', summary: 'Print the MCP host configuration that starts this meshfleet (opencode, claude, codex, json)', load: async () => (await import('./config.js')).configCommand },
  { name: 'check-reservations', summary: 'Exit 1 when given (or staged) files are reserved exclusively by another agent: for a git pre-commit hook', load: async () => (await import('./check-reservations.js')).checkReservationsCommand },
  { name: 'token', summary: 'Create, list and revoke operator tokens for the hub\'s HTTP endpoint', load: async () => (await import('./token.js')).tokenCommand },
  { name: 'workspaces', summary: 'List agents\' git worktrees (branch, state, uncommitted changes); --prune removes those of settled fleets with nothing uncommitted', load: async () => (await import('./workspaces.js')).workspacesCommand },
  { name: 'doctor', summary: 'Check this install and a database: ok, warn or fail per line, with what to do', load: async () => (await import('./doctor.js')).doctorCommand },
];

function helpText(ctx: Context, commands: readonly CommandEntry[]): string {
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
export async function main(argv: string[], ctx: Context, commands: readonly CommandEntry[] = COMMANDS): Promise<number> {
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
    const entry = commands.find((c) => c.name === first);
    if (entry === undefined) {
      throw new UsageError(first.startsWith('-') ? `unknown option '${first}'.` : `unknown command '${first}'.`);
    }
    const command = await loadCommand(entry);
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
    if (await isUserFixable(err)) {
      const { message, hint } = err as { message: string; hint: string };
      ctx.stderr.write(`meshfleet: ${message}\n  ${hint}\n`);
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

/**
 * Errors the user can fix carry a hint. Their classes are imported here, on the way out, so that
 * a command that does not use the mesh or the ledger reader never loads them.
 */
async function isUserFixable(err: unknown): Promise<boolean> {
  if (err instanceof StoreError) return true;
  const [{ MeshError }, { LedgerError }] = await Promise.all([import('../mesh/errors.js'), import('../store/legacy/ledger.js')]);
  return err instanceof MeshError || err instanceof LedgerError;
}

const isParseArgsError = (err: unknown): boolean =>
  typeof (err as { code?: unknown })?.code === 'string' && (err as { code: string }).code.startsWith('ERR_PARSE_ARGS');

const invokedDirectly = process.argv[1] !== undefined
  && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  process.exitCode = await main(process.argv.slice(2), processContext());
}
