import { parseArgs } from 'node:util';
import { log } from '../log.js';
import { createMcpServer, createToolDeps } from '../mcp/server.js';
import { LineStdioTransport } from '../mcp/stdio-transport.js';
import { RUNTIMES, type RuntimeName } from '../runtime/adapters.js';
import { openStore } from '../store/open.js';
import { UsageError, type Command } from './command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the MCP server over stdio (what an MCP host launches)',
  usage: 'meshfleet serve [--db PATH] [--runtime opencode|command] [--durability normal|full]\n\n'
    + 'Environment: MESHFLEET_DB, MESHFLEET_RUNTIME, MESHFLEET_AGENT_COMMAND (command runtime),\n'
    + 'MESHFLEET_RETRY_BASE_MS (first retry delay, default 1000), MESHFLEET_AGENT_TIMEOUT_MS (default 30 min),\n'
    + 'MESHFLEET_SSE_PORT and MESHFLEET_AUTH_TOKEN (subscribe_inbox streams), MESHFLEET_AGENT_ID (act as that agent).',
  async run(args, ctx) {
    const { values } = parseArgs({
      args,
      options: { db: { type: 'string' }, runtime: { type: 'string' }, durability: { type: 'string', default: 'normal' } },
    });
    const runtime = values.runtime ?? ctx.env.MESHFLEET_RUNTIME ?? 'opencode';
    if (!(RUNTIMES as readonly string[]).includes(runtime)) throw new UsageError(`unknown runtime '${runtime}'; use one of ${RUNTIMES.join(', ')}.`);
    if (values.durability !== 'normal' && values.durability !== 'full') throw new UsageError(`--durability is 'normal' or 'full', not '${values.durability}'.`);
    const portText = ctx.env.MESHFLEET_SSE_PORT;
    const port = portText ? Number(portText) : undefined;
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65_536)) throw new UsageError(`MESHFLEET_SSE_PORT must be a port number, not '${portText}'.`);

    const msFromEnv = (name: string): number | undefined => {
      const text = ctx.env[name];
      if (text === undefined || text === '') return undefined;
      const ms = Number(text);
      if (!Number.isInteger(ms) || ms < 0) throw new UsageError(`${name} must be a whole number of milliseconds, not '${text}'.`);
      return ms;
    };
    const supervision = { retryBaseMs: msFromEnv('MESHFLEET_RETRY_BASE_MS'), agentTimeoutMs: msFromEnv('MESHFLEET_AGENT_TIMEOUT_MS') };
    const { path: dbPath, isDefault } = ctx.dbLocation(values.db);
    const store = openStore(dbPath, { durability: values.durability, createParentDir: isDefault });
    const deps = createToolDeps(store, {
      version: ctx.version,
      runtime: { runtime: runtime as RuntimeName, agentCommand: ctx.env.MESHFLEET_AGENT_COMMAND, dbPath },
      push: { port, token: ctx.env.MESHFLEET_AUTH_TOKEN || undefined },
      env: ctx.env,
      projectDir: process.cwd(),
      homeDir: ctx.homeDir,
      supervision,
      agentId: ctx.env.MESHFLEET_AGENT_ID || undefined,
      agentToken: ctx.env.MESHFLEET_AGENT_TOKEN || undefined,
    });
    const server = createMcpServer(deps);
    const transport = new LineStdioTransport();
    // The stdio client is the server's whole reason to live: when it goes, so does everything else.
    const ended = new Promise<string>((resolve) => {
      process.stdin.once('end', () => resolve('stdin closed'));
      process.stdin.once('close', () => resolve('stdin closed'));
      transport.onclose = () => resolve('transport closed');
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    await server.connect(transport);
    const reason = await ended;
    log.info(`shutting down (${reason})`);
    await deps.close();
    await server.close().catch(() => undefined);
    store.close();
    return 0;
  },
};
