// Servers whose agents are real processes of the test agent (dist/src/runtime/test-agent.js),
// and what tests read back about them.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { packageRoot } from '../../src/store/package-root.js';
import { eventually, startHarness, type Harness } from './mesh.js';

export const TEST_AGENT = `"${process.execPath}" "${join(packageRoot, 'dist', 'src', 'runtime', 'test-agent.js')}"`;

/** Harnesses and processes a test started, ended after it (call `endAll` in afterEach). */
export class RuntimeFixtures {
  private readonly harnesses: Harness[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly cleanups: (() => void)[] = [];

  /** A server running the test agent, on a new database or on `existing`. */
  async harness(supervision: Record<string, unknown> = {}, existing?: { dir: string; dbPath: string }): Promise<Harness> {
    const h = await startHarness({ runtime: { runtime: 'command', agentCommand: TEST_AGENT, dbPath: '' }, env: { PATH: process.env.PATH }, supervision }, existing);
    this.harnesses.push(h);
    return h;
  }

  /** A process that sleeps until the test ends; `detached` puts it in a process group of its own. */
  sleeper(detached = false): ChildProcess & { pid: number } {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120_000)'], { stdio: 'ignore', detached });
    this.children.push(child);
    return child as ChildProcess & { pid: number };
  }

  /** Runs after the harnesses have closed. */
  later(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  async endAll(): Promise<void> {
    for (const h of this.harnesses.splice(0)) await h.close();
    for (const child of this.children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const cleanup of this.cleanups.splice(0).reverse()) cleanup();
  }
}

/** Waits until the fleet is complete or failed; returns its fleet_status. */
export async function settled(h: Harness, fleet_id: string, timeoutMs = 30_000) {
  return eventually(async () => {
    const status = await h.ok('fleet_status', { fleet_id });
    expect(['complete', 'failed']).toContain(status.fleet.status);
    return status;
  }, timeoutMs);
}

/** Waits until the fleet's first agent is running; returns it as fleet_status shows it. */
export async function firstAgentRunning(h: Harness, fleet_id: string) {
  return eventually(async () => {
    const s = await h.ok('fleet_status', { fleet_id });
    expect(s.agents[0].status).toBe('running');
    return s.agents[0];
  }, 30_000);
}

export interface EventRow { kind: string; agent_id: string | null; data: string | null }

/** The fleet's events, oldest first. */
export function fleetEvents(h: Harness, fleetId: string): EventRow[] {
  return h.store.all(h.store.sql.selectFrom('events').select(['kind', 'agent_id', 'data']).where('fleet_id', '=', fleetId).orderBy('id'));
}

/** Events of one kind (any fleet), oldest first, with their data parsed. */
export function eventsOfKind(h: Harness, kind: string): Record<string, unknown>[] {
  return h.store.all(h.store.sql.selectFrom('events').select(['data']).where('kind', '=', kind).orderBy('id'))
    .map((e) => (e.data === null ? {} : JSON.parse(e.data) as Record<string, unknown>));
}

/** How long ago the fleet was created, so a test can set a fleet timeout that passes `inMs` from now. */
export async function fleetTimeoutIn(h: Harness, fleet_id: string, inMs: number): Promise<number> {
  const { fleet } = await h.ok('fleet_status', { fleet_id });
  return Date.now() - fleet.created_at + inMs;
}
