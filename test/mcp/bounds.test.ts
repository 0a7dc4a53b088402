// Bounds on what tools take and give: each case here was a way to break the server or lock a
// caller out before the limits existed.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_REPLY_BYTES } from '../../src/mesh/limits.js';
import { packageRoot } from '../../src/store/package-root.js';
import { rawDatabase } from '../helpers/database.js';
import { startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
let fleet_id: string, a: string, b: string;
beforeEach(async () => {
  h = await startHarness();
  ({ fleet_id, agent_ids: [a, b] } = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'a' }, { role: 'b', prompt: 'b' }] }));
});
afterEach(() => h.close());

const count = (table: string) => rawDatabase(h.store.path).value(`SELECT count(*) FROM ${table}`) as number;
const send = (extra: Record<string, unknown> = {}) => ({ fleet_id, from_agent_id: a, to_agent_id: b, type: 'result', payload: 'x', ...extra });

describe('inputs over their limit are refused, naming the field, the limit and the size', () => {
  it.each([
    ['an 11 MB correlation_id', 'send_message', () => send({ correlation_id: 'c'.repeat(11_000_000) }), /correlation_id is 11000000 characters; the limit is 128/],
    ['a 1 MB agent id', 'get_inbox', () => ({ agent_id: 'x'.repeat(1_000_000) }), /agent_id is 1000000 characters; the limit is 128/],
    ['a 10 MB synonym', 'set_synonyms', () => ({ term: 'db', synonyms: ['s'.repeat(10_000_000)] }), /synonyms\[0\]: a synonym is 10000000 characters; the limit is 64/],
    ['a 10 MB template description', 'save_fleet_template', () => ({ name: 't', description: 'd'.repeat(10_000_000), agents: [{ role: 'r', prompt: 'p' }] }), /description is 10000000 characters; the limit is 2000/],
    ['100,000 skills', 'register_capability', () => ({ agent_id: a, fleet_id, role: 'r', skills: Array.from({ length: 100_000 }, (_, i) => `s${i}`) }), /skills has 100000 items; the limit is 64/],
    ['a 10 MB role', 'attach_agent', () => ({ fleet_id, role: 'r'.repeat(10_000_000), prompt: 'p' }), /role is 10000000 characters; the limit is 200/],
    ['a prompt over 96 KiB', 'attach_agent', () => ({ fleet_id, role: 'r', prompt: 'é'.repeat(60_000) }), /prompt is 120000 bytes of UTF-8; the limit is 98304/],
    ['a role holding NUL', 'spawn_fleet', () => ({ agents: [{ role: 'a\u0000b', prompt: 'p' }] }), /agents\[0\]\.role holds a NUL character/],
    ['a prompt holding NUL', 'spawn_fleet', () => ({ agents: [{ role: 'r', prompt: 'a\u0000b' }] }), /agents\[0\]\.prompt holds a NUL character/],
    ['a premade agent name that is a path', 'attach_agent', () => ({ fleet_id, role: 'r', prompt: 'p', agent: '../../etc/passwd' }), /agent must be a premade agent stem/],
    ['a task description of 1 MB', 'route_work', () => ({ description: 'react '.repeat(200_000) }), /description is 1200000 characters; the limit is 4000/],
    ['top_n of a million', 'route_work', () => ({ description: 'react', top_n: 1_000_000 }), /top_n must be at most 100/],
  ])('%s', async (_, tool, args, message) => {
    const before = [count('agents'), count('messages'), count('capabilities'), count('synonyms'), count('templates'), count('events')];
    const error = await h.fails(tool, args());
    expect(error).toMatch(message);
    expect(error.length).toBeLessThan(1_100);
    expect([count('agents'), count('messages'), count('capabilities'), count('synonyms'), count('templates'), count('events')]).toEqual(before);
  });

  it('errors quote at most 100 characters of what they refuse', async () => {
    const long = `fleet-${'z'.repeat(120)}`;
    const error = await h.fails('send_message', send({ fleet_id: long }));
    expect(error).toContain('no fleet');
    expect(error).not.toContain('z'.repeat(101));
    for (const name of ['constructor', 'toString', '__proto__']) {
      expect(await h.fails(name, {})).toBe(`No tool "${name}". Call tools/list for the tools this server offers.`);
    }
    expect(await h.fails('nope'.repeat(100_000), {})).toMatch(/^No tool "(nope)+"… \(400000 characters\)\. Call tools\/list/);
  });

  it('text with a lone surrogate is refused, not stored altered', async () => {
    expect(await h.fails('send_message', send({ payload: 'LONE\ud83d' }))).toMatch(/^payload holds a lone UTF-16 surrogate/);
    expect(await h.fails('send_messages', { messages: [send(), send({ correlation_id: '\udc00' })] })).toMatch(/^messages\[1\]\.correlation_id holds a lone/);
    expect(await h.fails('set_skill_taxonomy', { taxonomy: { ['a\ud800']: [] } })).toMatch(/taxonomy\."a\\ud800" \(a key\) holds a lone/);
    expect(count('messages')).toBe(0);
    await h.ok('send_message', send({ payload: 'whole 😀' }));
    expect(rawDatabase(h.store.path).value('SELECT payload FROM messages')).toBe('whole 😀');
  });

  it('a missing argument is "required", and batch items say which one', async () => {
    expect(await h.fails('send_message', { fleet_id, from_agent_id: a, type: 'result', payload: 'x' })).toBe('Invalid arguments for send_message: to_agent_id is required.');
    expect(await h.fails('send_messages', { messages: [send(), { from_agent_id: a, to_agent_id: b, type: 'result', payload: 'x' }] }))
      .toMatch(/^messages\[1\]: fleet_id is required\./);
    expect(await h.fails('send_messages', { messages: [send(), send({ type: 'gossip' })] })).toMatch(/^Invalid arguments for send_messages: messages\[1\]: type must be one of/);
  });
});

describe('no call holds the write lock for long', () => {
  it('a batch may create at most 100,000 deliveries, and a fleet holds at most 64 agents', async () => {
    const { fleet_id: wide, agent_ids } = await h.ok('spawn_fleet', { agents: Array.from({ length: 64 }, (_, i) => ({ role: `r${i}`, prompt: 'p' })) });
    const broadcast = { fleet_id: wide, from_agent_id: agent_ids[0], to_agent_id: '*', type: 'alert', payload: 'all hands' };
    const before = count('messages');
    expect(await h.fails('send_messages', { messages: Array.from({ length: 1_600 }, () => broadcast) }))
      .toMatch(/^messages\[1587\]: the batch would deliver more than 100000 copies .* nothing was sent\. Split it/);
    expect(count('messages')).toBe(before);
    expect((await h.ok('send_messages', { messages: Array.from({ length: 1_587 }, () => broadcast) })).message_ids).toHaveLength(1_587);
    expect(count('deliveries')).toBe(1_587 * 63);
    expect(await h.fails('attach_agent', { fleet_id: wide, role: 'one more', prompt: 'p' })).toMatch(/already has 64 agents; a fleet holds at most 64/);
  });
});

describe('replies stay under the byte budget', () => {
  it('an inbox of large control-character payloads comes in pages a client accepts', async () => {
    const nasty = '\u0001'.repeat(65_536); // 6 bytes each once JSON-escaped
    for (let i = 0; i < 25; i++) await h.ok('send_message', send({ payload: nasty }));
    let seen = 0;
    for (;;) {
      const result = await h.client.callTool({ name: 'get_inbox', arguments: { agent_id: b } });
      const text = (result.content as { text: string }[])[0]!.text;
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_REPLY_BYTES);
      const page = JSON.parse(text);
      expect(page.messages.length).toBeGreaterThan(0);
      seen += page.messages.length;
      for (const m of page.messages) await h.ok('ack_message', { agent_id: b, message_id: m.id });
      if (!page.has_more) break;
    }
    expect(seen).toBe(25);
  });

  it('fleet_status of large outputs pages by agents', async () => {
    const big = 'o'.repeat(60_000);
    const { fleet_id: wide } = await h.ok('spawn_fleet', { agents: Array.from({ length: 64 }, (_, i) => ({ role: `r${i}`, prompt: 'p'.repeat(90_000) })) });
    rawDatabase(h.store.path).run('UPDATE agents SET output = ?, error = ? WHERE fleet_id = ?', big, big, wide);
    const ids: string[] = [];
    let pages = 0;
    for (let offset: number | null = 0; offset !== null; pages++) {
      const result = await h.client.callTool({ name: 'fleet_status', arguments: { fleet_id: wide, offset } });
      const text = (result.content as { text: string }[])[0]!.text;
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_REPLY_BYTES);
      const page = JSON.parse(text);
      ids.push(...page.agents.map((agent: { id: string }) => agent.id));
      offset = page.next_offset;
      expect(page.has_more).toBe(offset !== null);
    }
    expect(pages).toBeGreaterThan(1);
    expect(new Set(ids).size).toBe(64);
  }, 30_000);
});

describe('sends with an idempotency_key happen once', () => {
  it('repeating a call returns the first answer and stores nothing new', async () => {
    const first = await h.ok('send_messages', { messages: [send(), send({ payload: 'y' })], idempotency_key: 'batch-1' });
    const again = await h.ok('send_messages', { messages: [send(), send({ payload: 'y' })], idempotency_key: 'batch-1' });
    expect(again).toEqual({ message_ids: first.message_ids, replayed: true });
    expect(count('messages')).toBe(2);
    const one = await h.ok('send_message', { ...send(), idempotency_key: 'one-1' });
    expect(await h.ok('send_message', { ...send(), idempotency_key: 'one-1' })).toEqual({ ...one, replayed: true });
    expect(count('messages')).toBe(3);
    expect((await h.ok('get_inbox', { agent_id: b })).messages).toHaveLength(3);
  });

  it('the same key with other messages is refused and sends nothing', async () => {
    await h.ok('send_message', { ...send(), idempotency_key: 'k' });
    expect(await h.fails('send_message', { ...send({ payload: 'different' }), idempotency_key: 'k' })).toMatch(/idempotency_key "k" was used in fleet .* for a different send; nothing was sent/);
    expect(count('messages')).toBe(1);
  });

  it('keys are per fleet', async () => {
    const { fleet_id: other, agent_ids: [c, d] } = await h.ok('spawn_fleet', { agents: [{ role: 'c', prompt: 'c' }, { role: 'd', prompt: 'd' }] });
    await h.ok('send_message', { ...send(), idempotency_key: 'k' });
    const there = await h.ok('send_message', { fleet_id: other, from_agent_id: c, to_agent_id: d, type: 'result', payload: 'x', idempotency_key: 'k' });
    expect(there.replayed).toBeUndefined();
    expect(count('messages')).toBe(2);
  });
});

describe('lock contention', () => {
  it('a write blocked past the busy timeout is a retryable answer, not a crash', async () => {
    const contended = await startHarness({}, { dir: h.dir, dbPath: h.dbPath }, { busyTimeoutMs: 200 });
    try {
      const holder = spawn(process.execPath, [join(packageRoot, 'test', 'helpers', 'hold-lock-child.mjs'), h.dbPath], { stdio: ['pipe', 'pipe', 'inherit'] });
      await once(holder.stdout!, 'data');
      expect(await contended.fails('send_message', send())).toBe('The database is locked by another process (it held the write lock past the busy timeout); nothing was changed. Retry the call in a moment.');
      holder.stdin!.end();
      await once(holder, 'exit');
      await contended.ok('send_message', send());
      expect(count('messages')).toBe(1);
    } finally {
      await contended.close();
    }
  }, 30_000);
});
