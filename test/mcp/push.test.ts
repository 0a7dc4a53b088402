import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { InboxPush, type PushOptions } from '../../src/mcp/push.js';
import { ChangeFeed } from '../../src/mesh/changes.js';
import { createFleet } from '../../src/mesh/fleets.js';
import { sendMessages } from '../../src/mesh/messages.js';
import { hashToken } from '../../src/mesh/tokens.js';
import { openStore, type Store } from '../../src/store/open.js';
import { rawDatabase } from '../helpers/database.js';
import { CLI, tempDir } from '../helpers/files.js';
import { eventually, startHarness, type Harness } from '../helpers/mesh.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function harness(config: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(config);
  cleanups.push(() => h.close());
  return h;
}

interface Mesh { store: Store; changes: ChangeFeed; push: InboxPush; fleetId: string; a: string; b: string; port: number }

/** A stream server over a real database with a fleet of two agents, a and b. */
async function mesh(options: PushOptions = {}): Promise<Mesh> {
  const temp = tempDir();
  const store = openStore(join(temp.dir, 'mesh.db'));
  const changes = new ChangeFeed(store);
  const push = new InboxPush(store, changes, options);
  cleanups.push(() => { store.close(); temp.cleanup(); }, () => changes.stop(), () => push.close());
  const { fleet, agents: [a, b] } = createFleet(store, [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'q' }]);
  const port = Number(new URL(await push.streamUrl(a!.id)).port);
  return { store, changes, push, fleetId: fleet.id, a: a!.id, b: b!.id, port };
}

function send(m: Mesh, to: string, payloads: string[]): void {
  sendMessages(m.store, payloads.map((payload) => ({ fleetId: m.fleetId, fromAgentId: to === m.a ? m.b : m.a, toAgentId: to, type: 'handoff' as const, payload })));
  m.changes.notify();
}

function giveToken(store: Store, agentId: string, token: string): void {
  rawDatabase(store.path).run('UPDATE agents SET token_hash = ? WHERE id = ?', hashToken(token), agentId);
}

/** Sends raw bytes; resolves with all the server answered once it closes the connection. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => { answer += chunk; });
    socket.on('error', () => undefined); // a reset is one of the answers a hostile request may get
    socket.on('close', () => resolve(answer));
  });
}

/** Opens a stream; the caller's abort() closes it. */
async function open(url: string, headers: Record<string, string> = {}): Promise<{ response: Response; abort: () => void }> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  cleanups.push(abort);
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  return { response, abort };
}

async function readUntil(response: Response, needle: string): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes(needle)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ${needle}: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

/** The stream still works: a message sent now arrives on it. */
async function streamWorks(m: Mesh, payload: string): Promise<void> {
  const { response, abort } = await open(await m.push.streamUrl(m.b));
  expect(response.status).toBe(200);
  send(m, m.b, [payload]);
  expect(await readUntil(response, `"payload":"${payload}"`)).toContain(`"payload":"${payload}"`);
  abort();
}

describe('subscribe_inbox', () => {
  it('serves the stream on MESHFLEET_SSE_PORT and pushes a message sent after connecting', async () => {
    const port = await freePort();
    const h = await harness({ push: { port } });
    const { fleet_id, agent_ids: [a, b] } = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'q' }] });
    const { stream_url, agent_id } = await h.ok('subscribe_inbox', { agent_id: b });
    expect(agent_id).toBe(b);
    expect(stream_url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/inbox/${b}\\?key=[\\w-]{43}$`));
    const { response, abort } = await open(stream_url);
    await h.ok('send_message', { fleet_id, from_agent_id: a, to_agent_id: b, type: 'handoff', payload: 'live' });
    expect(await readUntil(response, '"payload":"live"')).toMatch(/id: \d+\nevent: message\ndata: \{.*"payload":"live".*\}\n\n/);
    abort();
  });

  it('says so when the configured port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const { port } = blocker.address() as AddressInfo;
    const h = await harness({ push: { port } });
    const { agent_ids: [a] } = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }] });
    expect(await h.fails('subscribe_inbox', { agent_id: a })).toMatch(new RegExp(`Port ${port} \\(MESHFLEET_SSE_PORT\\) is taken.*Unset MESHFLEET_SSE_PORT`));
  });

  it('refuses an unknown agent, and the stream answers 404 for one to the operator', async () => {
    const h = await harness({ push: { token: 'op-secret' } });
    expect(await h.fails('subscribe_inbox', { agent_id: 'agent-nope' })).toMatch(/No agent "agent-nope"/);
    const { agent_ids: [a] } = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }] });
    const { stream_url } = await h.ok('subscribe_inbox', { agent_id: a });
    const nope = stream_url.replace(/inbox\/.*$/, 'inbox/agent-nope');
    expect((await fetch(nope)).status).toBe(401);
    const response = await fetch(nope, { headers: { authorization: 'Bearer op-secret' } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'No agent "agent-nope".' });
  });

  it('tells the model the URL carries its key', async () => {
    const h = await harness();
    const { agent_ids: [a] } = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }] });
    const { instructions } = await h.ok('subscribe_inbox', { agent_id: a });
    expect(instructions).toMatch(/stream_url as given.*its key opens this agent's stream only/);
    expect(instructions).toContain('Authorization: Bearer <your MESHFLEET_AGENT_TOKEN>');
  });
});

describe('inbox streams under hostile HTTP', () => {
  it('answers a bad percent-encoding with 400 and goes on serving', async () => {
    const m = await mesh();
    const answer = await raw(m.port, 'GET /inbox/%ZZ HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('{"error":"Bad percent-encoding in \\"/inbox/%ZZ\\"."}');
    await streamWorks(m, 'after bad encoding');
  });

  it('leaves the `meshfleet serve` process running and answering after hostile requests', async () => {
    const temp = tempDir();
    cleanups.push(() => temp.cleanup());
    const client = new Client({ name: 'hostile-test', version: '0.0.0' });
    await client.connect(new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'serve', '--db', join(temp.dir, 'mesh.db')],
      env: { PATH: process.env.PATH ?? '', HOME: temp.dir, MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'sleep 30' },
      stderr: 'pipe',
    }));
    cleanups.push(() => client.close());
    const call = async (name: string, args: Record<string, unknown> = {}) =>
      JSON.parse((((await client.callTool({ name, arguments: args })).content) as { text: string }[])[0]!.text);
    const { agent_ids: [a] } = await call('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }] });
    const { stream_url } = await call('subscribe_inbox', { agent_id: a });
    const port = Number(new URL(stream_url).port);

    expect(await raw(port, 'GET /inbox/%ZZ HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(port, 'DELETE /inbox/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 405 /);
    expect(await raw(port, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    await raw(port, `GET /inbox/${a} HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`);

    expect(await call('ping')).toMatchObject({ status: 'ok' });
    const { response, abort } = await open(stream_url);
    expect(response.status).toBe(200);
    abort();
  }, 30_000);

  it('answers 404 elsewhere, quoting at most 100 characters of the path', async () => {
    const m = await mesh();
    const response = await fetch(`http://127.0.0.1:${m.port}/${'x'.repeat(5_000)}`);
    expect(response.status).toBe(404);
    const { error } = await response.json() as { error: string };
    expect(error).toMatch(/^Nothing at "\/x{99}"… \(5001 characters\): streams are at GET \/inbox\/<agent_id>\.$/);
    expect((await fetch(`http://127.0.0.1:${m.port}/inbox/${m.a}/more`)).status).toBe(404);
  });

  it('answers 405 with Allow to other methods, and 400 to a request with a body', async () => {
    const m = await mesh();
    const url = await m.push.streamUrl(m.a);
    const post = await fetch(url, { method: 'POST', body: 'hello' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect(await post.json()).toEqual({ error: '"POST" is not allowed: streams are read with GET.' });
    const answer = await raw(m.port, `GET ${new URL(url).pathname}${new URL(url).search} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 [^]*A stream request has no body/);
    await streamWorks(m, 'after odd methods');
  });

  it('answers 20 KB of headers with 431 or a closed connection, and lives', async () => {
    const m = await mesh();
    const answer = await raw(m.port, `GET /inbox/${m.a} HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`);
    if (answer !== '') expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    await streamWorks(m, 'after big headers');
  });

  it('closes a connection that never sends a request', async () => {
    const m = await mesh({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 300 } });
    const answer = await raw(m.port, ''); // resolves only once the server closes it
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    await streamWorks(m, 'after an idle client');
  }, 30_000);

  it('lives through 2,000 connections opened at once and dropped', async () => {
    const m = await mesh();
    const sockets: Socket[] = [];
    await Promise.all(Array.from({ length: 2_000 }, (_, i) => new Promise<void>((resolve) => {
      const socket = connect(m.port, '127.0.0.1', () => {
        // Half of them start a request and never finish it.
        if (i % 2 === 0) socket.write(`GET /inbox/${m.a} HTTP/1.1\r\nHost: x\r\n`);
        resolve();
      });
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      sockets.push(socket);
    })));
    for (const socket of sockets) socket.destroy();
    await eventually(() => streamWorks(m, 'after the flood'), 30_000);
  }, 60_000);

  it('drops a client that stops reading, holding no more than a frame or so for it', async () => {
    const m = await mesh({ limits: { stalledMs: 2_000 } });
    const payload = 'z'.repeat(60_000);
    for (let i = 0; i < 3; i += 1) send(m, m.a, Array.from({ length: 200 }, () => payload));
    const total = 600 * payload.length;

    const url = new URL(await m.push.streamUrl(m.a));
    const socket = connect(m.port, '127.0.0.1');
    socket.pause(); // reads nothing until the server has given up on it
    socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: x\r\n\r\n`);
    let peakBuffered = 0;
    await eventually(() => {
      const stats = m.push.stats();
      peakBuffered = Math.max(peakBuffered, stats.bufferedBytes);
      expect(stats.blocked).toBe(1);
    }, 30_000);
    await eventually(() => {
      const stats = m.push.stats();
      peakBuffered = Math.max(peakBuffered, stats.bufferedBytes);
      expect(stats.streams).toBe(0);
    }, 30_000);
    // Our send buffer's high-water mark (16 KiB) plus the one frame that crossed it, not the 36 MB waiting.
    expect(peakBuffered).toBeLessThan(256 * 1024);

    let received = 0;
    const ended = new Promise<string>((resolve) => {
      socket.on('data', (chunk: Buffer) => { received += chunk.length; });
      socket.on('end', () => resolve('server closed the stream'));
      socket.on('error', () => resolve('server closed the stream'));
    });
    socket.resume();
    expect(await ended).toBe('server closed the stream');
    expect(received).toBeLessThan(total);
    socket.destroy();
    await streamWorks(m, 'after the slow reader');
  }, 60_000);
});

describe('who may read a stream', () => {
  it('needs a credential, and another agent\'s is not one', async () => {
    const m = await mesh();
    giveToken(m.store, m.a, 'token-of-a');
    giveToken(m.store, m.b, 'token-of-b');
    const bare = `http://127.0.0.1:${m.port}/inbox/${m.b}`;

    const none = await fetch(bare);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(((await none.json()) as { error: string }).error).toMatch(/needs the key its stream_url from subscribe_inbox carries/);

    const withA = await fetch(bare, { headers: { authorization: 'Bearer token-of-a' } });
    expect(withA.status).toBe(403);
    expect(await withA.json()).toEqual({ error: `The key or token given does not open the stream of agent "${m.b}".` });

    const keyOfA = new URL(await m.push.streamUrl(m.a)).searchParams.get('key');
    expect((await fetch(`${bare}?key=${keyOfA}`)).status).toBe(403);
    expect((await fetch(`${bare}?key=guess`)).status).toBe(403);

    send(m, m.b, ['for b']);
    for (const [url, headers] of [[bare, { authorization: 'Bearer token-of-b' }], [await m.push.streamUrl(m.b), {}]] as const) {
      const { response, abort } = await open(url, headers);
      expect(response.status).toBe(200);
      expect(await readUntil(response, '"payload":"for b"')).toContain(`"to_agent_id":"${m.b}"`);
      abort();
    }
  });

  it('lets the operator token read any stream, from the header only', async () => {
    const m = await mesh({ token: 'op-secret' });
    for (const agent of [m.a, m.b]) {
      const { response, abort } = await open(`http://127.0.0.1:${m.port}/inbox/${agent}`, { authorization: 'Bearer op-secret' });
      expect(response.status).toBe(200);
      abort();
    }
    const inQuery = await fetch(`http://127.0.0.1:${m.port}/inbox/${m.a}?token=op-secret`);
    expect(inQuery.status).toBe(401);
    expect(((await inQuery.json()) as { error: string }).error).toContain('?token= is not accepted');
    expect((await fetch(`http://127.0.0.1:${m.port}/inbox/${m.a}`, { headers: { authorization: 'Bearer op-secreT' } })).status).toBe(403);
  });

  it('takes a key only from the server process that issued it', async () => {
    const m = await mesh();
    const other = new InboxPush(m.store, m.changes);
    cleanups.push(() => other.close());
    const foreign = new URL(await other.streamUrl(m.a));
    expect((await fetch(`http://127.0.0.1:${m.port}${foreign.pathname}${foreign.search}`)).status).toBe(403);
  });
});

describe('stream caps', () => {
  it('answers the fifth stream of one agent 429, and opens one again when another closes', async () => {
    const m = await mesh();
    const url = await m.push.streamUrl(m.a);
    const streams = [];
    for (let i = 0; i < 4; i += 1) {
      const stream = await open(url);
      expect(stream.response.status).toBe(200);
      streams.push(stream);
    }
    const fifth = await fetch(url);
    expect(fifth.status).toBe(429);
    expect(await fifth.json()).toEqual({ error: `Agent "${m.a}" has 4 streams open, the limit; close one first.` });
    const forB = await open(await m.push.streamUrl(m.b));
    expect(forB.response.status).toBe(200);

    streams[0]!.abort();
    await eventually(() => expect(m.push.stats().streams).toBe(4));
    const again = await open(url);
    expect(again.response.status).toBe(200);
  });

  it('answers 503 past the server\'s stream limit', async () => {
    const m = await mesh({ limits: { maxStreams: 2 } });
    expect((await open(await m.push.streamUrl(m.a))).response.status).toBe(200);
    expect((await open(await m.push.streamUrl(m.b))).response.status).toBe(200);
    const third = await fetch(await m.push.streamUrl(m.a));
    expect(third.status).toBe(503);
    expect(await third.json()).toEqual({ error: 'This server has 2 streams open, its limit.' });
  });
});
