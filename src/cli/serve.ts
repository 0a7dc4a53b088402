import { parseArgs } from 'node:util';
import { HubStarter } from '../hub/detached.js';
import { log } from '../log.js';
import { createMcpServer, createToolDeps } from '../mcp/server.js';
import { LineStdioTransport } from '../mcp/stdio-transport.js';
import { openStore } from '../store/open.js';
import type { Command } from './command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the MCP server over stdio (what an MCP host launches)',
  usage: 'meshfleet serve [--db PATH] [--runtime opencode|command] [--durability normal|full] [--no-hub]\n\n'
    + 'Agents are started by the database\'s hub (`meshfleet hub`), which this server starts, detached,\n'
    + 'when none runs, so fleets outlive this server. --no-hub (or MESHFLEET_NO_HUB=1) makes agents\n'
    + 'this server\'s own children instead, stopped when it stops.\n\n'
    + 'Environment (read once at start; a bad value is an error before anything starts):\n'
    + '  MESHFLEET_DB                 the database, unless --db is given (default ~/.meshfleet/mesh.db)\n'
    + '  MESHFLEET_RUNTIME            opencode or command, unless --runtime is given (default opencode)\n'
    + '  MESHFLEET_AGENT_COMMAND      the command runtime\'s command line, run through the shell per agent\n'
    + '  MESHFLEET_RETRY_BASE_MS      first retry delay, 0 to 3600000 (default 1000)\n'
    + '  MESHFLEET_AGENT_TIMEOUT_MS   how long an agent may run, 1 to 2147483647 (default 30 min)\n'
    + '  MESHFLEET_SSE_PORT           port of subscribe_inbox streams, 1-65535 (default: a free one)\n'
    + '  MESHFLEET_AUTH_TOKEN         operator bearer token for those streams (printable ASCII, no spaces)\n'
    + '  MESHFLEET_NO_HUB             1: as --no-hub\n'
    + '  MESHFLEET_AGENT_ID, MESHFLEET_AGENT_TOKEN   act as that agent (set by the server that spawned it)',
  async run(args, ctx) {
    const { values } = parseArgs({
      args,
      options: { db: { type: 'string' }, runtime: { type: 'string' }, durability: { type: 'string' }, 'no-hub': { type: 'boolean' } },
    });
    // Everything is checked before the database is opened: a bad setting starts nothing.
    const config = ctx.config.serve(values);
    const store = openStore(config.db.path, { durability: config.durability, createParentDir: config.db.isDefault });
    // Without a hub, agents' own servers keep theirs too: the whole fleet stays tied to this session.
    const env = config.useHub ? config.inheritedEnv : { ...config.inheritedEnv, MESHFLEET_NO_HUB: '1' };
    const hub = config.useHub
      ? new HubStarter(store, { dbPath: config.db.path, runtime: config.runtime, durability: config.durability, env, cwd: config.projectDir })
      : undefined;
    const deps = createToolDeps(store, {
      version: ctx.version,
      runtime: { runtime: config.runtime, agentCommand: config.agentCommand, dbPath: config.db.path },
      push: { port: config.ssePort, token: config.authToken },
      env,
      projectDir: config.projectDir,
      homeDir: config.homeDir,
      supervision: { retryBaseMs: config.retryBaseMs, agentTimeoutMs: config.agentTimeoutMs },
      agentId: config.agentId,
      agentToken: config.agentToken,
      hub,
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
