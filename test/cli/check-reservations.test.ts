// meshfleet check-reservations, as a git pre-commit hook runs it: a real repository, real
// commits, reservations made through the tools on a real database file.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAgentServer, startHarness, type Harness } from '../helpers/mesh.js';
import { CLI, runCli, sha256 } from '../helpers/files.js';

let host: Harness;
let repo: string;
let fleetId: string, alice: string, bob: string;

const git = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync('git', args, {
  cwd: repo, encoding: 'utf8',
  env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid', MESHFLEET_DB: '', ...env },
});

beforeEach(async () => {
  host = await startHarness();
  ({ fleet_id: fleetId, agent_ids: [alice, bob] } = await host.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'a' }, { role: 'b', prompt: 'b' }] }));
  repo = join(host.dir, 'repo');
  mkdirSync(join(repo, 'src'), { recursive: true });
  expect(git(['init', '-q']).status).toBe(0);
  writeFileSync(join(repo, 'src', 'app.ts'), 'one\n');
  writeFileSync(join(repo, 'README.md'), 'readme\n');
  expect(git(['add', '.']).status).toBe(0);
  expect(git(['commit', '-qm', 'start']).status).toBe(0);
  // The hook the README shows, with this build's CLI.
  writeFileSync(join(repo, '.git', 'hooks', 'pre-commit'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" check-reservations --staged --db "${host.dbPath}"\n`);
  chmodSync(join(repo, '.git', 'hooks', 'pre-commit'), 0o755);
});
afterEach(async () => host.close());

async function reserveAs(agentId: string, paths: string[], exclusive = true): Promise<void> {
  const own = await startAgentServer(host, agentId);
  try {
    expect((await own.ok('reserve_files', { paths, exclusive, reason: 'editing' })).ok).toBe(true);
  } finally {
    await own.close();
  }
}

describe('the pre-commit hook', () => {
  it('refuses another agent\'s commit touching an exclusively reserved file, naming the holder; lets the holder commit', async () => {
    await reserveAs(alice, ['src/**']);
    writeFileSync(join(repo, 'src', 'app.ts'), 'two\n');
    git(['add', 'src/app.ts']);
    const refused = git(['commit', '-qm', 'bob edits'], { MESHFLEET_AGENT_ID: bob, MESHFLEET_FLEET_ID: fleetId });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain(`src/app.ts: reserved exclusively by agent ${alice} of fleet ${fleetId} as src/** ("editing") until`);
    expect(git(['log', '--oneline']).stdout.trim().split('\n')).toHaveLength(1);
    const allowed = git(['commit', '-qm', 'alice edits'], { MESHFLEET_AGENT_ID: alice, MESHFLEET_FLEET_ID: fleetId });
    expect(allowed.status).toBe(0);
  });

  it('lets commits through that touch only unreserved or shared files', async () => {
    await reserveAs(alice, ['src/**']);
    await reserveAs(alice, ['README.md'], false);
    writeFileSync(join(repo, 'README.md'), 'changed\n');
    writeFileSync(join(repo, 'NOTES.md'), 'new\n');
    git(['add', '.']);
    expect(git(['commit', '-qm', 'docs'], { MESHFLEET_AGENT_ID: bob }).status).toBe(0);
  });

  it('counts a deleted or renamed reserved file as touched', async () => {
    await reserveAs(alice, ['src/app.ts']);
    git(['mv', 'src/app.ts', 'src/main.ts']);
    const refused = git(['commit', '-qm', 'rename'], { MESHFLEET_AGENT_ID: bob });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('src/app.ts: reserved exclusively');
  });

  it('refuses a file whose name holds a line break, as git allows, when a reservation covers it', async () => {
    // picomatch's ** and a leading * never match across a line break; the hook must not rely on it.
    await reserveAs(alice, ['src/**', 'docs/*']);
    mkdirSync(join(repo, 'docs'));
    writeFileSync(join(repo, 'src', 'two\nlines.ts'), 'x\n');
    writeFileSync(join(repo, 'docs', '\nleading.md'), 'x\n');
    git(['add', '.']);
    const refused = git(['commit', '-qm', 'odd name'], { MESHFLEET_AGENT_ID: bob });
    expect(refused.status, refused.stdout + refused.stderr).not.toBe(0);
    expect(refused.stderr).toContain('reserved exclusively by agent');
    expect(refused.stderr).toContain('as src/**');
    expect(refused.stderr).toContain('as docs/*');
    expect(git(['log', '--oneline']).stdout.trim().split('\n')).toHaveLength(1);
  });
});

describe('meshfleet check-reservations', () => {
  it('--json names each blocked path, and without an agent every holder counts; the database is not written', async () => {
    await reserveAs(alice, ['src/*.ts']);
    const before = sha256(host.dbPath);
    const result = runCli(['check-reservations', 'src/app.ts', 'docs/x.md', '--json', '--db', host.dbPath]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      checked: 2, agent_id: null, fleet_id: null,
      blocked: [{ path: 'src/app.ts', pattern: 'src/*.ts', agent_id: alice, fleet_id: fleetId, reason: 'editing' }],
    });
    expect(runCli(['check-reservations', 'src/app.ts', '--agent', alice, '--db', host.dbPath])).toMatchObject({ code: 0, stdout: 'ok: none of 1 path is reserved by another agent.\n' });
    expect(sha256(host.dbPath)).toBe(before);
  });

  it('says what to do without paths, outside a repository, or without a database', () => {
    expect(runCli(['check-reservations', '--db', host.dbPath])).toMatchObject({ code: 2, stderr: expect.stringContaining('needs paths, or --staged') });
    const outside = spawnSync(process.execPath, [CLI, 'check-reservations', '--staged', '--db', host.dbPath], { cwd: '/', encoding: 'utf8' });
    expect(outside.status).toBe(1);
    expect(outside.stderr).toMatch(/--staged needs a git repository/);
    expect(runCli(['check-reservations', 'a', '--db', join(host.dir, 'none.db')])).toMatchObject({ code: 1, stderr: expect.stringContaining('No database at') });
  });
});
