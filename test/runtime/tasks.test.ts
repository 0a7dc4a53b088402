// The task board with real processes: agents' own `meshfleet serve` processes racing for claims,
// agents killed while they hold one, and a whole fleet of test agents working a plan in order.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/mesh/tokens.js';
import { rawDatabase } from '../helpers/database.js';
import { CLI } from '../helpers/files.js';
import { eventually, startHarness, type Harness } from '../helpers/mesh.js';
import { fleetTimeoutIn, RuntimeFixtures, settled, TEST_AGENT } from '../helpers/runtime.js';

const fixtures = new RuntimeFixtures();
const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  await fixtures.endAll();
});

type Call = (name: string, args?: Record<string, unknown>) => Promise<{ isError: boolean; json: any }>;

/**
 * A `meshfleet serve` process, as a host runs it: `env` says who it acts for. It owns the agents
 * it spawns (--no-hub), so that killing it orphans them: these tests are about claims of agents
 * whose server dies. (With a hub, agents outlive the server, and so do their claims.)
 */
async function serveProcess(dbPath: string, env: Record<string, string> = {}): Promise<{ call: Call; pid: number }> {
  const transport = new StdioClientTransport({
    command: process.execPath, args: [CLI, 'serve', '--db', dbPath],
    env: { PATH: process.env.PATH ?? '', MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: TEST_AGENT, MESHFLEET_NO_HUB: '1', ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'agent-host', version: '0' });
  await client.connect(transport);
  clients.push(client);
  return {
    pid: transport.pid!,
    call: async (name, args = {}) => {
      const r = await client.callTool({ name, arguments: args });
      return { isError: r.isError === true, json: JSON.parse((r.content as { text: string }[])[0]!.text) };
    },
  };
}

/** Agents that stay running (a sleep), each with its own serve process acting as it. */
async function sleepingAgents(count: number): Promise<{ host: Harness; fleetId: string; agents: { id: string; call: Call }[] }> {
  const host = await startHarness({ runtime: { runtime: 'command', agentCommand: 'sleep 120', dbPath: '' } });
  const { fleet_id: fleetId, agent_ids: ids } = await host.ok('spawn_fleet', {
    agents: Array.from({ length: count }, (_, i) => ({ role: `worker-${i}`, prompt: 'w' })),
  });
  await eventually(async () => expect((await host.ok('fleet_status', { fleet_id: fleetId })).agents.map((a: { status: string }) => a.status))
    .toEqual(ids.map(() => 'running')), 30_000);
  const agents = [];
  for (const id of ids as string[]) {
    // As a launch would: the token is handed to the agent's environment, its hash stored.
    rawDatabase(host.dbPath).run('UPDATE agents SET token_hash = ? WHERE id = ?', hashToken(`token-${id}`), id);
    const { call } = await serveProcess(host.dbPath, { MESHFLEET_AGENT_ID: id, MESHFLEET_AGENT_TOKEN: `token-${id}` });
    agents.push({ id, call });
  }
  closeLater(host);
  return { host, fleetId, agents };
}

const hosts: Harness[] = [];
function closeLater(h: Harness): void {
  hosts.push(h);
}
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});

describe('two agents in two server processes', () => {
  it('claiming the same ready tasks at the same moment: exactly one wins each, the other is told who holds it', async () => {
    const { host, fleetId, agents: [a, b] } = await sleepingAgents(2);
    const { tasks } = await host.ok('create_tasks', { fleet_id: fleetId, tasks: Array.from({ length: 20 }, (_, i) => ({ title: `T${i}`, description: 'd' })) });
    const winners: string[] = [];
    for (const { task_id } of tasks) {
      const [ra, rb] = await Promise.all([a!.call('claim_task', { task_id }), b!.call('claim_task', { task_id })]);
      expect([ra.isError, rb.isError].sort()).toEqual([false, true]);
      const [won, lost] = ra.isError ? [rb, ra] : [ra, rb];
      expect(lost.json.error).toContain(`is claimed by agent "${won.json.agent_id}"`);
      winners.push(won.json.agent_id);
    }
    const held = rawDatabase(host.dbPath).rows<{ task_id: string; agent_id: string }>('SELECT task_id, agent_id FROM task_claims');
    expect(held).toHaveLength(20);
    expect(new Map(held.map((c) => [c.task_id, c.agent_id]))).toEqual(new Map(tasks.map((t: { task_id: string }, i: number) => [t.task_id, winners[i]])));
  });

  it('next_task in both at once never hands one task to two agents', async () => {
    const { host, fleetId, agents: [a, b] } = await sleepingAgents(2);
    await host.ok('create_tasks', { fleet_id: fleetId, tasks: Array.from({ length: 30 }, (_, i) => ({ title: `T${i}`, description: 'd' })) });
    const take = async (agent: { call: Call }) => {
      const got: string[] = [];
      for (;;) {
        const { json } = await agent.call('next_task');
        if (json.task === null) return got;
        got.push(json.task.id);
      }
    };
    const [byA, byB] = await Promise.all([take(a!), take(b!)]);
    expect(byA.length + byB.length).toBe(30);
    expect(new Set([...byA, ...byB]).size).toBe(30);
    expect(rawDatabase(host.dbPath).value("SELECT count(*) FROM tasks WHERE status = 'claimed'")).toBe(30);
  });
});

describe('a claim outlives no agent', () => {
  it.each([
    ['killed with SIGKILL', /^the agent is failed: .*SIGKILL/],
    ['stopped by its fleet\'s timeout', /^the agent is failed: stopped: the fleet's timeout of \d+ ms passed/],
  ])('an agent %s: its claim returns to the board with the reason, and another agent takes it', async (how, reason) => {
    const h = await fixtures.harness({ maxAttempts: 1 });
    const marker = join(h.dir, 'claimed');
    const { fleet_id, agent_ids: [holder] } = await h.ok('spawn_fleet', { agents: [{ role: 'holder', prompt: `claim-and-hang:${marker}` }] });
    const { task_id } = await h.ok('create_task', { fleet_id, title: 'Hold me', description: 'd' });
    await eventually(() => expect(existsSync(marker)).toBe(true), 30_000);
    expect(readFileSync(marker, 'utf8').trim()).toBe(task_id);
    expect((await h.ok('get_task', { task_id })).claimed_by).toBe(holder);

    if (how === 'killed with SIGKILL') {
      const { agents: [agent] } = await h.ok('fleet_status', { fleet_id });
      process.kill(-agent.pid, 'SIGKILL'); // its process group: the command runtime's shell and the agent under it
    } else {
      await h.ok('set_fleet_timeout', { fleet_id, timeout_ms: await fleetTimeoutIn(h, fleet_id, 500) });
    }
    const returned = await eventually(async () => {
      const task = await h.ok('get_task', { task_id });
      expect(task).toMatchObject({ status: 'open', ready: true, claimed_by: null });
      return rawDatabase(h.dbPath).row<{ agent_id: string; data: string }>("SELECT agent_id, data FROM events WHERE kind = 'task_claim_returned'");
    }, 30_000);
    expect(returned!.agent_id).toBe(holder);
    expect(JSON.parse(returned!.data).reason).toMatch(reason);
    expect((await h.ok('fleet_status', { fleet_id })).agents[0].status).toBe('failed');

    await h.ok('set_fleet_timeout', { fleet_id, timeout_ms: 3_600_000 }); // so that the next agent may run
    const { agent_id: next } = await h.ok('attach_agent', { fleet_id, role: 'next', prompt: `claim-and-hang:${marker}-2` });
    await eventually(() => expect(existsSync(`${marker}-2`)).toBe(true), 30_000);
    expect((await h.ok('get_task', { task_id })).claimed_by).toBe(next);
  });

  it('an agent whose server died: the server that takes it over returns its claim in the same step', async () => {
    const rescuer = await fixtures.harness({ reclaimEveryMs: 100, recovery: 'interrupt' });
    const doomed = await serveProcess(rescuer.dbPath);
    const marker = join(rescuer.dir, 'claimed');
    const { json: { fleet_id } } = await doomed.call('spawn_fleet', { agents: [{ role: 'holder', prompt: `claim-and-hang:${marker}` }] });
    const { task_id } = await rescuer.ok('create_task', { fleet_id, title: 'Hold me', description: 'd' });
    await eventually(() => expect(existsSync(marker)).toBe(true), 30_000);
    process.kill(doomed.pid, 'SIGKILL');

    await eventually(async () => expect(await rescuer.ok('get_task', { task_id })).toMatchObject({ status: 'open', claimed_by: null }), 30_000);
    const kinds = rawDatabase(rescuer.dbPath).values<string>(
      "SELECT kind FROM events WHERE kind IN ('supervisor_reclaimed', 'task_claim_returned') ORDER BY id");
    expect(kinds).toEqual(['task_claim_returned', 'supervisor_reclaimed']);
    const reason = JSON.parse(rawDatabase(rescuer.dbPath).value<string>("SELECT data FROM events WHERE kind = 'task_claim_returned'")).reason;
    expect(reason).toBe(`its supervising server (pid ${doomed.pid}) its process is gone`);
  });
});

/** The plan a lead puts on the board: a chain, a fork, a task of its own, and one that joins them. */
function writePlan(dir: string): string {
  const plan = join(dir, 'plan.json');
  writeFileSync(plan, JSON.stringify([
    { ref: 'schema', title: 'schema', description: 'tables', skills: ['sql'] },
    { ref: 'api', title: 'api', description: 'endpoints', skills: ['python'], depends_on: ['schema'] },
    { ref: 'ui', title: 'ui', description: 'forms', skills: ['react'], depends_on: ['api'] },
    { ref: 'styles', title: 'styles', description: 'looks', skills: ['css'], depends_on: ['api'] },
    { ref: 'docs', title: 'docs', description: 'readme', skills: ['writing'] },
    { ref: 'release', title: 'release', description: 'ship it', depends_on: ['ui', 'styles', 'docs'] },
  ]));
  return plan;
}

describe('a fleet driven by tasks, end to end', () => {
  it('a lead puts a dependency graph on the board; workers claim and complete every task, each after its dependencies', async () => {
    const h = await fixtures.harness();
    const plan = writePlan(h.dir);
    const { fleet_id } = await h.ok('spawn_fleet', {
      agents: [
        { role: 'backend', prompt: 'tasks:sql,python' },
        { role: 'frontend', prompt: 'tasks:react,css' },
        { role: 'planner', prompt: `tasks-plan:${plan}`, profile: 'lead' },
      ],
    });
    const status = await settled(h, fleet_id, 45_000);
    expect(status.fleet.status).toBe('complete');
    const board = rawDatabase(h.dbPath).rows<{ task_id: string; title: string; status: string }>(
      'SELECT task_id, title, status FROM task_board WHERE fleet_id = ?', fleet_id);
    expect(board.map((t) => [t.title, t.status])).toEqual(['schema', 'api', 'ui', 'styles', 'docs', 'release'].map((t) => [t, 'done']));

    // Order, from the events: every task was claimed only after each of its dependencies was done.
    const events = rawDatabase(h.dbPath).rows<{ id: number; kind: string; data: string }>(
      "SELECT id, kind, data FROM events WHERE fleet_id = ? AND kind IN ('task_claimed', 'task_completed') ORDER BY id", fleet_id);
    const at = (kind: string, taskId: string) => events.find((e) => e.kind === kind && JSON.parse(e.data).task_id === taskId)!.id;
    const id = Object.fromEntries(board.map((t) => [t.title, t.task_id]));
    const deps: Record<string, string[]> = { api: ['schema'], ui: ['api'], styles: ['api'], release: ['ui', 'styles', 'docs'] };
    for (const [task, before] of Object.entries(deps)) {
      for (const dep of before) expect(at('task_claimed', id[task]!), `${task} after ${dep}`).toBeGreaterThan(at('task_completed', id[dep]!));
    }
    const outputs = status.agents.filter((a: { role: string }) => a.role !== 'planner').map((a: { output: string }) => a.output.trim().split(', ').filter((t: string) => t !== ''));
    expect(outputs.flat().sort()).toEqual(['api', 'docs', 'release', 'schema', 'styles', 'ui']);
    const results = rawDatabase(h.dbPath).values<string>('SELECT result FROM tasks WHERE fleet_id = ? ORDER BY seq', fleet_id);
    for (const result of results) expect(result).toMatch(/^(backend|frontend) did \w+$/);
  });

  it('workers in worktrees of their own commit each task on their own branch; collect_results shows the branches', async () => {
    const h = await fixtures.harness();
    const repo = join(h.dir, 'repo');
    mkdirSync(repo);
    const git = (args: string[]) => spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
    git(['init', '-q', '-b', 'main']);
    writeFileSync(join(repo, 'README'), 'start\n');
    git(['add', '.']);
    git(['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', 'start']);
    const { fleet_id } = await h.ok('spawn_fleet', {
      agents: [
        { role: 'backend', prompt: 'tasks-commit:sql,python', workspace: 'worktree', repo },
        { role: 'frontend', prompt: 'tasks-commit:react,css', workspace: 'worktree', repo },
        { role: 'planner', prompt: `tasks-plan:${writePlan(h.dir)}`, profile: 'lead' },
      ],
    });
    expect((await settled(h, fleet_id, 45_000)).fleet.status).toBe('complete');
    const { results } = await h.ok('collect_results', { fleet_id });
    const workers = results.filter((r: { role: string }) => r.role !== 'planner');
    const subjects: string[] = [];
    for (const worker of workers) {
      expect(worker.workspace.branch).toBe(`meshfleet/${fleet_id}/${worker.agent_id}`);
      const done = worker.output.trim().split(', ').filter((t: string) => t !== '');
      // Its branch holds one commit per task it did, in the order it did them.
      const log = git(['log', '--format=%s', '--reverse', `main..${worker.workspace.branch}`]).stdout.trim().split('\n').filter(Boolean);
      expect(log).toEqual(done);
      subjects.push(...log);
    }
    expect(subjects.sort()).toEqual(['api', 'docs', 'release', 'schema', 'styles', 'ui']);
    expect(git(['status', '--porcelain']).stdout).toBe('');
  });
});
