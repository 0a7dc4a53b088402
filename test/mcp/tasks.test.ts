// The task board through the tools, on a real database file: dependencies, claims, leases,
// refusals, and what people see with sqlite3.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/store/package-root.js';
import { rawDatabase } from '../helpers/database.js';
import { hasSqliteCli } from '../helpers/files.js';
import { eventually, startAgentServer, startHarness, type Harness } from '../helpers/mesh.js';

let host: Harness;
let fleetId: string, coder: string, styler: string, lead: string;
const open: Harness[] = [];

beforeEach(async () => {
  // Agents that stay running (a sleep) until the harness closes, so they may hold claims.
  host = await startHarness({ runtime: { runtime: 'command', agentCommand: 'sleep 120', dbPath: '' } });
  ({ fleet_id: fleetId, agent_ids: [coder, styler, lead] } = await host.ok('spawn_fleet', {
    agents: [{ role: 'coder', prompt: 'c' }, { role: 'styler', prompt: 's' }, { role: 'planner', prompt: 'p', profile: 'lead' }],
  }));
});
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
  await host.close();
});

async function ownServer(agentId: string): Promise<Harness> {
  // The supervisor writes each attempt's token when it starts: wait for that before setting ours.
  await eventually(async () => expect((await host.ok('fleet_status', { fleet_id: fleetId })).agents.every((a: { status: string }) => a.status === 'running')).toBe(true));
  const h = await startAgentServer(host, agentId);
  open.push(h);
  return h;
}

const board = () => rawDatabase(host.dbPath).rows<{ task_id: string; status: string; claimed_by: string | null; waiting_on: number }>(
  'SELECT task_id, status, claimed_by, waiting_on FROM task_board WHERE fleet_id = ?', fleetId);
const readyIds = () => rawDatabase(host.dbPath).values<string>('SELECT task_id FROM ready_tasks WHERE fleet_id = ?', fleetId);
const taskEvents = () => rawDatabase(host.dbPath).rows<{ kind: string; agent_id: string | null; data: string }>(
  "SELECT kind, agent_id, data FROM events WHERE fleet_id = ? AND kind LIKE 'task%' ORDER BY id", fleetId);

async function chain(): Promise<[string, string, string]> {
  const { tasks } = await host.ok('create_tasks', {
    fleet_id: fleetId,
    tasks: [
      { ref: 'schema', title: 'Write the schema', description: 'tables for users' },
      { ref: 'api', title: 'Build the API', description: 'endpoints over the schema', depends_on: ['schema'] },
      { ref: 'ui', title: 'Build the UI', description: 'forms calling the API', depends_on: ['api'] },
    ],
  });
  expect(tasks.map((t: { ref: string; ready: boolean }) => [t.ref, t.ready])).toEqual([['schema', true], ['api', false], ['ui', false]]);
  return tasks.map((t: { task_id: string }) => t.task_id);
}

describe('dependencies', () => {
  it('a chain becomes ready one task at a time, in order, and a waiting task cannot be claimed', async () => {
    const [schema, api, ui] = await chain();
    expect(readyIds()).toEqual([schema]);
    expect(await host.fails('claim_task', { task_id: api, agent_id: coder })).toMatch(/waits for 1 unfinished dependency: task-\S+ \(open\)/);

    await host.ok('claim_task', { task_id: schema, agent_id: coder });
    expect(readyIds()).toEqual([]);
    const done = await host.ok('complete_task', { task_id: schema, success: true, result: 'schema.sql' });
    expect(done).toMatchObject({ status: 'done', agent_id: coder, now_ready: [api] });
    expect(readyIds()).toEqual([api]);

    await host.ok('claim_task', { task_id: api, agent_id: styler });
    expect((await host.ok('complete_task', { task_id: api, success: true, result: 'ok' })).now_ready).toEqual([ui]);
    const detail = await host.ok('get_task', { task_id: ui });
    expect(detail).toMatchObject({ status: 'open', ready: true, waiting_on: 0, depends_on: [{ id: api, status: 'done' }] });
    expect((await host.ok('get_task', { task_id: schema })).result).toBe('schema.sql');
    expect(board().map((t) => t.status)).toEqual(['done', 'done', 'open']);
  });

  it('a failed dependency holds its dependents back until a lead reopens it', async () => {
    const [schema, api] = await chain();
    await host.ok('claim_task', { task_id: schema, agent_id: coder });
    expect((await host.ok('complete_task', { task_id: schema, success: false, result: 'the database is down' })).now_ready).toEqual([]);
    expect(readyIds()).toEqual([]);
    expect(await host.fails('claim_task', { task_id: schema, agent_id: coder })).toMatch(/is failed; only an open task can be claimed/);
    expect(await (await ownServer(coder)).fails('release_task', { task_id: schema })).toMatch(/is failed; there is nothing of yours to release/);
    await (await ownServer(lead)).ok('release_task', { task_id: schema });
    expect(readyIds()).toEqual([schema]);
    expect(board()[1]).toMatchObject({ task_id: api, waiting_on: 1 });
  });

  it('refuses a cycle, a task naming itself and an unknown dependency, writing nothing', async () => {
    const before = rawDatabase(host.dbPath).value('SELECT count(*) FROM tasks');
    const cycle = await host.fails('create_tasks', {
      fleet_id: fleetId,
      tasks: [
        { ref: 'a', title: 'A', description: 'a', depends_on: ['c'] },
        { ref: 'b', title: 'B', description: 'b', depends_on: ['a'] },
        { ref: 'c', title: 'C', description: 'c', depends_on: ['b'] },
        { ref: 'd', title: 'D', description: 'd' },
      ],
    });
    expect(cycle).toMatch(/The dependencies form a cycle of 3 tasks: "a" → "c" → "b" → "a"; those tasks could never become ready\. Remove one of these dependencies\./);
    expect(await host.fails('create_tasks', { fleet_id: fleetId, tasks: [{ ref: 'me', title: 'T', description: 'd', depends_on: ['me'] }] }))
      .toMatch(/cycle of 1 task: "me" → "me"/);
    expect(await host.fails('create_tasks', { fleet_id: fleetId, tasks: [{ ref: 'x', title: 'T', description: 'd' }, { title: 'U', description: 'd', depends_on: ['nope'] }] }))
      .toMatch(/^tasks\[1\]\.depends_on\[0\]: no task "nope" in fleet "fleet-\S+", and no task of this call has that ref\./);
    expect(await host.fails('create_task', { fleet_id: fleetId, title: 'T', description: 'd', depends_on: ['task-missing'] }))
      .toMatch(/^depends_on\[0\]: no task "task-missing" in fleet/);
    expect(await host.fails('create_tasks', { fleet_id: fleetId, tasks: [{ ref: 'x', title: 'T', description: 'd' }, { ref: 'x', title: 'U', description: 'd' }] }))
      .toMatch(/tasks\[1\]\.ref "x" is used by tasks\[0\] too/);
    expect(rawDatabase(host.dbPath).value('SELECT count(*) FROM tasks')).toBe(before);
  });

  it('a dependency on another fleet\'s task is unknown here', async () => {
    const { fleet_id: other } = await host.ok('spawn_fleet', { agents: [{ role: 'x', prompt: 'x' }] });
    const { task_id: foreign } = await host.ok('create_task', { fleet_id: other, title: 'T', description: 'd' });
    expect(await host.fails('create_task', { fleet_id: fleetId, title: 'T', description: 'd', depends_on: [foreign] }))
      .toContain(`no task "${foreign}" in fleet "${fleetId}"`);
  });
});

describe('claims', () => {
  it('one claim per task: a second agent is told who holds it; the holder renews its lease', async () => {
    const [schema] = await chain();
    const first = await host.ok('claim_task', { task_id: schema, agent_id: coder, lease_ms: 60_000 });
    expect(first).toMatchObject({ task_id: schema, agent_id: coder, renewed: false });
    expect(await host.fails('claim_task', { task_id: schema, agent_id: styler }))
      .toMatch(new RegExp(`is claimed by agent "${coder}" \\(lease until .*\\)\\. Call next_task for another ready task`));
    const renewed = await host.ok('claim_task', { task_id: schema, agent_id: coder, lease_ms: 600_000 });
    expect(renewed.renewed).toBe(true);
    expect(renewed.lease_expires_at).toBeGreaterThan(first.lease_expires_at);
    expect(rawDatabase(host.dbPath).value('SELECT count(*) FROM task_claims')).toBe(1);
  });

  it('a lease that runs out puts the task back: ready_tasks shows it and another agent takes it', async () => {
    const [schema] = await chain();
    await host.ok('claim_task', { task_id: schema, agent_id: coder, lease_ms: 1_000 });
    expect(readyIds()).toEqual([]);
    await eventually(() => expect(readyIds()).toEqual([schema]), 30_000);
    await host.ok('claim_task', { task_id: schema, agent_id: styler });
    const mine = await ownServer(coder);
    expect(await mine.fails('complete_task', { task_id: schema, success: true, result: 'late' }))
      .toMatch(new RegExp(`is claimed by agent "${styler}", not by agent "${coder}"; nothing was recorded`));
    expect(taskEvents().map((e) => e.kind)).toEqual(['task_created', 'task_created', 'task_created', 'task_claimed', 'task_lease_expired', 'task_claimed']);
  });

  it('release and block: the holder gives a task back; a worker cannot touch another\'s claim, a lead can', async () => {
    const [schema] = await chain();
    const [mine, theirs, leads] = [await ownServer(coder), await ownServer(styler), await ownServer(lead)];
    await mine.ok('claim_task', { task_id: schema });
    expect(await theirs.fails('release_task', { task_id: schema })).toMatch(/claimed by agent .*; only it, a lead or the operator can release it/);
    expect(await theirs.fails('block_task', { task_id: schema, reason: 'mine now' })).toMatch(/only its holder, a lead or the operator can block it/);
    expect(await theirs.fails('complete_task', { task_id: schema, success: true, result: '' })).toMatch(/not by agent/);
    await mine.ok('release_task', { task_id: schema });
    await theirs.ok('claim_task', { task_id: schema });
    await leads.ok('block_task', { task_id: schema, reason: 'waiting for credentials' });
    expect((await mine.ok('get_task', { task_id: schema })).blocked_reason).toBe('waiting for credentials');
    expect(await mine.fails('claim_task', { task_id: schema })).toMatch(/is blocked \("waiting for credentials"\); only an open task can be claimed\. A lead or the operator can release_task it/);
    await leads.ok('release_task', { task_id: schema });
    expect(readyIds()).toEqual([schema]);
    expect(taskEvents().slice(3).map((e) => [e.kind, e.agent_id])).toEqual([
      ['task_claimed', coder], ['task_released', coder], ['task_claimed', styler], ['task_blocked', lead], ['task_reopened', lead],
    ]);
  });

  it('the operator completes a claim in its holder\'s name, and cannot complete a task nobody holds', async () => {
    const [schema, api] = await chain();
    expect(await host.fails('complete_task', { task_id: schema, success: true, result: '' })).toMatch(/is open, not claimed; nothing was recorded\. The claim was returned/);
    await host.ok('claim_task', { task_id: schema, agent_id: styler });
    const done = await host.ok('complete_task', { task_id: schema, success: true, result: 'by hand' });
    expect(done).toMatchObject({ agent_id: styler, now_ready: [api], outcome_keys: ['write', 'schema', 'tables', 'users'] });
    expect(rawDatabase(host.dbPath).values('SELECT agent_id FROM routing_outcomes')).toEqual([styler, styler, styler, styler]);
    expect(await host.fails('complete_task', { task_id: schema, success: true, result: '' })).toMatch(/is done, not claimed/);
  });

  it('an agent that has ended cannot claim', async () => {
    const [schema] = await chain();
    await host.ok('claim_task', { task_id: schema, agent_id: coder });
    rawDatabase(host.dbPath).run("UPDATE agents SET status = 'complete' WHERE id = ?", styler);
    expect(await host.fails('claim_task', { task_id: schema, agent_id: styler })).toMatch(/is complete; a claim would never be worked on/);
  });
});

describe('next_task', () => {
  it('takes the highest priority first, then the task the agent fits best, then the oldest', async () => {
    await host.ok('register_capability', { agent_id: styler, fleet_id: fleetId, role: 'styler', skills: ['css'] });
    const { tasks } = await host.ok('create_tasks', {
      fleet_id: fleetId,
      tasks: [
        { ref: 'old', title: 'Old chore', description: 'rename files' },
        { ref: 'css', title: 'Style it', description: 'd', skills: ['css'] },
        { ref: 'urgent', title: 'Hotfix', description: 'd', skills: ['python'], priority: 5 },
      ],
    });
    const id = (ref: string) => tasks.find((t: { ref: string }) => t.ref === ref).task_id;
    const pick = async (agent: string) => (await host.ok('next_task', { agent_id: agent })).task?.id ?? null;
    expect(await pick(styler)).toBe(id('urgent'));
    expect(await pick(styler)).toBe(id('css'));
    const answer = await host.ok('next_task', { agent_id: coder });
    expect(answer).toMatchObject({ task: { id: id('old'), status: 'claimed', claimed_by: coder }, score: 0 });
    const none = await host.ok('next_task', { agent_id: coder });
    expect(none).toMatchObject({ task: null, counts: { open: 0, claimed: 3 } });
  });

  it('wait_ms waits for a task to become ready, and returns at once when no work is left', async () => {
    const [schema, api, ui] = await chain();
    await host.ok('claim_task', { task_id: schema, agent_id: coder });
    const waiting = host.ok('next_task', { agent_id: styler, wait_ms: 30_000 });
    const second = await startHarness({}, { dir: host.dir, dbPath: host.dbPath });
    open.push(second);
    await second.ok('complete_task', { task_id: schema, success: true, result: 'done elsewhere' });
    expect((await waiting).task.id).toBe(api);
    await host.ok('block_task', { task_id: ui, reason: 'no designer' });
    await host.ok('complete_task', { task_id: api, success: true, result: '' });
    // Nothing open or claimed: nothing can become ready by itself, so no wait.
    expect(await host.ok('next_task', { agent_id: coder, wait_ms: 60_000 })).toMatchObject({ task: null, counts: { open: 0, claimed: 0, done: 2, blocked: 1 } });
  });
});

describe('who may do what', () => {
  it('workers cannot plan; a lead plans only its own fleet; nobody reads or claims another fleet\'s tasks', async () => {
    const { fleet_id: other } = await host.ok('spawn_fleet', { agents: [{ role: 'x', prompt: 'x' }] });
    const { task_id: foreign } = await host.ok('create_task', { fleet_id: other, title: 'T', description: 'd' });
    const [worker, leads] = [await ownServer(coder), await ownServer(lead)];
    expect(await worker.fails('create_task', { title: 'T', description: 'd' })).toMatch(/^create_task is not offered to worker agent/);
    expect(await leads.fails('create_task', { fleet_id: other, title: 'T', description: 'd' })).toMatch(/cannot create tasks in fleet/);
    const { task_id: mine } = await leads.ok('create_task', { title: 'Ours', description: 'd' });
    expect((await worker.ok('get_task', { task_id: mine })).created_by).toBe(lead);
    for (const [tool, args] of [['get_task', {}], ['claim_task', {}], ['release_task', {}], ['block_task', { reason: 'r' }], ['complete_task', { success: true, result: '' }]] as const) {
      expect(await worker.fails(tool, { task_id: foreign, ...args }), tool).toMatch(new RegExp(`No task "${foreign}" in fleet "${fleetId}"`));
    }
    expect(await worker.fails('list_tasks', { fleet_id: other })).toMatch(/cannot list tasks of fleet/);
    expect(await worker.fails('claim_task', { task_id: mine, agent_id: styler })).toMatch(/cannot claim tasks as/);
    expect((await worker.ok('list_tasks', {})).tasks.map((t: { id: string }) => t.id)).toEqual([mine]);
    expect(rawDatabase(host.dbPath).value('SELECT count(*) FROM task_claims')).toBe(0);
  });
});

describe('bounds and paging', () => {
  it('refuses oversized input naming the field and the limit', async () => {
    expect(await host.fails('create_task', { fleet_id: fleetId, title: 'x'.repeat(201), description: 'd' })).toMatch(/title is 201 characters; the limit is 200/);
    expect(await host.fails('create_task', { fleet_id: fleetId, title: 't', description: 'd', depends_on: Array.from({ length: 65 }, (_, i) => `t${i}`) }))
      .toMatch(/depends_on has 65 items; the limit is 64/);
    expect(await host.fails('create_tasks', { fleet_id: fleetId, tasks: Array.from({ length: 1_001 }, () => ({ title: 't', description: 'd' })) }))
      .toMatch(/tasks has 1001 items; the limit is 1000/);
    expect(await host.fails('create_task', { fleet_id: fleetId, title: 't', description: 'd', priority: 1_001 })).toMatch(/priority must be at most 1000/);
    expect(rawDatabase(host.dbPath).value('SELECT count(*) FROM tasks')).toBe(0);
  });

  it('pages the board by 100, with ready and status filters', async () => {
    const { tasks } = await host.ok('create_tasks', {
      fleet_id: fleetId, tasks: Array.from({ length: 250 }, (_, i) => ({ ref: `t${i}`, title: `Task ${i}`, description: 'd', depends_on: i % 2 === 1 ? [`t${i - 1}`] : [] })),
    });
    const first = await host.ok('list_tasks', { fleet_id: fleetId });
    expect(first.tasks).toHaveLength(100);
    expect(first).toMatchObject({ has_more: true, next_offset: 100 });
    const last = await host.ok('list_tasks', { fleet_id: fleetId, offset: 200 });
    expect(last.tasks.map((t: { id: string }) => t.id)).toEqual(tasks.slice(200).map((t: { task_id: string }) => t.task_id));
    expect(last).toMatchObject({ has_more: false, next_offset: null });
    const ready = await host.ok('list_tasks', { fleet_id: fleetId, ready: true, limit: 100 });
    expect(ready.tasks.every((t: { title: string }) => Number(t.title.split(' ')[1]) % 2 === 0)).toBe(true);
    expect((await host.ok('list_tasks', { fleet_id: fleetId, ready: true, offset: 100 })).tasks).toHaveLength(25);
    expect((await host.ok('list_tasks', { fleet_id: fleetId, status: 'done' })).tasks).toEqual([]);
  });
});

describe('another process holding the write lock', () => {
  it('next_task answers "locked, retry", claims nothing, and works once the lock is free', async () => {
    const [schema] = await chain();
    const contended = await startHarness({}, { dir: host.dir, dbPath: host.dbPath }, { busyTimeoutMs: 200 });
    open.push(contended);
    const holder = spawn(process.execPath, [join(packageRoot, 'test', 'helpers', 'hold-lock-child.mjs'), host.dbPath], { stdio: ['pipe', 'pipe', 'inherit'] });
    await once(holder.stdout!, 'data');
    expect(await contended.fails('next_task', { agent_id: coder })).toMatch(/^The database is locked by another process .*nothing was changed\. Retry the call in a moment\.$/);
    holder.stdin!.end();
    await once(holder, 'exit');
    expect(readyIds()).toEqual([schema]);
    expect((await contended.ok('next_task', { agent_id: coder })).task.id).toBe(schema);
    expect(board()[0]).toMatchObject({ status: 'claimed', claimed_by: coder });
  });
});

describe('retention', () => {
  it('prune takes a settled fleet\'s board with it, and leaves a running fleet\'s alone', async () => {
    const { fleet_id: old } = await host.ok('spawn_fleet', { agents: [{ role: 'x', prompt: 'x' }] });
    const { tasks } = await host.ok('create_tasks', { fleet_id: old, tasks: [{ ref: 'a', title: 'A', description: 'd', skills: ['sql'] }, { title: 'B', description: 'd', depends_on: ['a'] }] });
    const { agents: [agent] } = await host.ok('fleet_status', { fleet_id: old });
    await host.ok('claim_task', { task_id: tasks[0].task_id, agent_id: agent.id });
    await chain();
    // As a fleet that settled long ago, its claim left behind by a crash.
    rawDatabase(host.dbPath).exec(`UPDATE agents SET status = 'complete' WHERE fleet_id = '${old}'; UPDATE fleets SET status = 'complete', completed_at = 1 WHERE id = '${old}'`);
    await host.ok('prune', { older_than: '1s' });
    const left = (table: string) => rawDatabase(host.dbPath).value(`SELECT count(*) FROM ${table}`);
    expect([left('tasks'), left('task_skills'), left('task_dependencies'), left('task_claims')]).toEqual([3, 0, 2, 0]);
    expect(await host.fails('get_task', { task_id: tasks[0].task_id })).toMatch(/^No task/);
  });
});

describe.runIf(hasSqliteCli())('with the sqlite3 command', () => {
  it('ready_tasks and task_board answer', async () => {
    const [schema] = await chain();
    const ready = spawnSync('sqlite3', [host.dbPath, 'select title, skills from ready_tasks'], { encoding: 'utf8' });
    expect(ready.stderr).toBe('');
    expect(ready.stdout).toBe('Write the schema|\n');
    await host.ok('claim_task', { task_id: schema, agent_id: coder });
    const boardText = spawnSync('sqlite3', [host.dbPath, 'select title, status, claimed_by, waiting_on from task_board'], { encoding: 'utf8' });
    expect(boardText.stdout).toBe(`Write the schema|claimed|${coder}|0\nBuild the API|open||1\nBuild the UI|open||1\n`);
  });
});
