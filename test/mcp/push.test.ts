import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
afterEach(() => h.close());

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('subscribe_inbox', () => {
  it('serves the stream on MESHFLEET_SSE_PORT and pushes a message sent after connecting', async () => {
    const port = await freePort();
    h = await startHarness({ push: { port } });
    const { fleet_id, agent_ids: [a, b] } = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'q' }] });
    const { stream_url, agent_id } = await h.ok('subscribe_inbox', { agent_id: b });
    expect(agent_id).toBe(b);
    expect(stream_url).toBe(`http://127.0.0.1:${port}/inbox/${b}`);
    const controller = new AbortController();
    const response = await fetch(stream_url, { signal: controller.signal });
    const reader = response.body!.getReader();
    await h.ok('send_message', { fleet_id, from_agent_id: a, to_agent_id: b, type: 'handoff', payload: 'live' });
    let text = '';
    while (!text.includes('"payload":"live"')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/id: \d+\nevent: message\ndata: \{.*"payload":"live".*\}\n\n/);
    controller.abort();
  });

  it('says so when the configured port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      h = await startHarness({ push: { port } });
      const { agent_ids: [a] } = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }] });
      expect(await h.fails('subscribe_inbox', { agent_id: a })).toMatch(new RegExp(`Port ${port} \\(MESHFLEET_SSE_PORT\\) is taken.*Unset MESHFLEET_SSE_PORT`));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('refuses an unknown agent, and the stream answers 404 for one', async () => {
    h = await startHarness();
    expect(await h.fails('subscribe_inbox', { agent_id: 'agent-nope' })).toMatch(/No agent "agent-nope"/);
    const { agent_ids: [a] } = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }] });
    const { stream_url } = await h.ok('subscribe_inbox', { agent_id: a });
    const response = await fetch(stream_url.replace(/inbox\/.*$/, 'inbox/agent-nope'));
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'No agent "agent-nope".' });
  });
});
