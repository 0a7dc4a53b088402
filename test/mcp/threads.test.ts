// Threads: subjects, replies joining their thread, get_thread in send order, get_inbox by thread.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawDatabase } from '../helpers/database.js';
import { startAgentServer, startHarness, threeAgentsAndAnOutsider, type Harness } from '../helpers/mesh.js';

let h: Harness;
let fleetId: string;
let lead: string, coder: string, tester: string;
let otherFleet: string, outsider: string;

beforeEach(async () => {
  h = await startHarness();
  ({ fleetId, lead, coder, tester, otherFleet, outsider } = await threeAgentsAndAnOutsider(h));
});
afterEach(() => h.close());

const send = async (from: string, to: string, payload: string, extra: Record<string, unknown> = {}): Promise<string> =>
  (await h.ok('send_message', { fleet_id: fleetId, from_agent_id: from, to_agent_id: to, type: 'handoff', payload, ...extra })).message_id;
const payloads = (messages: { payload: string }[]) => messages.map((m) => m.payload);

describe('threads', () => {
  it('a reply joins the thread of the message it names, replies to replies too, in send order', async () => {
    const root = await send(lead, coder, 'fix the login bug', { subject: 'Login bug' });
    await send(lead, tester, 'unrelated');
    const reply = await send(coder, lead, 'which browser?', { correlation_id: root });
    await send(lead, coder, 'firefox', { correlation_id: reply });
    await send(tester, lead, 'I can reproduce', { correlation_id: root, subject: 'Re: Login bug' });
    const byMessage = await h.ok('get_thread', { message_id: reply });
    expect(byMessage.thread_id).toBe(root);
    expect(byMessage.subject).toBe('Login bug');
    expect(payloads(byMessage.messages)).toEqual(['fix the login bug', 'which browser?', 'firefox', 'I can reproduce']);
    expect(byMessage.messages.map((m: { subject: string | null }) => m.subject)).toEqual(['Login bug', null, null, 'Re: Login bug']);
    expect(byMessage.messages.every((m: { thread_id: string }) => m.thread_id === root)).toBe(true);
    const seqs = byMessage.messages.map((m: { seq: number }) => m.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(await h.ok('get_thread', { thread_id: root })).toEqual(byMessage);
    // A message without replies is a thread of one.
    expect(payloads((await h.ok('get_thread', { thread_id: await send(lead, coder, 'alone') })).messages)).toEqual(['alone']);
  });

  it('a correlation id that names no message groups its messages as before', async () => {
    await send(lead, coder, 'step 1', { correlation_id: 'task-42' });
    await send(coder, lead, 'step 2', { correlation_id: 'task-42' });
    const thread = await h.ok('get_thread', { thread_id: 'task-42' });
    expect(thread.thread_id).toBe('task-42');
    expect(payloads(thread.messages)).toEqual(['step 1', 'step 2']);
  });

  it('pages by after/next_after without losing or repeating a message', async () => {
    const root = await send(lead, coder, 'm0');
    for (let i = 1; i < 7; i++) await send(i % 2 ? coder : lead, i % 2 ? lead : coder, `m${i}`, { correlation_id: root });
    const seen: string[] = [];
    let after: number | undefined;
    for (;;) {
      const page = await h.ok('get_thread', { message_id: root, limit: 3, ...(after === undefined ? {} : { after }) });
      seen.push(...payloads(page.messages));
      if (!page.has_more) break;
      after = page.next_after;
    }
    expect(seen).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
  });

  it('send_messages threads a reply to a message earlier in the same batch', async () => {
    const root = await send(lead, coder, 'root');
    const { message_ids: [a] } = await h.ok('send_messages', { messages: [
      { fleet_id: fleetId, from_agent_id: coder, to_agent_id: lead, type: 'result', payload: 'a', correlation_id: root, subject: 'batch' },
    ] });
    await h.ok('send_messages', { messages: [
      { fleet_id: fleetId, from_agent_id: lead, to_agent_id: coder, type: 'result', payload: 'b', correlation_id: a },
    ] });
    expect(payloads((await h.ok('get_thread', { message_id: root })).messages)).toEqual(['root', 'a', 'b']);
  });

  it('get_inbox filters by thread and keeps the rest pending', async () => {
    const root = await send(lead, coder, 'task A', { subject: 'A' });
    await send(lead, coder, 'task B');
    await send(lead, coder, 'more on A', { correlation_id: root });
    const filtered = await h.ok('get_inbox', { agent_id: coder, thread_id: root });
    expect(payloads(filtered.messages)).toEqual(['task A', 'more on A']);
    expect(filtered.messages[0]).toMatchObject({ subject: 'A', thread_id: root });
    expect(payloads((await h.ok('get_inbox', { agent_id: coder, thread_id: root, limit: 1 })).messages)).toEqual(['task A']);
    await h.ok('ack_message', { agent_id: coder, message_id: root });
    expect(payloads((await h.ok('get_inbox', { agent_id: coder, thread_id: root })).messages)).toEqual(['more on A']);
    expect(payloads((await h.ok('get_inbox', { agent_id: coder })).messages)).toEqual(['task B', 'more on A']);
    expect(await h.fails('get_inbox', { agent_id: coder, thread_id: 'no-such-thread' })).toContain('No message or thread "no-such-thread"');
  });

  it('refuses a subject over 200 characters, and stores nothing', async () => {
    expect(await h.fails('send_message', { fleet_id: fleetId, from_agent_id: lead, to_agent_id: coder, type: 'handoff', payload: 'x', subject: 's'.repeat(201) }))
      .toContain('subject is 201 characters; the limit is 200');
    expect(rawDatabase(h.dbPath).value('SELECT count(*) FROM messages')).toBe(0);
  });

  it('an agent reads threads of its own fleet only', async () => {
    const root = await send(lead, coder, 'ours');
    const theirs = (await h.ok('send_message', { fleet_id: otherFleet, from_agent_id: outsider, to_agent_id: '*', type: 'handoff', payload: 'theirs' })).message_id;
    const agent = await startAgentServer(h, coder);
    try {
      expect(payloads((await agent.ok('get_thread', { message_id: root })).messages)).toEqual(['ours']);
      expect(await agent.fails('get_thread', { message_id: theirs })).toContain(`No message or thread "${theirs}" in fleet "${fleetId}"`);
      expect(await agent.fails('get_thread', { message_id: theirs, fleet_id: otherFleet })).toContain('cannot read threads in fleet');
    } finally {
      await agent.close();
    }
  });

  it('the threads view shows each thread with its subject and size', async () => {
    const root = await send(lead, coder, 'x', { subject: 'Plan' });
    await send(coder, lead, 'y', { correlation_id: root });
    expect(rawDatabase(h.dbPath).rows('SELECT thread_id, subject, messages FROM threads WHERE fleet_id = ?', fleetId))
      .toEqual([{ thread_id: root, subject: 'Plan', messages: 2 }]);
  });
});
