import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAgentServer, startHarness, type Harness } from '../helpers/mesh.js';

let host: Harness;
let fleet_id: string, me: string, peer: string;
const open: Harness[] = [];
beforeEach(async () => {
  host = await startHarness();
  ({ fleet_id, agent_ids: [me, peer] } = await host.ok('spawn_fleet', { agents: [{ role: 'coder', prompt: 'c' }, { role: 'tester', prompt: 't' }] }));
});
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
  await host.close();
});

/** The server an agent's host launches: MESHFLEET_AGENT_ID set, same database. */
async function ownServer(agentId: string): Promise<Harness> {
  const h = await startAgentServer(host, agentId);
  open.push(h);
  return h;
}

describe('an agent\'s own server acts as that agent', () => {
  it('fills in its own ids, so a worker\'s prompt needs none', async () => {
    const mine = await ownServer(me);
    const { recipients } = await mine.ok('send_message', { to_agent_id: peer, type: 'question', payload: 'ready?' });
    expect(recipients).toEqual([peer]);
    const [sent] = (await host.ok('get_inbox', { agent_id: peer })).messages;
    expect(sent).toMatchObject({ from_agent_id: me, fleet_id, payload: 'ready?' });

    await host.ok('send_message', { fleet_id, from_agent_id: peer, to_agent_id: me, type: 'result', payload: 'yes' });
    const { messages } = await mine.ok('get_inbox');
    expect(messages.map((m: { payload: string }) => m.payload)).toEqual(['yes']);
    expect(await mine.ok('ack_message', { message_id: messages[0].id })).toEqual({ ok: true, already_acknowledged: false });
    expect(await mine.ok('register_capability', { role: 'coder', skills: ['go'] })).toMatchObject({ agent_id: me, fleet_id });
  });

  it('refuses to send, read or acknowledge as another agent', async () => {
    const mine = await ownServer(me);
    expect(await mine.fails('send_message', { from_agent_id: peer, to_agent_id: me, type: 'alert', payload: 'spoof' }))
      .toBe(`This server acts as agent "${me}"; it cannot send as "${peer}". Leave out from_agent_id: it defaults to this agent.`);
    expect(await mine.fails('get_inbox', { agent_id: peer })).toMatch(/cannot read the inbox as/);
    expect(await mine.fails('wait_for_messages', { agent_id: peer, timeout_ms: 10 })).toMatch(/cannot read the inbox as/);
    expect(await mine.fails('ack_message', { agent_id: peer, message_id: 'msg-x' })).toMatch(/cannot acknowledge as/);
    expect(await mine.fails('send_messages', { messages: [{ from_agent_id: peer, to_agent_id: me, type: 'alert', payload: 'spoof' }] })).toMatch(/cannot send as/);
    expect(await mine.fails('register_capability', { agent_id: peer, role: 'x', skills: [] })).toMatch(/cannot register capabilities as/);
    expect((await host.ok('get_inbox', { agent_id: me })).messages).toEqual([]);
  });

  it('the host\'s server keeps full access, and asks for the ids', async () => {
    expect(await host.fails('send_message', { to_agent_id: peer, type: 'alert', payload: 'x' })).toMatch(/^fleet_id is required\./);
    expect(await host.fails('send_message', { fleet_id, to_agent_id: peer, type: 'alert', payload: 'x' })).toMatch(/^from_agent_id is required\./);
    expect(await host.fails('get_inbox', {})).toMatch(/^agent_id is required\./);
    await host.ok('send_message', { fleet_id, from_agent_id: peer, to_agent_id: me, type: 'alert', payload: 'as anyone' });
  });

  it('a server told to act as an agent that does not exist will not start', async () => {
    await expect(startHarness({ agentId: 'agent-ghost' }, { dir: host.dir, dbPath: host.dbPath })).rejects.toThrow(/MESHFLEET_AGENT_ID is "agent-ghost", but .* has no such agent/);
  });
});
