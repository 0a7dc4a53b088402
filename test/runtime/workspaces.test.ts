// Agents in worktrees of their own: real git repositories, real agent processes editing the same
// file on their own branches, what collect_results reports, and what is cleaned up afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawDatabase } from '../helpers/database.js';
import { runCli } from '../helpers/files.js';
import { eventually, startHarness, type Harness } from '../helpers/mesh.js';

// Each agent appends its role to the shared file and commits on its branch; "dirty" then leaves
// an uncommitted change behind.
const AGENT = 'echo "$MESHFLEET_ROLE" >> app.txt && git add app.txt && git -c user.name=agent -c user.email=agent@example.invalid commit -qm "$MESHFLEET_ROLE edits"'
  + ' && if [ "$MESHFLEET_PROMPT" = dirty ]; then echo wip >> app.txt; fi'
  + ' && if [ "$MESHFLEET_PROMPT" = secret ]; then echo KEY=1 > .env; fi';

let host: Harness;
let repo: string;
const git = (args: string[], cwd = repo) => spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' } });

function newRepo(path: string, commit = true): string {
  mkdirSync(path, { recursive: true });
  git(['init', '-q', '-b', 'main'], path);
  writeFileSync(join(path, 'app.txt'), 'start\n');
  writeFileSync(join(path, '.gitignore'), '.env\n');
  if (commit) { git(['add', '.'], path); git(['commit', '-qm', 'start'], path); }
  return path;
}

beforeEach(async () => {
  host = await startHarness({ runtime: { runtime: 'command', agentCommand: AGENT, dbPath: '' } });
  repo = newRepo(join(host.dir, 'repo'));
});
afterEach(async () => host.close());

const workspaceState = (agentId: string) => rawDatabase(host.dbPath).value<string>('SELECT workspace_state FROM agents WHERE id = ?', agentId);

describe('workspace: "worktree"', () => {
  it('runs each agent on its own branch; collect_results shows both diffs; clean worktrees go, dirty ones stay', async () => {
    const { fleet_id: fleet, agent_ids: [clean, dirty] } = await host.ok('spawn_fleet', { agents: [
      { role: 'coder-a', prompt: 'clean', workspace: 'worktree', repo },
      { role: 'coder-b', prompt: 'dirty', workspace: 'worktree', repo },
    ] });
    await eventually(async () => expect((await host.ok('fleet_status', { fleet_id: fleet })).fleet.status).toBe('complete'), 30_000);
    const { results } = await host.ok('collect_results', { fleet_id: fleet });
    for (const [result, role] of [[results[0], 'coder-a'], [results[1], 'coder-b']] as const) {
      expect(result.workspace).toMatchObject({
        branch: `meshfleet/${fleet}/${result.agent_id}`,
        commits: [expect.stringMatching(new RegExp(`^[0-9a-f]{7,} ${role} edits$`))],
        diffstat: '1 file changed, 1 insertion(+)',
      });
    }
    // Both edited app.txt, each on its own branch; the main checkout never saw either.
    expect(git(['show', `meshfleet/${fleet}/${clean}:app.txt`]).stdout).toBe('start\ncoder-a\n');
    expect(git(['show', `meshfleet/${fleet}/${dirty}:app.txt`]).stdout).toBe('start\ncoder-b\n');
    expect(readFileSync(join(repo, 'app.txt'), 'utf8')).toBe('start\n');

    await eventually(() => expect([workspaceState(clean!), workspaceState(dirty!)]).toEqual(['removed', 'kept']), 20_000);
    const paths = rawDatabase(host.dbPath).values<string>('SELECT workspace_path FROM agents WHERE fleet_id = ? ORDER BY created_at, id', fleet);
    expect([existsSync(paths[0]!), existsSync(paths[1]!)]).toEqual([false, true]);
    expect(git(['branch', '--list', 'meshfleet/*']).stdout.split('\n').filter(Boolean)).toHaveLength(2);
    const kept = rawDatabase(host.dbPath).value<string>("SELECT data FROM events WHERE kind = 'workspace_kept'");
    expect(JSON.parse(kept)).toMatchObject({ branch: `meshfleet/${fleet}/${dirty}`, uncommitted: [' M app.txt'] });

    const listed = runCli(['workspaces', '--json', '--db', host.dbPath]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).workspaces.map((w: { agent_id: string; state: string; uncommitted: string[] }) => [w.agent_id, w.state, w.uncommitted.length]).sort())
      .toEqual([[clean, 'removed', 0], [dirty, 'kept', 1]].sort());
  });

  it('refuses at spawn, naming the problem, a folder that is not a repository, a repository with no commit, or a dirty checkout; nothing is left behind', async () => {
    const plain = join(host.dir, 'plain');
    mkdirSync(plain);
    expect(await host.fails('spawn_fleet', { agents: [{ role: 'a', prompt: 'p', workspace: 'worktree', repo: plain }] }))
      .toMatch(/agents\[0\]\.repo ".*plain" is not a git repository/);
    const empty = newRepo(join(host.dir, 'empty'), false);
    expect(await host.fails('spawn_fleet', { agents: [{ role: 'a', prompt: 'p', workspace: 'worktree', repo: empty }] })).toMatch(/has no commit yet/);
    writeFileSync(join(repo, 'app.txt'), 'edited\n');
    expect(await host.fails('spawn_fleet', { agents: [{ role: 'a', prompt: 'p', workspace: 'worktree', repo }] })).toMatch(/has uncommitted changes \(app\.txt\)/);
    expect(await host.fails('spawn_fleet', { agents: [{ role: 'a', prompt: 'p', repo }] })).toMatch(/repo is given without workspace: "worktree"/);
    expect(rawDatabase(host.dbPath).value('SELECT count(*) FROM fleets')).toBe(0);
  });

  it('is all or nothing: when the second agent cannot have a worktree, the first one\'s is removed with its branch', async () => {
    const plain = join(host.dir, 'plain');
    mkdirSync(plain);
    await host.fails('spawn_fleet', { agents: [
      { role: 'a', prompt: 'p', workspace: 'worktree', repo },
      { role: 'b', prompt: 'p', workspace: 'worktree', repo: plain },
    ] });
    expect(git(['branch', '--list', 'meshfleet/*']).stdout).toBe('');
    expect(git(['worktree', 'list']).stdout.trim().split('\n')).toHaveLength(1);
    expect(rawDatabase(host.dbPath).value('SELECT count(*) FROM agents')).toBe(0);
  });
});

describe('cleanup never deletes what exists nowhere else', () => {
  it('keeps a worktree holding only an ignored file (a .env), and says which', async () => {
    const { fleet_id: fleet, agent_ids: [agent] } = await host.ok('spawn_fleet', { agents: [{ role: 'coder-a', prompt: 'secret', workspace: 'worktree', repo }] });
    await eventually(async () => expect((await host.ok('fleet_status', { fleet_id: fleet })).fleet.status).toBe('complete'), 30_000);
    await eventually(() => expect(workspaceState(agent!)).toBe('kept'), 20_000);
    const path = rawDatabase(host.dbPath).value<string>('SELECT workspace_path FROM agents WHERE id = ?', agent);
    expect(readFileSync(join(path, '.env'), 'utf8')).toBe('KEY=1\n');
    const kept = rawDatabase(host.dbPath).value<string>("SELECT data FROM events WHERE kind = 'workspace_kept'");
    expect(JSON.parse(kept).uncommitted).toEqual(['!! .env']);
  });
});

describe('an agent without a worktree', () => {
  it('runs in the folder of the server that spawned it, not wherever its runner (a hub) runs', async () => {
    const project = join(host.dir, 'project b');
    mkdirSync(project);
    const other = await startHarness({ projectDir: project, runtime: { runtime: 'command', agentCommand: 'pwd', dbPath: '' } }, { dir: host.dir, dbPath: host.dbPath });
    try {
      expect(process.cwd()).not.toBe(project);
      const { fleet_id: fleet } = await other.ok('spawn_fleet', { agents: [{ role: 'r', prompt: 'p' }] });
      await eventually(async () => expect((await other.ok('fleet_status', { fleet_id: fleet })).fleet.status).toBe('complete'), 20_000);
      const { results: [result] } = await other.ok('collect_results', { fleet_id: fleet });
      expect(result.output.trim()).toBe(project);
      expect(rawDatabase(host.dbPath).value('SELECT work_dir FROM agents WHERE fleet_id = ?', fleet)).toBe(project);
    } finally {
      await other.close();
    }
  });
});

describe('a worktree whose repository is gone', () => {
  it('is kept and recorded once when its fleet settles, instead of failing every sweep', async () => {
    const { fleet_id: fleet, agent_ids: [agent] } = await host.ok('spawn_fleet', { agents: [{ role: 'coder-a', prompt: 'clean', workspace: 'worktree', repo }] });
    await eventually(async () => expect((await host.ok('fleet_status', { fleet_id: fleet })).fleet.status).toBe('complete'), 30_000);
    // The sweep may already have run: what matters is that a gone repository never jams it.
    const { rmSync } = await import('node:fs');
    rawDatabase(host.dbPath).run("UPDATE agents SET workspace_state = 'active' WHERE id = ?", agent);
    rmSync(repo, { recursive: true, force: true });
    await eventually(() => expect(workspaceState(agent!)).not.toBe('active'), 20_000);
    const { results: [result] } = await host.ok('collect_results', { fleet_id: fleet });
    expect(result.workspace.error).toMatch(/the repository .* is gone/);
  });
});
