// `meshfleet hub` serves MCP over HTTP on its --listen address, recorded in its lease: an
// operator token from the CLI spawns a fleet there, and a remote agent gets the hub's own URL.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startNode } from '../helpers/children.js';
import { databasePerTest } from '../helpers/database.js';
import { CLI, runCliAsync } from '../helpers/files.js';
import { connectHost, endHubsOf, fleetSettles, hostEnv, liveHub } from '../helpers/hub.js';
import { connectHttp, type HttpClient } from '../helpers/http-hub.js';
import { eventually } from '../helpers/mesh.js';

let dir: string;
let dbPath: string;
databasePerTest((paths) => ({ dir, db: dbPath } = paths));
let client: HttpClient | undefined;
beforeEach(() => { client = undefined; });
afterEach(async () => {
  await client?.close().catch(() => undefined);
  await endHubsOf(dbPath);
});

it('serves the tools at /mcp on the address its lease names, to an operator token made by the CLI', async () => {
  const hub = startNode([CLI, 'hub', '--db', dbPath, '--listen', '127.0.0.1:0'], hostEnv(dir));
  const lease = await eventually(async () => {
    const l = await liveHub(dbPath);
    expect(l.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    return l;
  }, 20_000).catch((err: unknown) => { throw new Error(`${String(err)}\nhub stderr: ${hub.stderr()}`); });
  const created = await runCliAsync(['token', 'create', '--operator', '--db', dbPath]);
  expect(created.code).toBe(0);
  client = await connectHttp(`http://${lease.listen}/mcp`, created.stdout.trim());

  const { fleet_id: fleetId } = await client.ok('spawn_fleet', { agents: [{ role: 'planner', prompt: 'done' }] });
  expect(await fleetSettles(dbPath, fleetId)).toBe('complete');
  const remote = await client.ok('attach_agent', { fleet_id: fleetId, role: 'reviewer', prompt: 'r', runtime: 'remote' });
  expect(remote.mcp_url).toBe(`http://${lease.listen}/mcp`);
  const asRemote = await connectHttp(remote.mcp_url, remote.token);
  expect((await asRemote.ok('fleet_status')).fleet.id).toBe(fleetId);
  await asRemote.close();
});

it('gives a stdio host\'s remote agent the URL of the hub it started', async () => {
  const host = await connectHost(dbPath, hostEnv(dir));
  try {
    const { fleet_id: fleetId } = await host.call('spawn_fleet', { agents: [{ role: 'planner', prompt: 'sleep:20000' }] });
    const lease = await eventually(async () => {
      const l = await liveHub(dbPath);
      expect(l.listen).toMatch(/^127\.0\.0\.1:\d+$/);
      return l;
    }, 20_000);
    const remote = await host.call('attach_agent', { fleet_id: fleetId, role: 'reviewer', prompt: 'r', runtime: 'remote' });
    expect(remote.mcp_url).toBe(`http://${lease.listen}/mcp`);
    client = await connectHttp(remote.mcp_url, remote.token);
    expect((await client.ok('fleet_status')).agents.map((a: { role: string }) => a.role)).toEqual(['planner', 'reviewer']);
  } finally {
    await host.close();
  }
});
