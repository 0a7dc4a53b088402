// The test agent's way into the mesh: its own `meshfleet serve`, started with the environment the
// agent was given, so that server acts as this agent (as a host's MCP config would start it).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { AgentEnvironment } from '../config.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');

export async function connectOwnServer(given: AgentEnvironment): Promise<Client> {
  const client = new Client({ name: `test-agent ${given.role}`, version: '0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'serve'], env: given.inheritedEnv as Record<string, string>, stderr: 'inherit' }));
  return client;
}

/** Calls a tool; its JSON answer, or a thrown Error carrying the tool's error text. */
export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<any> {
  const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 });
  const json = JSON.parse((result.content as { text: string }[])[0]!.text);
  if (result.isError) throw new Error(`${name}: ${json.error}`);
  return json;
}
