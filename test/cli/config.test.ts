// meshfleet config: what it prints for each host must start a working server as printed.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { databasePerTest } from '../helpers/database.js';
import { BIN, runCli as runAnyCli } from '../helpers/files.js';

let dir: string;
let dbPath: string;
databasePerTest((paths) => ({ dir, db: dbPath } = paths));
const clients: Client[] = [];
/** `meshfleet` with no meshfleet on PATH, unless a test passes one: snippets name node and the CLI then. */
const runCli = (args: string[], env: NodeJS.ProcessEnv = {}) => runAnyCli(args, { PATH: join(dir, 'empty-bin'), ...env });
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

/** Starts what a host would start from the printed command, args and environment; calls ping. */
async function connectAsPrinted(command: string, args: string[], env: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'host', version: '0.0.0' });
  clients.push(client);
  await client.connect(new StdioClientTransport({ command, args, env: { PATH: process.env.PATH ?? '', HOME: dir, ...env }, stderr: 'ignore' }));
  const result = await client.callTool({ name: 'ping', arguments: {} });
  expect(result.isError).toBeFalsy();
  return client;
}

describe('meshfleet config', () => {
  it('json: the mcpServers block starts a server on the pinned database', async () => {
    const printed = runCli(['config', 'json', '--db', dbPath]);
    expect(printed.code).toBe(0);
    const { command, args, env } = JSON.parse(printed.stdout).mcpServers.meshfleet;
    expect(env).toEqual({ MESHFLEET_DB: dbPath });
    const client = await connectAsPrinted(command, args, env);
    const health = JSON.parse(((await client.callTool({ name: 'get_health', arguments: {} })).content as { text: string }[])[0]!.text);
    expect(health.database.path).toBe(dbPath);
  });

  it('opencode: a local server whose command array starts one', async () => {
    const printed = runCli(['config', 'opencode', '--db', dbPath]);
    const server = JSON.parse(printed.stdout).mcp.meshfleet;
    expect(server).toMatchObject({ type: 'local', enabled: true, environment: { MESHFLEET_DB: dbPath } });
    const [command, ...args] = server.command as string[];
    await connectAsPrinted(command!, args, server.environment);
  });

  it('claude: one `claude mcp add` line whose command after -- starts one', async () => {
    const printed = runCli(['config', 'claude', '--db', join(dir, 'with space.db')]);
    const match = /^claude mcp add meshfleet -e 'MESHFLEET_DB=(.+)' -- (\S+) (\S+) serve\n$/.exec(printed.stdout);
    expect(match, printed.stdout).not.toBeNull();
    await connectAsPrinted(match![2]!, [match![3]!, 'serve'], { MESHFLEET_DB: match![1]! });
  });

  it('codex: a TOML table with command, args and env', async () => {
    const printed = runCli(['config', 'codex', '--db', dbPath]);
    const command = /^command = (".*")$/m.exec(printed.stdout)?.[1];
    const args = /^args = \[(.*)\]$/m.exec(printed.stdout)?.[1];
    expect(printed.stdout).toMatch(/^\[mcp_servers\.meshfleet\]\n/);
    expect(printed.stdout).toContain(`env = { MESHFLEET_DB = ${JSON.stringify(dbPath)} }`);
    await connectAsPrinted(JSON.parse(command!), JSON.parse(`[${args}]`), { MESHFLEET_DB: dbPath });
  });

  it('--agent pins no database, and bad hosts or flags are one-line usage errors', () => {
    const agent = runCli(['config', 'json', '--agent']);
    expect(JSON.parse(agent.stdout).mcpServers.meshfleet.env).toBeUndefined();
    for (const args of [['config'], ['config', 'vscode'], ['config', 'json', 'extra'], ['config', 'json', '--agent', '--db', dbPath]]) {
      const result = runCli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });

  it('names the meshfleet on PATH when it is this install, and launching exactly that works', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(BIN, join(bin, 'meshfleet')); // what npm install -g / npm link put on PATH
    const printed = runCli(['config', 'json', '--db', dbPath], { PATH: `${bin}:${dirname(process.execPath)}` });
    const { command, args, env } = JSON.parse(printed.stdout).mcpServers.meshfleet;
    expect([command, ...args]).toEqual([join(bin, 'meshfleet'), 'serve']);
    // The bin starts with `#!/usr/bin/env node`: the host's PATH needs node, as PATH here has it.
    await connectAsPrinted(command, args, env);
    const claude = runCli(['config', 'claude'], { PATH: bin, HOME: dir });
    expect(claude.stdout).toBe(`claude mcp add meshfleet -e MESHFLEET_DB=${join(dir, '.meshfleet', 'mesh.db')} -- ${join(bin, 'meshfleet')} serve\n`);
  });

  it('names node and the CLI when the meshfleet on PATH is another program', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'meshfleet'), '#!/bin/sh\necho another meshfleet\n', { mode: 0o755 });
    const printed = runCli(['config', 'json', '--db', dbPath], { PATH: bin });
    const { command, args } = JSON.parse(printed.stdout).mcpServers.meshfleet;
    expect([command, ...args]).toEqual([process.execPath, BIN, 'serve']);
  });
});
