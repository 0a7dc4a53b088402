// The inbox stream server faces anyone who can reach its port: no request may end the process.
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers/files.js';
import { eventually } from '../helpers/mesh.js';
import { cleanups, mesh, open, raw, runCleanups, send, streamWorks } from '../helpers/streams.js';

afterEach(runCleanups);

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
      env: { PATH: process.env.PATH ?? '', HOME: temp.dir, MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'sleep 30', MESHFLEET_NO_HUB: '1' },
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
  });

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
  });

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
  });

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
  }, 90_000); // two waits of up to 30 s each, and the assertions after them
});
