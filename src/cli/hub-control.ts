// `meshfleet hub status` and `meshfleet hub stop`: read and ask the hub through its lease row.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { countUnclaimedAgents, readHubLease, requestHubStop, type HubLease } from '../hub/lease.js';
import { MeshError } from '../mesh/errors.js';
import { supervisedAgents, type SupervisedAgent } from '../mesh/supervision.js';
import { whySupervisorIsDead } from '../runtime/policy.js';
import { isSameProcess } from '../runtime/processes.js';
import { openStore, type Store } from '../store/open.js';
import type { Context } from './context.js';

/** Agents listed by `hub status`; the rest are counted. */
const MAX_LISTED_AGENTS = 50;
/** How long `hub stop` waits for the hub to exit: its agents' SIGTERM grace (3 s) and its last writes fit well inside. */
const STOP_WAIT_MS = 30_000;
/** A hub's lease this old is a dead hub's (the hub's default stale bound). */
const STALE_AFTER_MS = 30_000;

function openExisting(ctx: Context, db: string | undefined): { store: Store; dbPath: string } {
  const dbPath = ctx.config.database(db).path;
  if (!existsSync(dbPath)) {
    throw new MeshError('not_found', `No database at ${dbPath}, so no hub for it.`, 'Pass --db PATH, or set MESHFLEET_DB, to the database the hub serves.');
  }
  return { store: openStore(dbPath), dbPath };
}

/** The lease, and why its holder is dead (null while it lives). */
function liveness(store: Store, now: number): { lease: HubLease; dead: string | null } | undefined {
  const lease = readHubLease(store);
  return lease === undefined ? undefined : { lease, dead: whySupervisorIsDead(lease, now, STALE_AFTER_MS) };
}

export function hubStatus(args: string[], ctx: Context): number {
  const { values } = parseArgs({ args, options: { db: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const { store, dbPath } = openExisting(ctx, values.db);
  try {
    const now = Date.now();
    const found = liveness(store, now);
    const waiting = countUnclaimedAgents(store);
    const agents = found === undefined || found.dead !== null ? [] : supervisedAgents(store, found.lease.hubId);
    if (values.json) {
      ctx.stdout.write(`${JSON.stringify(statusJson(dbPath, found, agents, waiting), null, 2)}\n`);
    } else {
      ctx.stdout.write(formatStatus(dbPath, found, agents, waiting, now));
    }
    return 0;
  } finally {
    store.close();
  }
}

function statusJson(dbPath: string, found: ReturnType<typeof liveness>, agents: SupervisedAgent[], waiting: number) {
  const live = found !== undefined && found.dead === null;
  return {
    database: dbPath,
    running: live,
    hub: found === undefined ? null : {
      pid: found.lease.pid, started_at: found.lease.startedAt, heartbeat_at: found.lease.heartbeatAt, listen: found.lease.listen,
      log_path: found.lease.logPath, stop_request: found.lease.stopRequest, dead: found.dead,
    },
    agents: agents.slice(0, 1_000).map((a) => ({ agent_id: a.id, fleet_id: a.fleetId, status: a.status, pid: a.pid, attempts: a.attempts })),
    agents_owned: agents.length,
    agents_waiting: waiting,
  };
}

function formatStatus(dbPath: string, found: ReturnType<typeof liveness>, agents: SupervisedAgent[], waiting: number, now: number): string {
  const waitLine = `  waiting  ${waiting} agent(s) recorded and not started yet\n`;
  if (found === undefined) return `No hub runs for ${dbPath}.\n${waitLine}A hub starts with the next spawn_fleet or attach_agent, or with \`meshfleet hub\`.\n`;
  const { lease, dead } = found;
  if (dead !== null) {
    return `No live hub for ${dbPath}: the last one (pid ${lease.pid}) is dead (${dead}).\n${waitLine}`
      + `The next \`meshfleet serve\` or \`meshfleet hub\` replaces it and recovers its agents. Its log: ${lease.logPath ?? 'none (it ran in a terminal)'}\n`;
  }
  const lines = [
    `Hub for ${dbPath}`,
    `  pid      ${lease.pid}, since ${new Date(lease.startedAt).toISOString()} (heartbeat ${Math.max(0, Math.round((now - lease.heartbeatAt) / 1_000))} s ago)`,
    `  listen   ${lease.listen ?? 'none (no HTTP endpoint)'}`,
    `  log      ${lease.logPath ?? 'none (it writes to the terminal it was started in)'}`,
    ...(lease.stopRequest === null ? [] : [`  stopping ${lease.stopRequest === 'drain' ? 'draining: exits once its agents finish' : 'stop requested'}`]),
    `  agents   ${agents.length} owned (running, or waiting for a retry)`,
    ...agents.slice(0, MAX_LISTED_AGENTS).map((a) => `    ${a.id}  fleet ${a.fleetId}  ${a.status}${a.pid === null ? '' : `  pid ${a.pid}`}  attempt ${a.attempts}`),
    ...(agents.length > MAX_LISTED_AGENTS ? [`    … and ${agents.length - MAX_LISTED_AGENTS} more (--json lists up to 1000)`] : []),
  ];
  return `${lines.join('\n')}\n${waitLine}`;
}

export async function hubStop(args: string[], ctx: Context): Promise<number> {
  const { values } = parseArgs({ args, options: { db: { type: 'string' }, drain: { type: 'boolean', default: false } } });
  const { store, dbPath } = openExisting(ctx, values.db);
  try {
    const found = liveness(store, Date.now());
    if (found === undefined || found.dead !== null) {
      ctx.stdout.write(`No hub runs for ${dbPath}; nothing to stop.\n`);
      return 0;
    }
    const owned = supervisedAgents(store, found.lease.hubId).length;
    requestHubStop(store, values.drain ? 'drain' : 'stop');
    const { pid } = found.lease;
    if (values.drain) {
      ctx.stdout.write(`The hub (pid ${pid}) starts no new agents and exits once its ${owned} agent(s) finish.\n`
        + 'Agents spawned meanwhile wait, pending, for the next hub.\n');
      return 0;
    }
    const deadline = Date.now() + STOP_WAIT_MS;
    while (Date.now() < deadline) {
      const lease = readHubLease(store);
      if (lease?.hubId !== found.lease.hubId || !isSameProcess(pid, found.lease.pidStart)) {
        ctx.stdout.write(`Stopped the hub (pid ${pid}); ${owned} agent(s) it ran were stopped and recorded interrupted.\n`);
        return 0;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new MeshError('refused', `The hub (pid ${pid}) was asked to stop but still runs after ${STOP_WAIT_MS / 1_000} s.`,
      `It may be hung: \`kill ${pid}\` ends it, and the next hub recovers its agents.`);
  } finally {
    store.close();
  }
}
