// `meshfleet serve` spoken to in raw lines, as a careless or broken host might: every request
// gets an answer (no client left waiting), notifications never do, and the server stays up.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineStdioTransport } from '../../src/mcp/stdio-transport.js';
import { CLI, tempDir } from '../helpers/files.js';

interface Reply { jsonrpc: string; id: string | number | null; result?: any; error?: { code: number; message: string } }

const MIB = 1_048_576;
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const INVALID_PARAMS = -32602;

class RawServer {
  readonly child: ChildProcess;
  stderr = '';
  private buffer = '';
  private readonly replies: Reply[] = [];
  private wake: (() => void) | undefined;
  private nextId = 1_000;

  constructor(dbPath: string, home: string) {
    this.child = spawn(process.execPath, [CLI, 'serve', '--db', dbPath], {
      env: { PATH: process.env.PATH ?? '', HOME: home, MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'sleep 30' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
      this.wake?.();
    });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      for (let nl = this.buffer.indexOf('\n'); nl !== -1; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.trim() !== '') this.replies.push(JSON.parse(line));
      }
      this.wake?.();
    });
  }

  write(text: string | Buffer): Promise<void> {
    return new Promise((resolve) => { if (this.child.stdin!.write(text)) resolve(); else this.child.stdin!.once('drain', resolve); });
  }

  /** Every reply up to and including the one with this id, in the order they were written. */
  async until(id: string | number): Promise<Reply[]> {
    let at = -1;
    await this.waitFor(() => (at = this.replies.findIndex((reply) => reply.id === id)) !== -1);
    return this.replies.splice(0, at + 1);
  }

  /** Waits for output (stdout or stderr) that makes `seen` true; the test's timeout bounds it. */
  async waitFor(seen: () => boolean): Promise<void> {
    while (!seen()) {
      if (this.child.exitCode !== null) throw new Error(`the server exited (${this.child.exitCode}); stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  async request(method: string, params?: unknown): Promise<Reply> {
    const id = this.nextId++;
    await this.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })}\n`);
    const replies = await this.until(id);
    expect(replies).toHaveLength(1);
    return replies[0]!;
  }

  /** Writes the line, then a ping: what came back before the ping's answer. */
  async answersTo(line: string): Promise<Reply[]> {
    const pingId = this.nextId++;
    await this.write(`${line}\n${JSON.stringify({ jsonrpc: '2.0', id: pingId, method: 'ping' })}\n`);
    const replies = await this.until(pingId);
    expect(replies.at(-1)).toEqual({ jsonrpc: '2.0', id: pingId, result: {} });
    return replies.slice(0, -1);
  }

  /** A ping, and the ping tool: the server still does its work. */
  async expectAlive(): Promise<void> {
    expect(await this.request('ping')).toMatchObject({ result: {} });
    const tool = await this.request('tools/call', { name: 'ping', arguments: {} });
    expect(JSON.parse(tool.result.content[0].text)).toMatchObject({ status: 'ok' });
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.stdin!.end();
    return exited;
  }

  /** Peak resident memory so far, from Linux's /proc. */
  peakRssBytes(): number {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'))![1]!;
    return Number(kib) * 1_024;
  }
}

async function startServer(dir: string): Promise<RawServer> {
  const server = new RawServer(join(dir, 'mesh.db'), dir);
  const init = await server.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } });
  expect(init.result.serverInfo.name).toBe('meshfleet');
  await server.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  return server;
}

/** Writes `bytes` of filler in 1 MiB chunks, respecting backpressure, so neither side holds it all. */
async function writeFiller(server: RawServer, bytes: number): Promise<void> {
  const chunk = Buffer.alloc(MIB, 'x');
  for (let written = 0; written < bytes; written += MIB) await server.write(chunk.subarray(0, Math.min(MIB, bytes - written)));
}

let dir: string;
let cleanup: () => void;
let server: RawServer;
beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  server = await startServer(dir);
}, 60_000);
afterAll(async () => {
  expect(await server.stop()).toBe(0);
  cleanup();
}, 60_000);

const request = (fields: Record<string, unknown>) => JSON.stringify({ jsonrpc: '2.0', ...fields });
const call = (id: number, params: unknown) => request({ id, method: 'tools/call', params });

// [what, line, code, id the answer carries, words the message must hold]
const BAD_REQUESTS: [string, string, number, string | number | null, RegExp][] = [
  ['a line that is not JSON', 'ping please', PARSE_ERROR, null, /^Parse error: the line is not JSON\. Send one JSON-RPC 2\.0 message per line\.$/],
  ['a request cut short', '{"jsonrpc":"2.0","id":3,"method":"ping"', PARSE_ERROR, null, /^Parse error/],
  ['a request without "jsonrpc"', '{"id":"no-version","method":"ping"}', INVALID_REQUEST, 'no-version', /"jsonrpc": "2\.0" member is missing/],
  ['a request with "jsonrpc": "1.0"', '{"jsonrpc":"1.0","id":4,"method":"ping"}', INVALID_REQUEST, 4, /"jsonrpc" must be "2\.0" \(got "1\.0"\)/],
  ['a method that is not a string', request({ id: 5, method: 42 }), INVALID_REQUEST, 5, /"method" must be a string \(got 42\)/],
  ['a batch', `[${request({ id: 6, method: 'ping' })}]`, INVALID_REQUEST, null, /batches .*not accepted.*one message per line|own line/],
  ['an id that is an object', request({ id: { n: 7 }, method: 'ping' }), INVALID_REQUEST, null, /"id" must be a string or an integer \(got an object\)/],
  ['an id that is a fraction', request({ id: 7.5, method: 'ping' }), INVALID_REQUEST, null, /"id" must be a string or an integer \(got 7\.5\)/],
  ['an id that is null', request({ id: null, method: 'ping' }), INVALID_REQUEST, null, /"id" must be a string or an integer \(got null\)/],
  ['a JSON value that is not an object', '"ping"', INVALID_REQUEST, null, /expected a JSON object \(got "ping"\)/],
  ['an object with no method', request({ id: 8 }), INVALID_REQUEST, 8, /no "method"/],
  ['a member JSON-RPC does not have', request({ id: 9, method: 'ping', session: 'x' }), INVALID_REQUEST, 9, /unexpected member "session"/],
  ['params that are not an object', request({ id: 10, method: 'ping', params: null }), INVALID_PARAMS, 10, /^ping: params must be a JSON object \(got null\)\.$/],
  ['tools/call with arguments: null', call(11, { name: 'ping', arguments: null }), INVALID_PARAMS, 11, /^tools\/call: arguments must be a JSON object \(got null\)\.$/],
  ['tools/call with string arguments', call(12, { name: 'ping', arguments: '{}' }), INVALID_PARAMS, 12, /^tools\/call: arguments must be a JSON object \(got "\{\}"\)\.$/],
  ['tools/call with array arguments', call(13, { name: 'ping', arguments: [] }), INVALID_PARAMS, 13, /^tools\/call: arguments must be a JSON object \(got an array\)\.$/],
  ['tools/call with number arguments', call(14, { name: 'ping', arguments: 1 }), INVALID_PARAMS, 14, /^tools\/call: arguments must be a JSON object \(got 1\)\.$/],
  ['tools/call with a name that is not a string', call(15, { name: 7, arguments: {} }), INVALID_PARAMS, 15, /^tools\/call: name must be a string \(got 7\)\.$/],
  ['tools/call without params', request({ id: 16, method: 'tools/call' }), INVALID_PARAMS, 16, /^tools\/call: params must be a JSON object/],
  ['tools/call with params that are an array', call(17, ['ping', {}]), INVALID_PARAMS, 17, /^tools\/call: params must be a JSON object \(got an array\)\.$/],
  ['tools/list with a cursor that is not a string', request({ id: 18, method: 'tools/list', params: { cursor: 5 } }), INVALID_PARAMS, 18, /^tools\/list: cursor must be a string \(got 5\)\.$/],
];

describe('meshfleet serve answers every bad request line, and keeps serving', () => {
  it.each(BAD_REQUESTS)('%s', async (_what, line, code, id, words) => {
    const replies = await server.answersTo(line);
    expect(replies).toEqual([{ jsonrpc: '2.0', id, error: { code, message: expect.stringMatching(words) } }]);
    // One sentence a person can read, never a schema library's dump.
    expect(replies[0]!.error!.message).not.toMatch(/\n|invalid_type|"path"|"expected"/);
    await server.expectAlive();
  }, 30_000);

  it.each([
    ['without "jsonrpc"', '{"method":"notifications/initialized"}', '"jsonrpc": "2.0" member is missing'],
    ['with params of the wrong shape', request({ method: 'notifications/cancelled', params: { requestId: { n: 1 } } }), 'notifications/cancelled: requestId must be'],
    ['with params that are not an object', request({ method: 'notifications/roots/list_changed', params: 'now' }), 'notifications/roots/list_changed: params must be a JSON object (got "now")'],
  ])('does not answer an invalid notification %s, and logs it once', async (_what, line, logged) => {
    expect(await server.answersTo(line)).toEqual([]);
    await server.waitFor(() => server.stderr.includes(logged));
    expect(server.stderr.split(logged).length - 1).toBe(1);
    await server.expectAlive();
  }, 30_000);
});

describe('meshfleet serve and lines over its size bound', () => {
  it('answers a 60 MiB line without a message "message too large", and keeps serving', async () => {
    await writeFiller(server, 60 * MIB);
    const replies = await server.answersTo('');
    expect(replies).toEqual([{ jsonrpc: '2.0', id: null, error: { code: INVALID_REQUEST, message: expect.stringMatching(/message too large.*48 MiB/) } }]);
    await server.expectAlive();
  }, 120_000);

  it('answers an oversized request as an SDK client writes it (id last) under that request\'s id', async () => {
    await server.write('{"method":"tools/call","params":{"name":"send_messages","arguments":{"messages":[{"payload":"');
    await writeFiller(server, 50 * MIB);
    await server.write('"}]}},"jsonrpc":"2.0","id":"big-1"}\n');
    const replies = await server.until('big-1');
    expect(replies).toEqual([{ jsonrpc: '2.0', id: 'big-1', error: { code: INVALID_REQUEST, message: expect.stringMatching(/message too large/) } }]);
    await server.expectAlive();
  }, 120_000);

  it.runIf(existsSync('/proc/self/status'))('does not hold an oversized line in memory', async () => {
    const { dir: ownDir, cleanup: ownCleanup } = tempDir();
    const own = await startServer(ownDir);
    try {
      const before = own.peakRssBytes();
      await writeFiller(own, 256 * MIB);
      expect(await own.answersTo('')).toMatchObject([{ id: null, error: { code: INVALID_REQUEST } }]);
      // Keeping the line would need all 256 MiB at least; skipping it needs the 48 MiB bound and change.
      expect(own.peakRssBytes() - before).toBeLessThan(160 * MIB);
      await own.expectAlive();
    } finally {
      expect(await own.stop()).toBe(0);
      ownCleanup();
    }
  }, 120_000);
});

describe('the stdio line reader, however the bytes are split', () => {
  // Small bound, so each way of splitting a line around it is cheap to try.
  const BOUND = 64;
  const input = [
    request({ id: 1, method: 'ping' }),
    `{"method":"tools/call","params":{"name":"x","arguments":{"p":"${'y'.repeat(BOUND)}"}},"jsonrpc":"2.0","id":2}`,
    request({ id: 3, method: 'ping', params: {} }),
    `{"jsonrpc":"2.0","id":"four","method":"tools/call","params":{"name":"x","arguments":{"p":"${'y'.repeat(BOUND)}"}}}`,
    `${'z'.repeat(BOUND * 3)}`,
    '',
    `${request({ id: 5, method: 'ping' })}\r`,
  ].join('\n') + '\n';

  async function feed(chunkSizes: (i: number) => number): Promise<{ delivered: JSONRPCMessage[]; answered: unknown[] }> {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const transport = new LineStdioTransport(stdin, stdout, BOUND);
    const delivered: JSONRPCMessage[] = [];
    transport.onmessage = (message) => delivered.push(message);
    await transport.start();
    const bytes = Buffer.from(input);
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const size = chunkSizes(i);
      stdin.write(bytes.subarray(at, at + size));
      at += size;
    }
    await new Promise((resolve) => setImmediate(resolve));
    await transport.close();
    const answered = String(stdout.read() ?? '').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));
    return { delivered, answered };
  }

  it.each([
    ['in one piece', () => 1 << 20],
    ['byte by byte', () => 1],
    ['in chunks of 7', () => 7],
    ['in chunks of 1 to 100 bytes', (i: number) => 1 + ((i * 37) % 100)],
  ])('%s: delivers the lines within the bound, answers the others with their ids', async (_how, sizes) => {
    const { delivered, answered } = await feed(sizes);
    expect(delivered.map((m) => (m as { id: unknown }).id)).toEqual([1, 3, 5]);
    expect(answered.map((a) => [(a as Reply).id, (a as Reply).error!.code])).toEqual([[2, INVALID_REQUEST], ['four', INVALID_REQUEST], [null, INVALID_REQUEST]]);
  });
});
