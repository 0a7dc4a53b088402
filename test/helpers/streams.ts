// Inbox stream servers for tests: a real database, a fleet of two, fetch as the client.
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { InboxPush, type PushOptions } from '../../src/mcp/push.js';
import { ChangeFeed } from '../../src/mesh/changes.js';
import { createFleet } from '../../src/mesh/fleets.js';
import { sendMessages } from '../../src/mesh/messages.js';
import { hashToken } from '../../src/mesh/tokens.js';
import { openStore, type Store } from '../../src/store/open.js';
import { rawDatabase } from './database.js';
import { tempDir } from './files.js';
import { startHarness, type Harness } from './mesh.js';

/** What a test opened; a file using these helpers runs them with afterEach(runCleanups). */
export const cleanups: (() => unknown)[] = [];
export async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export async function harness(config: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(config);
  cleanups.push(() => h.close());
  return h;
}

export interface Mesh { store: Store; changes: ChangeFeed; push: InboxPush; fleetId: string; a: string; b: string; port: number }

/** A stream server over a real database with a fleet of two agents, a and b. */
export async function mesh(options: PushOptions = {}): Promise<Mesh> {
  const temp = tempDir();
  const store = openStore(join(temp.dir, 'mesh.db'));
  const changes = new ChangeFeed(store);
  const push = new InboxPush(store, changes, options);
  cleanups.push(() => { store.close(); temp.cleanup(); }, () => changes.stop(), () => push.close());
  const { fleet, agents: [a, b] } = createFleet(store, [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'q' }]);
  const port = Number(new URL(await push.streamUrl(a!.id)).port);
  return { store, changes, push, fleetId: fleet.id, a: a!.id, b: b!.id, port };
}

export function send(m: Mesh, to: string, payloads: string[]): void {
  sendMessages(m.store, payloads.map((payload) => ({ fleetId: m.fleetId, fromAgentId: to === m.a ? m.b : m.a, toAgentId: to, type: 'handoff' as const, payload })));
  m.changes.notify();
}

export function giveToken(store: Store, agentId: string, token: string): void {
  rawDatabase(store.path).run('UPDATE agents SET token_hash = ? WHERE id = ?', hashToken(token), agentId);
}

/** Sends raw bytes; resolves with all the server answered once it closes the connection. */
export function raw(port: number, request: string): Promise<string> {
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
export async function open(url: string, headers: Record<string, string> = {}): Promise<{ response: Response; abort: () => void }> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  cleanups.push(abort);
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  return { response, abort };
}

export async function readUntil(response: Response, needle: string): Promise<string> {
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

/** Reads whole frames up to the one carrying `lastPayload`; returns each frame's id and payload. */
export async function readFrames(response: Response, lastPayload: string): Promise<{ id: string; payload: string }[]> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const frames: { id: string; payload: string }[] = [];
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ${lastPayload}: ${JSON.stringify(frames)}`);
    text += decoder.decode(value, { stream: true });
    for (let end = text.indexOf('\n\n'); end !== -1; end = text.indexOf('\n\n')) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const id = /^id: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (id === undefined || data === undefined) continue; // the retry line, keep-alives
      frames.push({ id, payload: JSON.parse(data).payload });
      if (frames.at(-1)!.payload === lastPayload) {
        reader.releaseLock();
        return frames;
      }
    }
  }
}

/** The stream still works: a message sent now arrives on it. */
export async function streamWorks(m: Mesh, payload: string): Promise<void> {
  const { response, abort } = await open(await m.push.streamUrl(m.b));
  expect(response.status).toBe(200);
  send(m, m.b, [payload]);
  expect(await readUntil(response, `"payload":"${payload}"`)).toContain(`"payload":"${payload}"`);
  abort();
}
