// An agent's own server: who it acts as, what it offers by profile, and what it refuses.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOOL_ACCESS } from '../../src/mcp/access.js';
import { rawDatabase } from '../helpers/database.js';
import { startAgentServer, startHarness, type Harness } from '../helpers/mesh.js';

let host: Harness;
let fleetId: string, worker: string, lead: string, otherFleet: string, stranger: string;
const open: Harness[] = [];

beforeEach(async () => {
  host = await startHarness();
  ({ fleet_id: fleetId, agent_ids: [worker, lead] } = await host.ok('spawn_fleet', {
    agents: [{ role: 'coder', prompt: 'c' }, { role: 'planner', prompt: 'p', profile: 'lead' }],
  }));
  ({ fleet_id: otherFleet, agent_ids: [stranger] } = await host.ok('spawn_fleet', { agents: [{ role: 'coder', prompt: 'other' }] }));
  await host.ok('register_capability', { agent_id: stranger, fleet_id: otherFleet, role: 'coder', skills: ['react'] });
  await host.ok('register_capability', { agent_id: worker, fleet_id: fleetId, role: 'coder', skills: ['css'] });
  await host.ok('save_fleet_template', { name: 'pair', agents: [{ role: 'a', prompt: 'b' }] });
});
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
  await host.close();
});

/** The server an agent's host launches, with the agent's id and its own token. */
async function ownServer(agentId: string): Promise<Harness> {
  const h = await startAgentServer(host, agentId);
  open.push(h);
  return h;
}

const toolNames = async (h: Harness) => (await h.client.listTools()).tools.map((t) => t.name).sort();
const rowCount = (table: string) => rawDatabase(host.store.path).value(`SELECT count(*) FROM ${table}`);

describe('each caller is offered the tools of its profile', () => {
  it('the operator gets every tool; a worker and a lead get exactly what the table gives them', async () => {
    const all = Object.keys(TOOL_ACCESS).sort();
    expect(await toolNames(host)).toEqual(all);
    expect(await toolNames(await ownServer(worker))).toEqual(all.filter((t) => TOOL_ACCESS[t]!.includes('worker')));
    const leadTools = await toolNames(await ownServer(lead));
    expect(leadTools).toEqual(all.filter((t) => TOOL_ACCESS[t]!.includes('lead')));
    expect(leadTools).toEqual(expect.arrayContaining(['attach_agent', 'set_fleet_timeout', 'record_routing_outcome']));
    expect(leadTools).not.toContain('spawn_fleet');
  });

  it('a tool that is not offered is refused with who may use it', async () => {
    const mine = await ownServer(worker);
    expect(await mine.fails('set_fleet_timeout', { fleet_id: otherFleet, timeout_ms: 1 }))
      .toMatch(/^set_fleet_timeout is not offered to worker agent ".*": it is for the operator .* and agents spawned with profile "lead"\. Ask the operator to spawn this agent with profile "lead"/);
    expect(await mine.fails('delete_fleet_template', { name: 'pair' })).toMatch(/it is for the operator only/);
    expect(await mine.fails('no_such_tool', {})).toBe('No tool "no_such_tool". Call tools/list for the tools this server offers.');
    expect((await host.ok('fleet_status', { fleet_id: otherFleet })).fleet.timeout_ms).toBeNull();
  });
});

describe('an agent stays inside its own fleet', () => {
  it('a worker cannot touch another fleet, the taxonomy, the synonyms or the templates', async () => {
    const mine = await ownServer(worker);
    const events = rowCount('events');
    for (const [tool, args] of [
      ['set_fleet_timeout', { fleet_id: otherFleet, timeout_ms: 1 }],
      ['attach_agent', { fleet_id: otherFleet, role: 'spy', prompt: 'x' }],
      ['delete_fleet_template', { name: 'pair' }],
      ['set_skill_taxonomy', { taxonomy: {} }],
      ['set_synonyms', { term: 'react', synonyms: ['vue'] }],
      ['record_routing_outcome', { agent_id: stranger, capability_key: 'react', success: false }],
      ['spawn_fleet', { agents: [{ role: 'r', prompt: 'p' }] }],
      ['list_fleets', {}],
    ] as const) {
      expect(await mine.fails(tool, args), tool).toMatch(/is not offered to worker agent/);
    }
    expect(rowCount('events')).toBe(events);
    expect((await host.ok('get_skill_taxonomy')).nodes).toBeGreaterThan(0);
    expect((await host.ok('list_fleet_templates')).templates.map((t: { name: string }) => t.name)).toEqual(['pair']);
  });

  it('reads only its own fleet\'s status and results', async () => {
    const mine = await ownServer(worker);
    expect((await mine.ok('fleet_status', {})).fleet.id).toBe(fleetId);
    expect((await mine.ok('collect_results', {})).fleet_id).toBe(fleetId);
    expect(await mine.fails('fleet_status', { fleet_id: otherFleet })).toMatch(/cannot read the status of fleet ".*"\. Leave out fleet_id/);
    expect(await mine.fails('collect_results', { fleet_id: otherFleet })).toMatch(/cannot collect the results of fleet/);
  });

  it('route_work ranks only agents of its own fleet', async () => {
    const mine = await ownServer(worker);
    expect((await host.ok('route_work', { description: 'react work' })).matches.map((m: { agent_id: string }) => m.agent_id)).toEqual([stranger]);
    // Its own css agent reaches react work only as a sibling (both under frontend); the stranger never.
    expect((await mine.ok('route_work', { description: 'react work', top_n: 5 })).matches.map((m: { agent_id: string }) => m.agent_id)).toEqual([worker]);
    expect(await mine.fails('route_work', { description: 'react work', fleet_id: otherFleet })).toMatch(/cannot route work in fleet/);
    expect((await mine.ok('route_work', { description: 'css work' })).matches.map((m: { agent_id: string }) => m.agent_id)).toEqual([worker]);
  });

  it('sends only within its fleet, as itself', async () => {
    const mine = await ownServer(worker);
    expect(await mine.fails('send_message', { fleet_id: otherFleet, to_agent_id: stranger, type: 'alert', payload: 'x' })).toMatch(/cannot send in fleet/);
    expect(await mine.fails('send_messages', { messages: [
      { to_agent_id: lead, type: 'alert', payload: 'ok' },
      { fleet_id: otherFleet, to_agent_id: stranger, type: 'alert', payload: 'x' },
    ] })).toMatch(/^messages\[1\]: This server acts as agent .* cannot send in fleet/);
    expect(rowCount('messages')).toBe(0);
  });
});

describe('a lead runs its own fleet, and only that', () => {
  it('sets its fleet\'s timeout, attaches agents to it and records their outcomes', async () => {
    const mine = await ownServer(lead);
    expect(await mine.ok('set_fleet_timeout', { timeout_ms: 600_000 })).toMatchObject({ fleet_id: fleetId, timeout_ms: 600_000 });
    const attached = await mine.ok('attach_agent', { role: 'helper', prompt: 'help' });
    expect(attached.fleet_id).toBe(fleetId);
    expect(await mine.ok('record_routing_outcome', { agent_id: worker, capability_key: 'css', success: true })).toMatchObject({ successes: 1 });
  });

  it('cannot do any of that to another fleet', async () => {
    const mine = await ownServer(lead);
    expect(await mine.fails('set_fleet_timeout', { fleet_id: otherFleet, timeout_ms: 1 })).toMatch(/cannot set the timeout of fleet/);
    expect(await mine.fails('attach_agent', { fleet_id: otherFleet, role: 'spy', prompt: 'x' })).toMatch(/cannot attach agents to fleet/);
    expect(await mine.fails('record_routing_outcome', { agent_id: stranger, capability_key: 'react', success: false })).toMatch(/is not in this agent's fleet/);
    expect((await host.ok('fleet_status', { fleet_id: otherFleet })).agents).toHaveLength(1);
    expect(rowCount('routing_outcomes')).toBe(0);
  });
});

describe('an agent\'s server proves who it is', () => {
  it('takes no operator token: with one in its environment, it still opens no other agent\'s stream', async () => {
    const mine = await startAgentServer(host, worker, { push: { token: 'chosen-by-the-agent' } });
    open.push(mine);
    const { stream_url } = await mine.ok('subscribe_inbox', {});
    const otherStream = new URL(stream_url);
    otherStream.pathname = `/inbox/${encodeURIComponent(lead)}`;
    otherStream.search = '';
    const response = await fetch(otherStream, { headers: { authorization: 'Bearer chosen-by-the-agent', accept: 'text/event-stream' } });
    expect(response.status).toBe(403);
    await response.body?.cancel();
  });

  it('refuses to act as an agent without that agent\'s token', async () => {
    await ownServer(worker); // gives the worker a token
    await expect(startHarness({ agentId: worker }, { dir: host.dir, dbPath: host.dbPath })).rejects.toThrow(/MESHFLEET_AGENT_TOKEN is missing/);
    await expect(startHarness({ agentId: worker, agentToken: `test-token-of-${lead}` }, { dir: host.dir, dbPath: host.dbPath }))
      .rejects.toThrow(/MESHFLEET_AGENT_TOKEN is not the token of agent/);
  });
});

describe('an agent\'s own server acts as that agent', () => {
  it('fills in its own ids, so a worker\'s prompt needs none', async () => {
    const mine = await ownServer(worker);
    const { recipients } = await mine.ok('send_message', { to_agent_id: lead, type: 'question', payload: 'ready?' });
    expect(recipients).toEqual([lead]);
    const [sent] = (await host.ok('get_inbox', { agent_id: lead })).messages;
    expect(sent).toMatchObject({ from_agent_id: worker, fleet_id: fleetId, payload: 'ready?' });

    await host.ok('send_message', { fleet_id: fleetId, from_agent_id: lead, to_agent_id: worker, type: 'result', payload: 'yes' });
    const { messages } = await mine.ok('get_inbox');
    expect(messages.map((m: { payload: string }) => m.payload)).toEqual(['yes']);
    expect(await mine.ok('ack_message', { message_id: messages[0].id })).toEqual({ ok: true, already_acknowledged: false });
    expect(await mine.ok('register_capability', { role: 'coder', skills: ['go'] })).toMatchObject({ agent_id: worker, fleet_id: fleetId });
  });

  it('refuses to send, read or acknowledge as another agent', async () => {
    const mine = await ownServer(worker);
    expect(await mine.fails('send_message', { from_agent_id: lead, to_agent_id: worker, type: 'alert', payload: 'spoof' }))
      .toBe(`This server acts as agent "${worker}"; it cannot send as "${lead}". Leave out from_agent_id: it defaults to this agent.`);
    expect(await mine.fails('get_inbox', { agent_id: lead })).toMatch(/cannot read the inbox as/);
    expect(await mine.fails('wait_for_messages', { agent_id: lead, timeout_ms: 10 })).toMatch(/cannot read the inbox as/);
    expect(await mine.fails('ack_message', { agent_id: lead, message_id: 'msg-x' })).toMatch(/cannot acknowledge as/);
    expect(await mine.fails('send_messages', { messages: [{ from_agent_id: lead, to_agent_id: worker, type: 'alert', payload: 'spoof' }] })).toMatch(/cannot send as/);
    expect(await mine.fails('register_capability', { agent_id: lead, role: 'x', skills: [] })).toMatch(/cannot register capabilities as/);
    expect((await host.ok('get_inbox', { agent_id: worker })).messages).toEqual([]);
  });

  it('the host\'s server keeps full access, and asks for the ids', async () => {
    expect(await host.fails('send_message', { to_agent_id: lead, type: 'alert', payload: 'x' })).toMatch(/^fleet_id is required\./);
    expect(await host.fails('send_message', { fleet_id: fleetId, to_agent_id: lead, type: 'alert', payload: 'x' })).toMatch(/^from_agent_id is required\./);
    expect(await host.fails('get_inbox', {})).toMatch(/^agent_id is required\./);
    await host.ok('send_message', { fleet_id: fleetId, from_agent_id: lead, to_agent_id: worker, type: 'alert', payload: 'as anyone' });
  });

  it('a server told to act as an agent that does not exist will not start', async () => {
    await expect(startHarness({ agentId: 'agent-ghost' }, { dir: host.dir, dbPath: host.dbPath })).rejects.toThrow(/MESHFLEET_AGENT_ID is "agent-ghost", but .* has no such agent/);
  });
});
