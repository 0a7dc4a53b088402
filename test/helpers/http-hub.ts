// The hub's HTTP endpoint on a real database file, and MCP clients that reach it over loopback
// with the SDK's Streamable HTTP client, as an agent on another machine would.
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startHttpEndpoint, type HttpEndpoint, type HttpEndpointOptions } from '../../src/hub/http.js';
import { createToolDeps } from '../../src/mcp/server.js';
import { createOperatorToken } from '../../src/mesh/operator-tokens.js';
import { openStore, type Store } from '../../src/store/open.js';
import { tempDir } from './files.js';
import { toolCalls } from './mesh.js';
import { TEST_AGENT } from './runtime.js';

export interface TestHub {
  dir: string;
  dbPath: string;
  store: Store;
  endpoint: HttpEndpoint;
  /** An operator token made the way `meshfleet token create --operator` makes one. */
  operatorToken: string;
  /** An MCP client of /mcp with this bearer token. */
  connect(token: string): Promise<HttpClient>;
  close(): Promise<void>;
}

export interface HttpClient {
  client: Client;
  call(name: string, args?: Record<string, unknown>): Promise<{ isError: boolean; json: any }>;
  ok(name: string, args?: Record<string, unknown>): Promise<any>;
  fails(name: string, args?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** A hub whose local agents are the test agent, on a fresh database. */
export async function startTestHub(options: HttpEndpointOptions = {}): Promise<TestHub> {
  const temp = tempDir();
  const dbPath = join(temp.dir, 'mesh.db');
  const store = openStore(dbPath);
  const deps = createToolDeps(store, {
    version: '0.0.0-test',
    runtime: { runtime: 'command', agentCommand: TEST_AGENT, dbPath },
    push: {},
    env: { PATH: process.env.PATH },
    projectDir: temp.dir,
    homeDir: temp.dir,
    supervision: { retryBaseMs: 20, tickMs: 50, killGraceMs: 500 },
  });
  const endpoint = await startHttpEndpoint(deps, options);
  const { token: operatorToken } = createOperatorToken(store, 'test operator');
  const clients: HttpClient[] = [];
  return {
    dir: temp.dir, dbPath, store, endpoint, operatorToken,
    connect: async (token) => {
      const client = await connectHttp(endpoint.mcpUrl, token);
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await endpoint.close();
      await deps.close();
      store.close();
      temp.cleanup();
    },
  };
}

export async function connectHttp(mcpUrl: string, token: string): Promise<HttpClient> {
  const client = new Client({ name: 'remote-test-client', version: '0.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return {
    client, ...toolCalls(client),
    close: () => client.close(),
  };
}

/** A raw POST of an initialize request, for what the client library would not send. */
export function initializeBody(): string {
  return JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });
}

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
