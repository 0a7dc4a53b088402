import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { expect } from 'vitest';
import { createMcpServer, createToolDeps, type ServerConfig } from '../../src/mcp/server.js';
import { hashToken } from '../../src/mesh/tokens.js';
import { openStore, type OpenOptions, type Store } from '../../src/store/open.js';
import { rawDatabase } from './database.js';
import { tempDir } from './files.js';

export interface Harness {
  dir: string;
  dbPath: string;
  store: Store;
  client: Client;
  /** Calls a tool; returns its parsed JSON and whether it was an error. */
  call(name: string, args?: Record<string, unknown>): Promise<{ isError: boolean; json: any }>;
  /** Calls a tool that must succeed. */
  ok(name: string, args?: Record<string, unknown>): Promise<any>;
  /** Calls a tool that must fail; returns its error text. */
  fails(name: string, args?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** call / ok / fails over any connected MCP client: one text item of JSON per answer, errors as {"error"}. */
export function toolCalls(client: Client): Pick<Harness, 'call' | 'ok' | 'fails'> {
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const result = await client.callTool({ name, arguments: args });
    const content = result.content as { type: string; text: string }[];
    expect(content).toHaveLength(1);
    return { isError: result.isError === true, json: JSON.parse(content[0]!.text) };
  };
  return {
    call,
    ok: async (name, args) => {
      const r = await call(name, args);
      if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.json)}`);
      return r.json;
    },
    fails: async (name, args) => {
      const r = await call(name, args);
      if (!r.isError) throw new Error(`${name} should have failed: ${JSON.stringify(r.json)}`);
      expect(Object.keys(r.json)).toEqual(['error']);
      return r.json.error as string;
    },
  };
}

/** A real server on a real database file, reached through the SDK's in-memory client pair. */
export async function startHarness(config: Partial<ServerConfig> = {}, existing?: { dir: string; dbPath: string }, storeOptions: OpenOptions = {}): Promise<Harness> {
  const temp = existing === undefined ? tempDir() : undefined;
  const dir = existing?.dir ?? temp!.dir;
  const dbPath = existing?.dbPath ?? join(dir, 'mesh.db');
  const store = openStore(dbPath, storeOptions);
  const deps = createToolDeps(store, {
    version: '0.0.0-test',
    push: {},
    env: { PATH: process.env.PATH },
    projectDir: dir,
    homeDir: dir,
    ...config,
    // Agents join the mesh on this harness's database.
    runtime: { runtime: 'command', agentCommand: 'true', ...config.runtime, dbPath },
    // Retries within a test's patience; tests about timing pass their own.
    supervision: { retryBaseMs: 20, tickMs: 50, killGraceMs: 500, ...config.supervision },
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const server = createMcpServer(deps);
  await server.connect(serverSide);
  const client = new Client({ name: 'test-host', version: '0.0.0' });
  await client.connect(clientSide);
  return {
    dir, dbPath, store, client, ...toolCalls(client),
    close: async () => {
      await client.close();
      await deps.close();
      store.close();
      temp?.cleanup();
    },
  };
}


/**
 * The server an agent's host launches: MESHFLEET_AGENT_ID and a MESHFLEET_AGENT_TOKEN for it,
 * on the host's database. The token is made here and its hash stored, as a launch would.
 */
export async function startAgentServer(host: Harness, agentId: string, config: Partial<ServerConfig> = {}): Promise<Harness> {
  const agentToken = `test-token-of-${agentId}`;
  rawDatabase(host.dbPath).run('UPDATE agents SET token_hash = ? WHERE id = ?', hashToken(agentToken), agentId);
  return startHarness({ ...config, agentId, agentToken }, { dir: host.dir, dbPath: host.dbPath });
}

/**
 * Waits until check() holds, polling; for outcomes of real processes. Gives up by throwing the
 * last attempt's own error (the assertion and its diff, not a bare "timed out"). The default
 * wait stays well under vitest.config.ts's 60 s test timeout, so a slow run still reports
 * what was wrong; a test passing a longer wait needs a test timeout beyond it.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** The cast of the messaging tests: a fleet of a lead, a coder and a tester, and another fleet of two. */
export async function threeAgentsAndAnOutsider(h: Pick<Harness, 'ok'>): Promise<{
  fleetId: string; lead: string; coder: string; tester: string; otherFleet: string; outsider: string;
}> {
  const { fleet_id: fleetId, agent_ids: [lead, coder, tester] } = await h.ok('spawn_fleet', {
    agents: [{ role: 'lead', prompt: 'p' }, { role: 'coder', prompt: 'p' }, { role: 'tester', prompt: 'p' }],
  });
  const { fleet_id: otherFleet, agent_ids: [outsider] } = await h.ok('spawn_fleet', { agents: [{ role: 'solo', prompt: 'x' }, { role: 'solo', prompt: 'y' }] });
  return { fleetId, lead, coder, tester, otherFleet, outsider };
}
