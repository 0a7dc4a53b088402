// How a server makes sure its database has a hub: start one, detached, when none lives.
import { spawn } from 'node:child_process';
import { closeSync, openSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../log.js';
import { otherSupervisors } from '../mesh/supervision.js';
import { whySupervisorIsDead } from '../runtime/policy.js';
import { isAlive } from '../runtime/processes.js';
import { guarded } from '../runtime/scheduler.js';
import type { Store } from '../store/open.js';
import { packageRoot } from '../store/package-root.js';
import { countUnclaimedAgents, readHubLease } from './lease.js';

/** A hub's log past this size is moved to `<log>.1` (replacing the one before) when the next hub starts. */
export const MAX_HUB_LOG_BYTES = 1_048_576;
/** How long a hub this server started may take to hold its lease before this server starts another. */
const HUB_START_GRACE_MS = 15_000;
/** How often a server checks whether a draining hub has gone, so that agents spawned meanwhile get a new one. */
const DRAIN_RECHECK_MS = 1_000;

// By the package's folder, not this module's: the installed CLI is a bundle in dist/bin/.
const CLI = join(packageRoot, 'dist', 'bin', 'main.js');

/** The hub's log: next to the database, so `meshfleet hub status` and a person find it. */
export const hubLogPath = (dbPath: string): string => `${dbPath}.hub.log`;

/** What a detached hub is started with: the starting server's database, runtime and environment. */
export interface HubLaunch {
  dbPath: string;
  runtime: string;
  durability: string;
  /** The environment the hub and its agents inherit; identities of agents are removed here. */
  env: Readonly<NodeJS.ProcessEnv>;
  cwd: string;
  /** A lease older than this is a dead hub's. */
  staleAfterMs?: number;
}

/**
 * Starts `meshfleet hub` in its own session and process group (so the host closing this server,
 * or its terminal, does not reach it), its output appended to the log. Returns its pid.
 */
export function startDetachedHub(launch: HubLaunch): number | undefined {
  const logPath = hubLogPath(launch.dbPath);
  rotateLog(logPath);
  const out = openSync(logPath, 'a', 0o600);
  try {
    // A server acting for an agent may start the hub: the hub acts for nobody, and holds no agent's secret.
    const {
      MESHFLEET_AGENT_ID: _id, MESHFLEET_AGENT_TOKEN: _token, MESHFLEET_FLEET_ID: _fleet, MESHFLEET_ROLE: _role, MESHFLEET_PROMPT: _prompt,
      ...inherited
    } = launch.env;
    const env: NodeJS.ProcessEnv = { ...inherited };
    if (_id !== undefined) delete env.MESHFLEET_AUTH_TOKEN;
    const child = spawn(process.execPath, [CLI, 'hub', '--db', launch.dbPath, '--runtime', launch.runtime, '--durability', launch.durability, '--log', logPath], {
      detached: true, stdio: ['ignore', out, out], env, cwd: launch.cwd,
    });
    child.once('error', (err) => log.error(`could not start a hub for ${launch.dbPath}`, err));
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}

function rotateLog(logPath: string): void {
  try {
    if (statSync(logPath).size > MAX_HUB_LOG_BYTES) renameSync(logPath, `${logPath}.1`);
  } catch {
    // No log yet, or another server rotated it a moment ago.
  }
}

/**
 * A server's link to its database's hub: after recording pending agents, `ensure()` starts a
 * hub when none lives. Reads one row; starts at most one hub at a time from this server.
 */
export class HubStarter {
  private startedPid: number | undefined;
  private startedAt = 0;
  private recheck: NodeJS.Timeout | undefined;

  constructor(private readonly store: Store, private readonly launch: HubLaunch, private readonly start = startDetachedHub) {}

  /** Makes sure a hub will start the pending agents. Never throws: the agents stay recorded either way. */
  ensure(now: number = Date.now()): void {
    try {
      const lease = readHubLease(this.store);
      if (lease !== undefined && whySupervisorIsDead(lease, now, this.staleAfterMs) === null) {
        // A draining hub takes no new agents; once it is gone, they need a new one.
        if (lease.stopRequest === 'drain') this.recheckLater();
        return;
      }
      if (this.startedPid !== undefined && isAlive(this.startedPid) && now - this.startedAt < HUB_START_GRACE_MS) return;
      this.startedPid = this.start(this.launch);
      this.startedAt = now;
      if (this.startedPid !== undefined) log.info(`started a hub for ${this.launch.dbPath} (pid ${this.startedPid}; log ${hubLogPath(this.launch.dbPath)})`);
    } catch (err) {
      log.error('could not check or start the hub; pending agents start when one runs (`meshfleet hub`)', err);
    }
  }

  /**
   * At a server's start: a hub is needed when agents wait for one, a dead hub left its lease,
   * or a dead server left agents (the hub takes them over, as servers did before hubs).
   */
  ensureIfNeeded(now: number = Date.now()): void {
    try {
      const lease = readHubLease(this.store);
      const needed = (lease !== undefined && whySupervisorIsDead(lease, now, this.staleAfterMs) !== null)
        || countUnclaimedAgents(this.store) > 0
        || otherSupervisors(this.store, '').some((s) => whySupervisorIsDead(s, now, this.staleAfterMs) !== null);
      if (needed) this.ensure(now);
    } catch (err) {
      log.error('could not check whether the database needs a hub', err);
    }
  }

  stop(): void {
    clearTimeout(this.recheck);
  }

  private get staleAfterMs(): number {
    return this.launch.staleAfterMs ?? 30_000;
  }

  private recheckLater(): void {
    if (this.recheck !== undefined) return;
    this.recheck = setTimeout(() => guarded('the check for a drained hub', () => {
      this.recheck = undefined;
      if (countUnclaimedAgents(this.store) > 0) this.ensure();
    }), DRAIN_RECHECK_MS);
    this.recheck.unref();
  }
}
