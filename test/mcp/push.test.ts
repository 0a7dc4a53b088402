import { OutgoingMessage } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InboxPush } from '../../src/mcp/push.js';
import { eventually } from '../helpers/mesh.js';
import { cleanups, freePort, giveToken, harness, mesh, open, readFrames, readUntil, runCleanups, send } from '../helpers/streams.js';

afterEach(runCleanups);

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

describe('resuming and leaving a stream', () => {
  it('resumes after the last frame seen, by Last-Event-ID or &after=: exactly the messages after it', async () => {
    const m = await mesh();
    send(m, m.a, ['m1', 'm2', 'm3', 'm4', 'm5']);
    const url = await m.push.streamUrl(m.a);
    const first = await open(url);
    const seen = await readFrames(first.response, 'm3'); // a client that saw three of five, then lost the connection
    first.abort();
    expect(seen.map((f) => f.payload)).toEqual(['m1', 'm2', 'm3']);
    const lastSeen = seen[2]!.id;

    const byHeader = await open(url, { 'last-event-id': lastSeen });
    const byQuery = await open(`${url}&after=${lastSeen}`);
    // A message after the reconnect closes what each stream sends, so "exactly" needs no waiting.
    send(m, m.a, ['m6']);
    for (const { response } of [byHeader, byQuery]) {
      expect(response.status).toBe(200);
      const frames = await readFrames(response, 'm6');
      expect(frames.map((f) => f.payload)).toEqual(['m4', 'm5', 'm6']);
      expect(Number(frames[0]!.id)).toBeGreaterThan(Number(lastSeen));
    }
  });

  it('lets go of a stream whose client disconnects: no stream left, no listener, nothing written for new messages', async () => {
    const m = await mesh();
    // Count the streams' subscriptions to the change feed, and the calls they get.
    let subscribed = 0;
    let calls = 0;
    const subscribe = m.changes.subscribe.bind(m.changes);
    m.changes.subscribe = (listener) => {
      subscribed += 1;
      const unsubscribe = subscribe(() => { calls += 1; listener(); });
      return () => { subscribed -= 1; unsubscribe(); };
    };
    const { response, abort } = await open(await m.push.streamUrl(m.a));
    send(m, m.a, ['before']);
    expect(await readUntil(response, '"payload":"before"')).toContain('"payload":"before"');
    expect(m.push.stats().streams).toBe(1);
    expect(subscribed).toBe(1);

    abort();
    await eventually(() => expect(m.push.stats().streams).toBe(0));
    expect(subscribed).toBe(0);
    const writes = vi.spyOn(OutgoingMessage.prototype, 'write');
    cleanups.push(() => writes.mockRestore());
    const callsBefore = calls;
    send(m, m.a, ['after']); // notify() runs the feed's listeners synchronously: a leftover one would run, and write, now
    expect(calls).toBe(callsBefore);
    expect(writes).not.toHaveBeenCalled();
  });
});
