// Agents on other machines: attached with runtime "remote", they join the hub over MCP
// Streamable HTTP with their own token and coordinate with agents the hub runs locally.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOOL_ACCESS } from '../../src/mcp/access.js';
import { queryDb } from '../helpers/database.js';
import { startTestHub, type HttpClient, type TestHub } from '../helpers/http-hub.js';
import { eventually, startHarness } from '../helpers/mesh.js';
import { packageRoot } from '../../src/store/package-root.js';

const REMOTE_AGENT = join(packageRoot, 'test', 'helpers', 'remote-agent.mjs');

let hub: TestHub;
let operator: HttpClient;
beforeEach(async () => {
  hub = await startTestHub();
  operator = await hub.connect(hub.operatorToken);
});
afterEach(async () => {
  await hub.close();
});

describe('a remote agent', () => {
  it('is attached without a process, with a token and the hub\'s MCP URL', async () => {
    const { fleet_id: fleetId } = await operator.ok('spawn_fleet', { agents: [{ role: 'planner', prompt: 'sleep:30000' }] });
    const attached = await operator.ok('attach_agent', { fleet_id: fleetId, role: 'reviewer', prompt: 'review', runtime: 'remote' });
    expect(attached).toMatchObject({ fleet_id: fleetId, role: 'reviewer', runtime: 'remote', mcp_url: hub.endpoint.mcpUrl });
    expect(attached.token).toMatch(/^mfa_/);
    const { agents } = await operator.ok('fleet_status', { fleet_id: fleetId });
    const remote = agents.find((a: { id: string }) => a.id === attached.agent_id);
    expect(remote).toMatchObject({ status: 'running', pid: null, runtime: 'remote', attempts: 1 });
    // Only the hash is stored.
    expect(queryDb<{ token_hash: string }>(hub.dbPath, 'SELECT token_hash FROM agents WHERE id = ?', attached.agent_id)[0]!.token_hash).not.toContain(attached.token);
  });

  it('sends, receives and acknowledges with a local agent over HTTP, from a process of its own, and the fleet completes', async () => {
    const gate = join(hub.dir, 'go');
    // The local agent hands its work to the next agent of the fleet once the gate opens: by then the remote one is attached.
    const { fleet_id: fleetId, agent_ids: [local] } = await operator.ok('spawn_fleet', { agents: [{ role: 'planner', prompt: `after:${gate} pipeline` }] });
    const remote = await operator.ok('attach_agent', { fleet_id: fleetId, role: 'reviewer', prompt: 'review', runtime: 'remote' });
    const child = spawn(process.execPath, [REMOTE_AGENT, remote.mcp_url, remote.token], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk) => { stderr += chunk; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    writeFileSync(gate, '');
    expect(await exited, stderr).toBe(0);

    const results = await eventually(async () => {
      const r = await operator.ok('collect_results', { fleet_id: fleetId });
      expect(r.status).toBe('complete');
      return r.results;
    }, 30_000);
    expect(results).toEqual([
      expect.objectContaining({ agent_id: local, status: 'complete', output: 'planner\n' }),
      expect.objectContaining({ agent_id: remote.agent_id, status: 'complete', output: 'remote done: planner' }),
    ]);
    // The local agent's handoff was acknowledged by the remote one; its answer waits in the local agent's inbox.
    expect(queryDb(hub.dbPath, 'SELECT acked FROM deliveries WHERE agent_id = ?', remote.agent_id)).toEqual([{ acked: 1 }]);
    const { messages } = await operator.ok('get_inbox', { agent_id: local });
    expect(messages).toEqual([expect.objectContaining({ from_agent_id: remote.agent_id, type: 'result', payload: 'remote got: planner' })]);
    // Its requests were its heartbeat.
    const [seen] = queryDb<{ last_seen_at: number; started_at: number }>(hub.dbPath, 'SELECT last_seen_at, started_at FROM agents WHERE id = ?', remote.agent_id);
    expect(seen!.last_seen_at).toBeGreaterThan(seen!.started_at);
  });

  it('is offered exactly the tools of its profile, and acts only as itself', async () => {
    const { fleet_id: fleetId } = await operator.ok('spawn_fleet', { agents: [{ role: 'planner', prompt: 'sleep:30000' }] });
    const worker = await operator.ok('attach_agent', { fleet_id: fleetId, role: 'reviewer', prompt: 'r', runtime: 'remote' });
    const lead = await operator.ok('attach_agent', { fleet_id: fleetId, role: 'lead', prompt: 'l', runtime: 'remote', profile: 'lead' });
    const all = Object.keys(TOOL_ACCESS).sort();
    const toolsOf = async (token: string) => (await (await hub.connect(token)).client.listTools()).tools.map((t) => t.name).sort();
    expect(await toolsOf(worker.token)).toEqual(all.filter((t) => TOOL_ACCESS[t]!.includes('worker')));
    expect(await toolsOf(lead.token)).toEqual(all.filter((t) => TOOL_ACCESS[t]!.includes('lead')));
    expect(await toolsOf(hub.operatorToken)).toEqual(all);

    const mine = await hub.connect(worker.token);
    expect(await mine.fails('spawn_fleet', { agents: [{ role: 'r', prompt: 'p' }] })).toMatch(/^spawn_fleet is not offered to worker agent/);
    expect(await mine.fails('get_inbox', { agent_id: lead.agent_id })).toMatch(/acts as agent ".*"; it cannot read the inbox as/);
    expect((await mine.ok('fleet_status', {})).fleet.id).toBe(fleetId);
  });

  it('that stays silent past its limit fails, and its token stops working', async () => {
    await hub.close();
    hub = await startTestHub({ remote: { silenceMs: 300, tickMs: 50 } });
    operator = await hub.connect(hub.operatorToken);
    const { fleet_id: fleetId } = await operator.ok('spawn_fleet', { agents: [{ role: 'planner', prompt: 'done' }] });
    const remote = await operator.ok('attach_agent', { fleet_id: fleetId, role: 'reviewer', prompt: 'r', runtime: 'remote' });
    const agent = await eventually(async () => {
      const { agents } = await operator.ok('fleet_status', { fleet_id: fleetId });
      const found = agents.find((a: { id: string }) => a.id === remote.agent_id);
      expect(found.status).toBe('failed');
      return found;
    });
    expect(agent.error).toMatch(/^stopped: the remote agent made no request for 300 ms/);
    const refused = await fetch(hub.endpoint.mcpUrl, { method: 'POST', headers: { authorization: `Bearer ${remote.token}` } });
    expect(refused.status).toBe(401);
    await eventually(async () => expect((await operator.ok('fleet_status', { fleet_id: fleetId })).fleet.status).toBe('failed'));
  });

  it('ends with finish_agent only once; a local agent cannot be finished that way', async () => {
    const { fleet_id: fleetId, agent_ids: [local] } = await operator.ok('spawn_fleet', { agents: [{ role: 'planner', prompt: 'sleep:30000' }] });
    const remote = await operator.ok('attach_agent', { fleet_id: fleetId, role: 'reviewer', prompt: 'r', runtime: 'remote' });
    expect(await operator.fails('finish_agent', { agent_id: local })).toMatch(/runs as a process the hub started/);
    const mine = await hub.connect(remote.token);
    expect(await mine.ok('finish_agent', { status: 'failed', error: 'gave up' })).toEqual({ agent_id: remote.agent_id, fleet_id: fleetId, status: 'failed' });
    expect(await operator.fails('finish_agent', { agent_id: remote.agent_id })).toMatch(/already ended: failed \(gave up\)/);
  });

  it('cannot be attached through a server no hub stands behind', async () => {
    const host = await startHarness();
    try {
      const { fleet_id: fleetId } = await host.ok('spawn_fleet', { agents: [{ role: 'planner', prompt: 'p' }] });
      expect(await host.fails('attach_agent', { fleet_id: fleetId, role: 'r', prompt: 'p', runtime: 'remote' }))
        .toMatch(/^No hub serves this database over HTTP.*nothing was attached\. Start one with `meshfleet hub/);
      expect((await host.ok('fleet_status', { fleet_id: fleetId })).agents).toHaveLength(1);
    } finally {
      await host.close();
    }
  });
});
