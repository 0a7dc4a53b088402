// The hub: the one process per database that starts and watches agents for every server on it.
import type { ListenAddress } from '../config.js';
import { log } from '../log.js';
import { ChangeFeed } from '../mesh/changes.js';
import { MeshError } from '../mesh/errors.js';
import { supervisedAgents } from '../mesh/supervision.js';
import type { RuntimeConfig } from '../runtime/adapters.js';
import { BACKGROUND_BUSY_TIMEOUT_MS } from '../runtime/agent-records.js';
import { whySupervisorIsDead } from '../runtime/policy.js';
import { processStartTime } from '../runtime/processes.js';
import { guarded } from '../runtime/scheduler.js';
import { Supervisor, type SupervisorOptions } from '../runtime/supervisor.js';
import type { Store } from '../store/open.js';
import type { HubEndpoint, StartEndpoint } from './endpoint.js';
import {
  HUB_STALE_AFTER_MS, acquireHubLease, beatHubLease, claimPendingAgents, countUnclaimedAgents, readHubLease, releaseHubLease, releaseIdleHubLease, setHubListen, type HubLease,
} from './lease.js';

/** Why a hub ends, and whether the lease is still its own to give back. */
export interface HubEnd {
  why: string;
  release: boolean;
}

/** Agents claimed in one pass; a burst of fleets is taken in several passes, oldest first. */
const CLAIM_BATCH = 64;

export interface HubOptions {
  runtime: RuntimeConfig;
  /** The environment agents inherit. */
  env: NodeJS.ProcessEnv;
  supervision?: Partial<SupervisorOptions>;
  /** With no agents to run and no connections for this long, the hub exits. */
  idleMs: number;
  /** Where this hub's own output goes, for `meshfleet hub status`; null when it writes to a terminal. */
  logPath: string | null;
  /** How often the hub checks for work, stop requests and idleness (default 250 ms). */
  tickMs?: number;
  /** The HTTP endpoint, started on `listen` once the lease is held; none when absent. */
  startEndpoint?: StartEndpoint;
  listen?: ListenAddress;
}

/** A live hub holds the database; the message names it, so the user can find or stop it. */
export function hubRunningError(holder: HubLease, dbPath: string): MeshError {
  return new MeshError('refused',
    `A hub already runs for ${dbPath}: pid ${holder.pid}, since ${new Date(holder.startedAt).toISOString()}, `
    + `${holder.listen === null ? 'no HTTP endpoint' : `listening on ${holder.listen}`}, ${holder.logPath === null ? 'logging to its terminal' : `log ${holder.logPath}`}.`,
    'One hub per database: use that one (`meshfleet hub status`), or stop it first with `meshfleet hub stop`.');
}

/**
 * One hub per database, decided by the hub_lease row: its Supervisor starts the agents servers
 * record as pending (the database is the queue), retries them, enforces timeouts, and takes
 * over the agents of dead servers and dead hubs. `finished` resolves with the reason the hub
 * ends: idle, a stop request, drained, the lease taken over, or a signal (see `end`).
 */
export class Hub {
  readonly supervisor: Supervisor;
  private readonly changes: ChangeFeed;
  /** The tick; unlike the supervisor's timers it keeps the process alive: a hub lives until it finishes. */
  private ticker: NodeJS.Timeout | undefined;
  private readonly staleAfterMs: number;
  private readonly heartbeatEveryMs: number;
  private endpoint: HubEndpoint | null = null;
  private draining = false;
  private idleSince: number | null = null;
  private lastBeat = 0;
  private unsubscribe: (() => void) | undefined;
  private resolveFinished!: (reason: HubEnd) => void;
  readonly finished = new Promise<HubEnd>((resolve) => { this.resolveFinished = resolve; });
  private ended = false;

  constructor(private readonly store: Store, private readonly dbPath: string, private readonly options: HubOptions) {
    this.supervisor = new Supervisor(store, options.runtime, options.env, { reclaims: true, ...options.supervision });
    this.changes = new ChangeFeed(store);
    this.staleAfterMs = options.supervision?.staleAfterMs ?? HUB_STALE_AFTER_MS;
    this.heartbeatEveryMs = options.supervision?.heartbeatEveryMs ?? 5_000;
  }

  /** The hub's id: its supervisor's, which the agents it owns carry. */
  get id(): string {
    return this.supervisor.id;
  }

  /**
   * Takes the lease (a MeshError naming the live hub when another holds it), takes over what
   * dead servers left, starts the endpoint and the queue.
   */
  async start(): Promise<void> {
    const now = Date.now();
    const got = acquireHubLease(this.store, {
      hubId: this.id, pid: process.pid, pidStart: processStartTime(process.pid), startedAt: now, heartbeatAt: now,
      listen: null, logPath: this.options.logPath,
    }, (lease, at) => whySupervisorIsDead(lease, at, this.staleAfterMs), now);
    if (!got.acquired) throw hubRunningError(got.holder, this.dbPath);
    if (got.replaced !== null) log.warn(`took over from the hub with pid ${got.replaced.lease.pid}: ${got.replaced.why}`);
    this.lastBeat = now;
    this.supervisor.begin();
    try {
      this.endpoint = (await this.options.startEndpoint?.({
        store: this.store, hubId: this.id, listen: this.options.listen ?? { host: '127.0.0.1', port: 0 },
        claimSoon: () => { setImmediate(() => guarded('claiming pending agents', () => this.claim())); },
      })) ?? null;
    } catch (err) {
      await this.stop({ why: 'its HTTP endpoint could not start', release: true });
      throw err;
    }
    if (this.endpoint !== null) setHubListen(this.store, this.id, this.endpoint.address);
    log.info(`hub ${this.id} (pid ${process.pid}) runs agents for ${this.dbPath}${this.endpoint === null ? '' : `; HTTP on ${this.endpoint.address}`}`);
    // A commit by any process moves data_version; the feed polls it, so a new pending agent starts within a poll.
    this.unsubscribe = this.changes.subscribe(() => guarded('claiming pending agents', () => this.claim()));
    this.ticker = setInterval(() => guarded('the hub tick',
      () => this.store.withBusyTimeout(BACKGROUND_BUSY_TIMEOUT_MS, () => this.tick(Date.now()))), this.options.tickMs ?? 250);
    guarded('claiming pending agents', () => this.claim());
  }

  /** Ends the hub for `why` (a signal, say): agents are stopped and recorded interrupted. */
  end(why: string): void {
    this.finish({ why, release: true });
  }

  private finish(reason: HubEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.resolveFinished(reason);
  }

  /** Starts the agents waiting in the database, unless draining. */
  private claim(): void {
    if (this.draining || this.ended) return;
    for (;;) {
      const agents = this.store.withBusyTimeout(BACKGROUND_BUSY_TIMEOUT_MS, () => claimPendingAgents(this.store, this.id, CLAIM_BATCH));
      for (const agent of agents) this.supervisor.start(agent);
      if (agents.length < CLAIM_BATCH) return;
    }
  }

  private tick(now: number): void {
    if (this.ended) return;
    let lease: HubLease | undefined;
    if (now - this.lastBeat >= this.heartbeatEveryMs) {
      lease = beatHubLease(this.store, this.id, now);
      this.lastBeat = now;
    } else {
      lease = readHubLease(this.store);
    }
    if (lease === undefined || lease.hubId !== this.id) {
      log.error(`another hub took this database over (this hub's heartbeat was older than ${this.staleAfterMs} ms); stopping`);
      this.finish({ why: 'another hub took the database over', release: false });
      return;
    }
    this.obey(lease);
    if (this.ended) return;
    this.claim();
    this.checkIdle(now);
  }

  /** A stop request from `meshfleet hub stop`, read every tick. */
  private obey(lease: HubLease): void {
    if (lease.stopRequest === 'stop') this.finish({ why: 'stopped by `meshfleet hub stop`', release: true });
    else if (lease.stopRequest === 'drain' && !this.draining) {
      this.draining = true;
      log.info('draining: no new agents start here; exiting once the running ones finish');
    }
  }

  private checkIdle(now: number): void {
    const owned = supervisedAgents(this.store, this.id).length;
    if (this.draining) {
      if (owned === 0 && this.supervisor.running === 0) this.finish({ why: 'drained: every agent finished', release: true });
      return;
    }
    const busy = owned > 0 || this.supervisor.running > 0 || countUnclaimedAgents(this.store) > 0 || (this.endpoint?.connections() ?? 0) > 0;
    if (busy) {
      this.idleSince = null;
      return;
    }
    this.idleSince ??= now;
    if (now - this.idleSince < this.options.idleMs) return;
    if (releaseIdleHubLease(this.store, this.id, now)) {
      this.finish({ why: `idle for ${this.options.idleMs} ms (no agents, no connections)`, release: false });
    } else {
      this.idleSince = null; // agents arrived a moment ago: the next claim takes them
    }
  }

  /** Stops everything: agents are recorded interrupted (none are left after idle or drained), the lease goes. */
  async stop(reason: HubEnd): Promise<void> {
    this.ended = true;
    this.unsubscribe?.();
    this.changes.stop();
    clearInterval(this.ticker);
    await this.endpoint?.close().catch((err: unknown) => log.error('closing the HTTP endpoint failed', err));
    await this.supervisor.stopAll(`the meshfleet hub stopped (${reason.why})`);
    if (!reason.release) return;
    try {
      releaseHubLease(this.store, this.id);
    } catch (err) {
      // The row stays behind; the next hub finds its pid gone and replaces it.
      log.error('could not remove the hub lease', err);
    }
  }
}
