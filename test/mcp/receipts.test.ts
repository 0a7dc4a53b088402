// receipt / get_receipts: what each agent did with a message, idempotent, own fleet only; legacy
// v2 receipts read the same way.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawDatabase } from '../helpers/database.js';
import { FIXTURES, runCli } from '../helpers/files.js';
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

const send = async (from: string, to: string, payload: string): Promise<string> =>
  (await h.ok('send_message', { fleet_id: fleetId, from_agent_id: from, to_agent_id: to, type: 'handoff', payload })).message_id;

describe('receipts', () => {
  it('records each action once per agent, oldest first; repeating returns the first receipt unchanged', async () => {
    const id = await send(lead, '*', 'build the release');
    const seen = await h.ok('receipt', { agent_id: coder, message_id: id, action: 'seen' });
    expect(seen).toMatchObject({ message_id: id, agent_id: coder, action: 'seen', note: null, already_recorded: false });
    await h.ok('receipt', { agent_id: tester, message_id: id, action: 'seen' });
    await h.ok('receipt', { agent_id: coder, message_id: id, action: 'started', note: 'on it' });
    const again = await h.ok('receipt', { agent_id: coder, message_id: id, action: 'seen', note: 'a different note' });
    expect(again).toEqual({ ...seen, already_recorded: true });
    await h.ok('ack_message', { agent_id: coder, message_id: id });
    const { receipts, has_more } = await h.ok('get_receipts', { message_id: id });
    expect(has_more).toBe(false);
    type Row = { agent_id: string; action: string; recorded_at: number; note: string | null };
    expect(receipts.map((r: Row) => `${r.agent_id}:${r.action}`).sort()).toEqual([`${coder}:seen`, `${coder}:started`, `${tester}:seen`].sort());
    // Oldest first; receipts of the same millisecond by agent, then action.
    const key = (r: Row) => `${String(r.recorded_at).padStart(16, '0')}|${r.agent_id}|${r.action}`;
    expect(receipts.map(key)).toEqual(receipts.map(key).sort());
    expect(receipts.find((r: Row) => r.action === 'started').note).toBe('on it');
    expect(rawDatabase(h.dbPath).value('SELECT count(*) FROM message_receipts WHERE message_id = ? AND fleet_id = ?', id, fleetId)).toBe(3);
  });

  it('refuses what it cannot record, and records nothing', async () => {
    const id = await send(lead, coder, 'x');
    expect(await h.fails('receipt', { agent_id: coder, message_id: id, action: 'ack' })).toContain('Call ack_message');
    expect(await h.fails('receipt', { agent_id: coder, message_id: id, action: 'x'.repeat(33) })).toContain('action is 33 characters; the limit is 32');
    expect(await h.fails('receipt', { agent_id: coder, message_id: id, action: '\u0000bad' })).toContain('must be 1 to 32 characters');
    expect(await h.fails('receipt', { agent_id: coder, message_id: id, action: 'done', note: 'n'.repeat(2_001) })).toContain('note is 2001 characters; the limit is 2000');
    expect(await h.fails('receipt', { agent_id: coder, message_id: 'msg-missing', action: 'done' })).toContain('No message "msg-missing"');
    expect(await h.fails('receipt', { agent_id: outsider, message_id: id, action: 'done' })).toContain(`No message "${id}" in fleet "${otherFleet}"`);
    expect(await h.fails('receipt', { message_id: id, action: 'done' })).toContain('agent_id is required');
    expect(rawDatabase(h.dbPath).value('SELECT count(*) FROM receipts')).toBe(0);
  });

  it('an agent records as itself and reads receipts of its own fleet only', async () => {
    const id = await send(lead, coder, 'ours');
    const theirs = (await h.ok('send_message', { fleet_id: otherFleet, from_agent_id: outsider, to_agent_id: '*', type: 'handoff', payload: 'theirs' })).message_id;
    const agent = await startAgentServer(h, coder);
    try {
      expect(await agent.ok('receipt', { message_id: id, action: 'done' })).toMatchObject({ agent_id: coder, action: 'done' });
      expect(await agent.fails('receipt', { message_id: id, action: 'done', agent_id: tester })).toContain(`cannot record receipts as "${tester}"`);
      expect(await agent.fails('receipt', { message_id: theirs, action: 'seen' })).toContain(`No message "${theirs}" in fleet "${fleetId}"`);
      expect(await agent.fails('get_receipts', { message_id: theirs })).toContain(`No message "${theirs}" in fleet "${fleetId}"`);
      expect((await agent.ok('get_receipts', { message_id: id })).receipts).toHaveLength(1);
    } finally {
      await agent.close();
    }
  });

  it('pages a long list of receipts', async () => {
    const id = await send(lead, coder, 'x');
    for (let i = 0; i < 5; i++) await h.ok('receipt', { agent_id: coder, message_id: id, action: `step-${i}` });
    const first = await h.ok('get_receipts', { message_id: id, limit: 3 });
    expect(first).toMatchObject({ has_more: true, next_offset: 3 });
    const rest = await h.ok('get_receipts', { message_id: id, offset: 3, limit: 3 });
    expect(rest.has_more).toBe(false);
    expect([...first.receipts, ...rest.receipts].map((r: { action: string }) => r.action).sort()).toEqual(['step-0', 'step-1', 'step-2', 'step-3', 'step-4']);
  });
});

describe('legacy receipts', () => {
  it('v2 receipts imported by meshfleet migrate read through get_receipts', async () => {
    expect(runCli(['migrate', join(FIXTURES, 'ledger-v2.json'), '--db', h.dbPath]).code).toBe(0);
    const { receipts } = await h.ok('get_receipts', { message_id: 'v-plan' });
    expect(receipts).toEqual([
      { message_id: 'v-plan', agent_id: 'r-rev', action: 'seen', note: null, recorded_at: 1721000110000 },
      { message_id: 'v-plan', agent_id: 'r-test', action: 'ack', note: 'yes', recorded_at: 1721000120000 },
    ]);
    // New receipts join them; the imported ones are left as they were.
    expect(await h.ok('receipt', { agent_id: 'r-rev', message_id: 'v-plan', action: 'seen' })).toMatchObject({ already_recorded: true, recorded_at: 1721000110000 });
  });
});
