import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { sendMessage } from '../../src/mesh/messages.js';
import { rawDatabase } from '../helpers/database.js';
import { eventually, startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
let fleetId: string;
let planner: string, coder: string, tester: string;
let otherFleet: string, outsider: string;

beforeEach(async () => {
  h = await startHarness();
  ({ fleet_id: fleetId, agent_ids: [planner, coder, tester] } = await h.ok('spawn_fleet', {
    agents: [{ role: 'planner', prompt: 'plan' }, { role: 'coder', prompt: 'code' }, { role: 'tester', prompt: 'test' }],
  }));
  ({ fleet_id: otherFleet, agent_ids: [outsider] } = await h.ok('spawn_fleet', { agents: [{ role: 'solo', prompt: 'x' }] }));
});
afterEach(() => h.close());

const send = (from: string, to: string, payload: string, extra: Record<string, unknown> = {}) =>
  h.ok('send_message', { fleet_id: fleetId, from_agent_id: from, to_agent_id: to, type: 'handoff', payload, ...extra });
const inboxIds = async (agentId: string) => (await h.ok('get_inbox', { agent_id: agentId })).messages.map((m: { payload: string }) => m.payload);

describe('send_message and get_inbox', () => {
  it('delivers to the recipient only, in send order, in the old server\'s message shape', async () => {
    const { message_id } = await send(planner, coder, 'first', { correlation_id: 'thread-1' });
    await send(planner, coder, 'second');
    await send(planner, tester, 'for the tester');
    const { messages, has_more } = await h.ok('get_inbox', { agent_id: coder });
    expect(has_more).toBe(false);
    expect(messages.map((m: { payload: string }) => m.payload)).toEqual(['first', 'second']);
    expect(messages[0]).toMatchObject({
      id: message_id, fleet_id: fleetId, from_agent_id: planner, to_agent_id: coder, type: 'handoff',
      payload: 'first', correlation_id: 'thread-1', acknowledged: false,
    });
    expect(typeof messages[0].timestamp).toBe('number');
    expect(await inboxIds(planner)).toEqual([]);
  });

  it('a broadcast reaches every other agent, and each acknowledges only its own copy', async () => {
    const { message_id, recipients } = await send(planner, '*', 'standup');
    expect(recipients.sort()).toEqual([coder, tester].sort());
    expect(await h.ok('ack_message', { agent_id: coder, message_id })).toEqual({ ok: true, already_acknowledged: false });
    expect(await inboxIds(coder)).toEqual([]);
    expect(await inboxIds(tester)).toEqual(['standup']); // the coder's ack does not hide it from the tester
    expect(await inboxIds(planner)).toEqual([]); // not to the sender
    expect(await h.ok('ack_message', { agent_id: coder, message_id })).toEqual({ ok: true, already_acknowledged: true });
  });

  it('since keeps only messages sent strictly after it', async () => {
    await send(planner, coder, 'old');
    const [first] = (await h.ok('get_inbox', { agent_id: coder })).messages;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await send(planner, coder, 'new');
    const { messages } = await h.ok('get_inbox', { agent_id: coder, since: first.timestamp });
    expect(messages.map((m: { payload: string }) => m.payload)).toEqual(['new']);
  });

  it('keeps payload bytes exactly, up to 65,536 bytes of UTF-8', async () => {
    const exact = '😀'.repeat(16_384); // 4 bytes each
    await send(planner, coder, exact);
    await send(planner, coder, 'nul\u0000inside');
    const payloads = await inboxIds(coder);
    expect(payloads).toEqual([exact, 'nul\u0000inside']);
  });

  it('limit pages the inbox and has_more says more wait', async () => {
    for (let i = 0; i < 5; i++) await send(planner, coder, `m${i}`);
    const page = await h.ok('get_inbox', { agent_id: coder, limit: 2 });
    expect(page.messages.map((m: { payload: string }) => m.payload)).toEqual(['m0', 'm1']);
    expect(page.has_more).toBe(true);
  });
});

describe('bad messages are tool errors that say what to do, and deliver nothing', () => {
  it.each([
    ['an unknown type', { type: 'gossip' }, /type must be one of handoff, question, result, alert, request_help/],
    ['a payload over 64 KiB', { payload: 'é'.repeat(32_769) }, /payload is 65538 bytes of UTF-8; the limit is 65536/],
    ['an unknown fleet', { fleet_id: 'fleet-nope' }, /fleet_id: no fleet "fleet-nope"\. Use a fleet_id returned by spawn_fleet/],
    ['an unknown recipient', { to_agent_id: 'agent-nope' }, /to_agent_id: no agent "agent-nope"\. Use an agent id of fleet .* or "\*" for every other agent/],
    ['a recipient of another fleet', { to_agent_id: 'OUTSIDER' }, /to_agent_id: agent ".*" belongs to fleet ".*", not ".*"\. Messages stay within one fleet/],
    ['a sender of another fleet', { from_agent_id: 'OUTSIDER' }, /from_agent_id: agent ".*" belongs to fleet/],
    ['a missing payload', { payload: undefined }, /^Invalid arguments for send_message: payload is required\./],
  ])('%s', async (_, change, message) => {
    const args: Record<string, unknown> = { fleet_id: fleetId, from_agent_id: planner, to_agent_id: coder, type: 'handoff', payload: 'x', ...change };
    for (const [key, value] of Object.entries(args)) if (value === 'OUTSIDER') args[key] = outsider;
    expect(await h.fails('send_message', args)).toMatch(message);
    expect(await inboxIds(coder)).toEqual([]);
  });

  it('a broadcast in a fleet of one has nobody to reach', async () => {
    expect(await h.fails('send_message', { fleet_id: otherFleet, from_agent_id: outsider, to_agent_id: '*', type: 'alert', payload: 'hello?' }))
      .toMatch(/has no other agent to receive a broadcast/);
  });

  it('acknowledging a message that was not delivered to the agent', async () => {
    const { message_id } = await send(planner, coder, 'for the coder');
    expect(await h.fails('ack_message', { agent_id: tester, message_id })).toMatch(/was not delivered to agent/);
    expect(await h.fails('get_inbox', { agent_id: 'agent-nope' })).toMatch(/No agent "agent-nope"/);
  });
});

describe('send_messages', () => {
  it('sends a batch in one transaction and returns the ids in order', async () => {
    const messages = Array.from({ length: 500 }, (_, i) => ({
      fleet_id: fleetId, from_agent_id: planner, to_agent_id: i % 2 === 0 ? coder : tester, type: 'result', payload: `r${i}`,
    }));
    const { message_ids } = await h.ok('send_messages', { messages });
    expect(message_ids).toHaveLength(500);
    const coderInbox = (await h.ok('get_inbox', { agent_id: coder })).messages;
    expect(coderInbox).toHaveLength(250);
    expect(coderInbox[0].id).toBe(message_ids[0]);
    expect(coderInbox.map((m: { payload: string }) => m.payload).slice(0, 3)).toEqual(['r0', 'r2', 'r4']);
  });

  it('one bad message in the batch sends none, and the error names it', async () => {
    const messages = [
      { fleet_id: fleetId, from_agent_id: planner, to_agent_id: coder, type: 'handoff', payload: 'fine' },
      { fleet_id: fleetId, from_agent_id: planner, to_agent_id: 'agent-ghost', type: 'handoff', payload: 'bad' },
    ];
    expect(await h.fails('send_messages', { messages })).toMatch(/^messages\[1\]: to_agent_id: no agent "agent-ghost"/);
    expect(await inboxIds(coder)).toEqual([]);
  });

  it('refuses more than 10,000 messages', async () => {
    const one = { fleet_id: fleetId, from_agent_id: planner, to_agent_id: coder, type: 'handoff', payload: 'x' };
    expect(await h.fails('send_messages', { messages: Array.from({ length: 10_001 }, () => one) })).toMatch(/messages has 10001 items; the limit is 10000/);
  });
});

describe('wait_for_messages', () => {
  it('returns at once when the inbox holds something', async () => {
    await send(planner, coder, 'ready');
    const result = await h.ok('wait_for_messages', { agent_id: coder, timeout_ms: 5_000 });
    expect(result).toMatchObject({ timed_out: false, messages: [expect.objectContaining({ payload: 'ready' })] });
  });

  it('wakes when another connection to the database commits a message', async () => {
    const other = openStore(h.dbPath); // as another server process would
    try {
      const waiting = h.ok('wait_for_messages', { agent_id: coder, timeout_ms: 30_000 });
      // Send only once the server says the wait is pending: a message sent before would be found at once, proving nothing.
      await eventually(async () => expect((await h.ok('get_health')).waits_pending).toBe(1));
      sendMessage(other, { fleetId, fromAgentId: tester, toAgentId: coder, type: 'question', payload: 'from elsewhere' });
      const result = await waiting;
      // Ended by the message, not by the timeout: a wait that never woke would say timed_out: true.
      expect(result.timed_out).toBe(false);
      expect(result.messages.map((m: { payload: string }) => m.payload)).toEqual(['from elsewhere']);
      expect((await h.ok('get_health')).waits_pending).toBe(0);
    } finally {
      other.close();
    }
  });

  it('times out with an empty inbox', async () => {
    expect(await h.ok('wait_for_messages', { agent_id: coder, timeout_ms: 100 })).toEqual({ messages: [], has_more: false, timed_out: true });
    expect((await h.ok('get_health')).waits_pending).toBe(0);
    expect(await h.fails('wait_for_messages', { agent_id: coder, timeout_ms: 60_001 })).toMatch(/timeout_ms must be at most 60000/);
  });
});

describe('the events table', () => {
  it('records a batch as one event with its count', async () => {
    const one = { fleet_id: fleetId, from_agent_id: planner, to_agent_id: coder, type: 'handoff', payload: 'x' };
    await h.ok('send_messages', { messages: [one, one, one] });
    const events = rawDatabase(h.store.path).rows("SELECT fleet_id, data FROM events WHERE kind = 'messages_sent'");
    expect(events).toEqual([{ fleet_id: fleetId, data: JSON.stringify({ count: 3 }) }]);
  });
});
