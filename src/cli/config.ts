import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../store/package-root.js';
import { UsageError, type Command } from './command.js';

const HOSTS = ['opencode', 'claude', 'codex', 'json'] as const;
type Host = (typeof HOSTS)[number];

/**
 * How a host starts this very install: node and the built CLI by absolute path, so the snippet
 * works whether or not `meshfleet` is on the host's PATH.
 */
function launch(db: string | undefined): { command: string; args: string[]; env: Record<string, string> } {
  return {
    command: process.execPath,
    args: [join(packageRoot, 'dist', 'src', 'cli', 'main.js'), 'serve'],
    env: db === undefined ? {} : { MESHFLEET_DB: db },
  };
}

export const shellWord = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
const tomlString = (text: string): string => JSON.stringify(text); // TOML basic strings escape as JSON does

function snippet(host: Host, db: string | undefined): string {
  const { command, args, env } = launch(db);
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
    + 'Prints what to give an MCP host so it starts `meshfleet serve` from this install (node and the\n'
    + 'CLI by absolute path, so it works without meshfleet on PATH). --db pins the database. --agent\n'
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
    ctx.stdout.write(snippet(host as Host, db));
    return 0;
  },
};
