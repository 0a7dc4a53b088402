// The built `meshfleet serve` on a database, driven by the SDK's stdio client, for benches.
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { packageRoot } from '../src/store/package-root.js';

const CLI = join(packageRoot, 'dist', 'src', 'cli', 'main.js');

export async function connect(dbPath: string, flags: string[] = []): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath, args: [CLI, 'serve', '--db', dbPath, ...flags],
    // Agents exit at once and are beside the point here: this server starts them itself (no hub).
    env: { PATH: process.env.PATH ?? '', MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'true', MESHFLEET_NO_HUB: '1' },
  });
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(transport);
  return client;
}

export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<any> {
  const result = await client.callTool({ name, arguments: args });
  const json = JSON.parse((result.content as { text: string }[])[0]!.text);
  if (result.isError) throw new Error(`${name}: ${json.error}`);
  return json;
}

