// The built `meshfleet serve` as hosts run it: a child process spoken to over stdio.
import { spawn } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { databasePerTest } from '../helpers/database.js';
import { CLI } from '../helpers/files.js';
import { eventually } from '../helpers/mesh.js';

const LEGACY_TOOLS = [
  'spawn_fleet', 'fleet_status', 'list_fleets', 'set_fleet_timeout', 'collect_results', 'send_message', 'get_inbox', 'ack_message',
  'register_capability', 'route_work', 'record_routing_outcome', 'list_agents', 'attach_agent', 'ping', 'subscribe_inbox',
  'get_health', 'save_fleet_template', 'list_fleet_templates', 'spawn_from_template',
];
const NEW_TOOLS = ['send_messages', 'wait_for_messages', 'get_fleet_template', 'delete_fleet_template', 'export_fleet_template', 'import_fleet_template'];

let dir: string;
let dbPath: string;
const clients: Client[] = [];
databasePerTest((paths) => ({ dir, db: dbPath } = paths));
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

async function serve(env: Record<string, string> = {}): Promise<{ call: (name: string, args?: Record<string, unknown>) => Promise<any>; client: Client }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'serve', '--db', dbPath],
    env: { PATH: process.env.PATH ?? '', HOME: dir, MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'sleep 30', MESHFLEET_NO_HUB: '1', ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'e2e-host', version: '0.0.0' });
  await client.connect(transport);
  clients.push(client);
  return {
    client,
    call: async (name, args = {}) => {
      const result = await client.callTool({ name, arguments: args });
      const json = JSON.parse((result.content as { text: string }[])[0]!.text);
      if (result.isError) throw new Error(json.error);
      return json;
    },
  };
}

describe('meshfleet serve over stdio', () => {
  it('offers every tool of the old server by name, plus the new ones', async () => {
    const { client } = await serve();
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining([...LEGACY_TOOLS, ...NEW_TOOLS]));
    const send = (await client.listTools()).tools.find((t) => t.name === 'send_message')!;
    // Every old argument name is accepted; the ids an agent's own server can fill in are optional.
    expect(Object.keys(send.inputSchema.properties!)).toEqual(expect.arrayContaining(['fleet_id', 'from_agent_id', 'to_agent_id', 'type', 'payload', 'correlation_id']));
    expect(send.inputSchema.required).toEqual(['to_agent_id', 'type', 'payload']);
  });

  it('two servers on one database see each other\'s messages, and a waiting agent wakes', async () => {
    const host = await serve();
    const peer = await serve();
    const { fleet_id, agent_ids: [a, b] } = await host.call('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'q' }] });
    await peer.call('send_message', { fleet_id, from_agent_id: b, to_agent_id: a, type: 'question', payload: 'seen me?' });
    expect((await host.call('get_inbox', { agent_id: a })).messages.map((m: { payload: string }) => m.payload)).toEqual(['seen me?']);
    await host.call('ack_message', { agent_id: a, message_id: (await host.call('get_inbox', { agent_id: a })).messages[0].id });

    const waiting = host.call('wait_for_messages', { agent_id: a, timeout_ms: 20_000 });
    // Send only once the host says the wait is pending: sent earlier, the message would be found without any waking.
    await eventually(async () => expect((await host.call('get_health')).waits_pending).toBe(1));
    await peer.call('send_messages', { messages: [{ fleet_id, from_agent_id: b, to_agent_id: a, type: 'result', payload: 'done' }] });
    const woken = await waiting;
    expect(woken.timed_out).toBe(false);
    expect(woken.messages.map((m: { payload: string }) => m.payload)).toEqual(['done']);
  });

  it('subscribe_inbox streams messages another server commits, as the instructions describe', async () => {
    const host = await serve({ MESHFLEET_AUTH_TOKEN: 'sekrit' });
    const peer = await serve();
    const { fleet_id, agent_ids: [a, b] } = await host.call('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'q' }] });
    await peer.call('send_message', { fleet_id, from_agent_id: b, to_agent_id: a, type: 'handoff', payload: 'already waiting' });
    const sub = await host.call('subscribe_inbox', { agent_id: a });
    expect(sub.stream_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/inbox\//);
    expect(sub.instructions).toContain('"id: <seq>", "event: message", "data: <JSON message');

    const bare = sub.stream_url.replace(/\?.*$/, '');
    expect((await fetch(bare)).status).toBe(401);
    const stream = await fetch(bare, { headers: { authorization: 'Bearer sekrit', accept: 'text/event-stream' } });
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    const frames = readFrames(stream.body!);
    const first = await frames.next();
    expect(first.value).toMatchObject({ event: 'message', data: { payload: 'already waiting', to_agent_id: a } });
    const { message_id } = await peer.call('send_message', { fleet_id, from_agent_id: b, to_agent_id: a, type: 'alert', payload: 'pushed' });
    const second = await frames.next();
    expect(second.value).toMatchObject({ event: 'message', data: { id: message_id, payload: 'pushed', type: 'alert' } });
    expect(Number(second.value!.id)).toBeGreaterThan(Number(first.value!.id));
    await frames.return(undefined);
  });

  it('ends when its stdio client goes, even with an open stream and a running agent', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--db', dbPath], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'sleep 30', MESHFLEET_NO_HUB: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const replies = jsonLines(child.stdout!);
    const rpc = async (id: number, method: string, params: unknown) => {
      child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
      return (await replies.next()).value as any;
    };
    await rpc(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } });
    child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    const spawned = await rpc(2, 'tools/call', { name: 'spawn_fleet', arguments: { agents: [{ role: 'sleeper', prompt: 'zz' }] } });
    const { fleet_id, agent_ids: [agentId] } = JSON.parse(spawned.result.content[0].text);
    const sub = await rpc(3, 'tools/call', { name: 'subscribe_inbox', arguments: { agent_id: agentId } });
    const stream = await fetch(JSON.parse(sub.result.content[0].text).stream_url);
    expect(stream.status).toBe(200);

    // A 60 s wait is pending when the client goes: the server says so.
    child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'wait_for_messages', arguments: { agent_id: agentId, timeout_ms: 60_000 } } })}\n`);
    await eventually(async () => {
      const health = await rpc(5, 'tools/call', { name: 'get_health', arguments: {} });
      expect(health.id).toBe(5);
      expect(JSON.parse(health.result.content[0].text).waits_pending).toBe(1);
    });

    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    child.stdin!.end();
    expect(await exited).toEqual({ code: 0, signal: null });
    // It ended with the wait still pending: the wait was never answered, neither by a message nor by its timeout.
    const unanswered: unknown[] = [];
    for await (const reply of replies) unanswered.push(reply);
    expect(unanswered).toEqual([]);

    // The agent it started was ended and recorded, not left running.
    const reader = await serve();
    const status = await reader.call('fleet_status', { fleet_id });
    expect(status.agents[0]).toMatchObject({ status: 'interrupted', error: 'the meshfleet server that started this agent stopped' });
    expect(() => process.kill(status.agents[0].pid, 0)).toThrow();
  });

  it('gives a tool error, not a crash, for arguments of the wrong shape', async () => {
    const { client, call } = await serve();
    const result = await client.callTool({ name: 'get_inbox', arguments: { agent_id: 42 } });
    expect(result.isError).toBe(true);
    expect(JSON.parse((result.content as { text: string }[])[0]!.text).error).toMatch(/^Invalid arguments for get_inbox: .*agent_id/);
    expect(await call('ping')).toMatchObject({ status: 'ok' });
  });
});

async function* jsonLines(stream: NodeJS.ReadableStream): AsyncGenerator<unknown> {
  let buffer = '';
  for await (const chunk of stream) {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim() !== '') yield JSON.parse(line);
    }
  }
}

/** Server-sent event frames, parsed: {id, event, data (JSON)}. */
async function* readFrames(body: ReadableStream<Uint8Array>): AsyncGenerator<{ id?: string; event?: string; data?: any }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const frame: { id?: string; event?: string; data?: any } = {};
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(': ');
        const value = rest.join(': ');
        if (field === 'id') frame.id = value;
        if (field === 'event') frame.event = value;
        if (field === 'data') frame.data = JSON.parse(value);
      }
      if (frame.data !== undefined) yield frame;
    }
  }
}
