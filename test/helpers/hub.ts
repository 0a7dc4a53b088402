// Hosts, hubs and their database, as real processes: `meshfleet serve` over the SDK's stdio
// client, `meshfleet hub` as a child, and the hub_lease row read as sqlite3 would.
import { existsSync, readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { expect } from 'vitest';
import { rawDatabase } from './database.js';
import { CLI, runCliAsync } from './files.js';
import { eventually } from './mesh.js';
import { TEST_AGENT } from './runtime.js';

/** What a host's `meshfleet serve` runs with: the test agent as the runtime, a hub idle period long enough to outlast a test. */
export function hostEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '', HOME: home, MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: TEST_AGENT,
    MESHFLEET_HUB_IDLE_MS: '60000', ...extra,
  };
}

export interface Host {
  pid: number;
  /** A tool call's JSON; throws with the tool's error text. */
  call(name: string, args?: Record<string, unknown>): Promise<any>;
  close(): Promise<void>;
}

/** A host session: the SDK's client over stdio to a `meshfleet serve` it launches. */
export async function connectHost(dbPath: string, env: Record<string, string>, flags: string[] = []): Promise<Host> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'serve', '--db', dbPath, ...flags], env, stderr: 'pipe' });
  transport.stderr?.on('data', () => undefined); // read, so a chatty server never blocks on a full pipe
  const client = new Client({ name: 'hub-test-host', version: '0' });
  await client.connect(transport);
  return {
    pid: transport.pid!,
    call: async (name, args = {}) => {
      const result = await client.callTool({ name, arguments: args });
      const json = JSON.parse((result.content as { text: string }[])[0]!.text);
      if (result.isError) throw new Error(json.error);
      return json;
    },
    close: () => client.close(),
  };
}

export interface LeaseRow { hub_id: string; pid: number; started_at: number; listen: string | null; log_path: string | null; stop_request: string | null }

export function leaseOf(dbPath: string): LeaseRow | undefined {
  return rawDatabase(dbPath).row<LeaseRow>('SELECT hub_id, pid, started_at, listen, log_path, stop_request FROM hub_lease');
}

/** Whether the process runs; a zombie (exited, its dead parent's orphan not reaped yet) does not. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

/** Waits for a hub to hold the database; returns its lease. */
export function liveHub(dbPath: string, timeoutMs = 20_000): Promise<LeaseRow> {
  return eventually(() => {
    const lease = leaseOf(dbPath);
    expect(lease).toBeDefined();
    expect(isRunning(lease!.pid)).toBe(true);
    return lease!;
  }, timeoutMs);
}

export interface AgentRow { id: string; status: string; pid: number | null; output: string | null; error: string | null; supervisor_id: string | null }

export function agentsOf(dbPath: string, fleetId: string): AgentRow[] {
  return rawDatabase(dbPath).rows<AgentRow>('SELECT id, status, pid, output, error, supervisor_id FROM agents WHERE fleet_id = ? ORDER BY created_at, id', fleetId);
}

export function fleetStatusOf(dbPath: string, fleetId: string): string {
  return rawDatabase(dbPath).value<string>('SELECT status FROM fleets WHERE id = ?', fleetId);
}

/** Waits until the fleet settles (complete or failed); returns its status. */
export function fleetSettles(dbPath: string, fleetId: string, timeoutMs = 30_000): Promise<string> {
  return eventually(() => {
    const status = fleetStatusOf(dbPath, fleetId);
    expect(['complete', 'failed']).toContain(status);
    return status;
  }, timeoutMs);
}

export function eventCount(dbPath: string, kind: string): number {
  return rawDatabase(dbPath).value<number>('SELECT count(*) FROM events WHERE kind = ?', kind);
}

/**
 * After a test: no hub and no agent of the database outlives it. `meshfleet hub stop` first (as
 * a user would), then SIGKILL for whatever is left: the hub, and agents' process groups.
 */
export async function endHubsOf(dbPath: string): Promise<void> {
  if (!existsSync(dbPath)) return;
  const lease = leaseOf(dbPath);
  if (lease !== undefined && isRunning(lease.pid)) await runCliAsync(['hub', 'stop', '--db', dbPath]);
  if (lease !== undefined && isRunning(lease.pid)) process.kill(lease.pid, 'SIGKILL');
  for (const pid of rawDatabase(dbPath).values<number>("SELECT pid FROM agents WHERE pid IS NOT NULL AND status IN ('running', 'pending')")) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
