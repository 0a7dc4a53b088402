import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../store/package-root.js';
import { UsageError, type Command } from './command.js';
import { findOnPath } from './which.js';

const HOSTS = ['opencode', 'claude', 'codex', 'json'] as const;
type Host = (typeof HOSTS)[number];

/**
 * How a host starts this very install: the `meshfleet` on PATH by its absolute path when that is
 * this install (an `npm install -g` or `npm link`), since it survives upgrades; otherwise node and
 * the bundled CLI (package.json's bin: dist/bin/main.js, the fastest to start) by absolute path,
 * which work without meshfleet on PATH.
 */
function launch(db: string | undefined, searchPath: readonly string[]): { command: string; args: string[]; env: Record<string, string> } {
  const cli = join(packageRoot, 'dist', 'bin', 'main.js');
  const installed = findOnPath('meshfleet', searchPath);
  const sameInstall = installed !== undefined && realpathSync(installed) === realpathSync(cli);
  return {
    command: sameInstall ? installed : process.execPath,
    args: sameInstall ? ['serve'] : [cli, 'serve'],
    env: db === undefined ? {} : { MESHFLEET_DB: db },
  };
}

export const shellWord = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
const tomlString = (text: string): string => JSON.stringify(text); // TOML basic strings escape as JSON does

function snippet(host: Host, db: string | undefined, searchPath: readonly string[]): string {
  const { command, args, env } = launch(db, searchPath);
  switch (host) {
    case 'opencode':
      return `${JSON.stringify({
        $schema: 'https://opencode.ai/config.json',
        mcp: { meshfleet: { type: 'local', command: [command, ...args], enabled: true, ...(db === undefined ? {} : { environment: env }) } },
      }, null, 2)}\n`;
    case 'claude':
      return `claude mcp add meshfleet${Object.entries(env).map(([k, v]) => ` -e ${shellWord(`${k}=${v}`)}`).join('')} -- ${[command, ...args].map(shellWord).join(' ')}\n`;
    case 'codex':
      return [
        '[mcp_servers.meshfleet]',
        `command = ${tomlString(command)}`,
        `args = [${args.map(tomlString).join(', ')}]`,
        ...(db === undefined ? [] : [`env = { MESHFLEET_DB = ${tomlString(db)} }`]),
        '',
      ].join('\n');
    case 'json':
      return `${JSON.stringify({ mcpServers: { meshfleet: { command, args, ...(db === undefined ? {} : { env }) } } }, null, 2)}\n`;
  }
}

const WHERE: Record<Host, string> = {
  opencode: 'Put this in opencode.json (the project\'s, or ~/.config/opencode/opencode.json).',
  claude: 'Run this once; Claude Code keeps it.',
  codex: 'Put this in ~/.codex/config.toml.',
  json: 'The mcpServers block most MCP hosts read.',
};

export const configCommand: Command = {
  name: 'config',
  summary: 'Print the MCP host configuration that starts this meshfleet (opencode, claude, codex, json)',
  usage: `meshfleet config ${HOSTS.join('|')} [--db PATH] [--agent]\n\n`
    + 'Prints what to give an MCP host so it starts `meshfleet serve` from this install: the meshfleet\n'
    + 'on PATH by absolute path when it is this install, else node and the CLI by absolute path (which\n'
    + 'work without meshfleet on PATH). --db pins the database. --agent\n'
    + 'prints the configuration for the host an agent runs in: no database is pinned, because the\n'
    + 'agent process passes MESHFLEET_DB, MESHFLEET_AGENT_ID and MESHFLEET_AGENT_TOKEN to its server.\n'
    + 'The explanation goes to stderr, the snippet alone to stdout.',
  run(args, ctx) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { db: { type: 'string' }, agent: { type: 'boolean', default: false } } });
    const [host, extra] = positionals;
    if (host === undefined) throw new UsageError(`config needs a host: ${HOSTS.join(', ')}.`);
    if (!(HOSTS as readonly string[]).includes(host)) throw new UsageError(`config knows the hosts ${HOSTS.join(', ')}, not '${host}'.`);
    if (extra !== undefined) throw new UsageError(`config takes one host; got '${extra}' too.`);
    if (values.agent && values.db !== undefined) throw new UsageError('--agent and --db do not go together: an agent\'s server gets its database from the agent.');
    const db = values.agent ? undefined : ctx.config.database(values.db).path;
    ctx.stderr.write(`${WHERE[host as Host]}${values.agent ? ' (for the host an agent runs in)' : ''}\n`);
    ctx.stdout.write(snippet(host as Host, db, ctx.config.searchPath));
    return 0;
  },
};
