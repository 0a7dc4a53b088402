import { parseArgs } from 'node:util';
import { Hub } from '../hub/hub.js';
import { log } from '../log.js';
import { openStore } from '../store/open.js';
import type { Command } from './command.js';
import type { Context } from './context.js';
import { hubStatus, hubStop } from './hub-control.js';

export const hubCommand: Command = {
  name: 'hub',
  summary: 'Run the one long-lived process per database that starts and watches agents (status, stop)',
  usage: 'meshfleet hub [--db PATH] [--listen HOST:PORT] [--runtime opencode|command] [--durability normal|full]\n'
    + '       meshfleet hub status [--db PATH] [--json]\n'
    + '       meshfleet hub stop [--db PATH] [--drain]\n\n'
    + 'The hub starts the agents every `meshfleet serve` on the database records, so fleets outlive the\n'
    + 'session that spawned them. `serve` starts one, detached, when none runs (log: <db>.hub.log).\n'
    + 'At most one hub runs per database; a second refuses and names the first.\n\n'
    + '  status   the live hub: pid, since, listen address, log, the agents it owns\n'
    + '  stop     stop it now: its agents are stopped and recorded interrupted\n'
    + '  --drain  with stop: start no new agents, exit once the running ones finish\n\n'
    + 'Environment: as `meshfleet serve --help`, and\n'
    + '  MESHFLEET_HUB_IDLE_MS   with no agents and no connections for this long, the hub exits (default 300000)',
  async run(args, ctx) {
    if (args[0] === 'status') return hubStatus(args.slice(1), ctx);
    if (args[0] === 'stop') return hubStop(args.slice(1), ctx);
    return runHub(args, ctx);
  },
};

async function runHub(args: string[], ctx: Context): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { db: { type: 'string' }, runtime: { type: 'string' }, durability: { type: 'string' }, listen: { type: 'string' }, log: { type: 'string' } },
  });
  const config = ctx.config.hub(values);
  const store = openStore(config.db.path, { durability: config.durability, createParentDir: config.db.isDefault });
  const hub = new Hub(store, config.db.path, {
    runtime: { runtime: config.runtime, agentCommand: config.agentCommand, dbPath: config.db.path },
    env: config.inheritedEnv,
    supervision: { retryBaseMs: config.retryBaseMs, agentTimeoutMs: config.agentTimeoutMs },
    idleMs: config.hubIdleMs,
    // Set by the server that started this hub, whose output it is; a hub in a terminal has none.
    logPath: values.log ?? null,
    // The seam for the HTTP endpoint (MCP Streamable HTTP at /mcp): this build has none yet.
    startEndpoint: undefined,
    listen: config.listen,
  });
  try {
    await hub.start();
  } catch (err) {
    store.close();
    throw err;
  }
  const onSignal = (signal: NodeJS.Signals) => hub.end(`received ${signal}`);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, onSignal);
  const end = await hub.finished;
  log.info(`hub stopping: ${end.why}`);
  await hub.stop(end);
  store.close();
  return 0;
}
