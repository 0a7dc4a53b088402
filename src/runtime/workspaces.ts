// An agent's own git worktree: created from the repository's HEAD on a branch of its own before
// the agent exists, so a spawn that cannot have one fails at once with the reason, never as a
// failed agent later. The worktrees live next to the database (<db folder>/worktrees/<fleet>/
// <agent>), outside the repository. When the fleet settles, a worktree without uncommitted
// changes is removed (its branch stays, with the agent's commits); one with changes is kept.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { MeshError } from '../mesh/errors.js';
import type { AgentSpec, Workspace } from '../mesh/fleets.js';
import { newId } from '../mesh/ids.js';
import { quote } from '../mesh/limits.js';
import { recordWorkspaceRetired, workspacesToRetire } from '../mesh/workspaces.js';
import { log } from '../log.js';
import type { Store } from '../store/open.js';

/** What a spec asks for: a worktree of `repo` (the server's folder when not given). */
export interface WorkspaceRequest {
  workspace?: 'shared' | 'worktree';
  repo?: string;
}

const GIT_TIMEOUT_MS = 30_000;

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: GIT_TIMEOUT_MS }).trimEnd();
}

function gitSaid(err: unknown): string {
  const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
  return (stderr === '' ? (err as Error).message : stderr).split('\n')[0]!;
}

export const branchOf = (fleetId: string, agentId: string): string => `meshfleet/${fleetId}/${agentId}`;

/** The repository's top folder and HEAD commit, refusing what cannot give an agent a clean copy. */
function checkRepository(repo: string, where: string): { top: string; head: string } {
  if (!existsSync(repo)) {
    throw new MeshError('invalid', `${where}repo ${quote(repo)} does not exist.`, 'Pass the folder of a git repository (absolute, or relative to the server\'s folder).');
  }
  let top: string;
  try {
    top = git(repo, ['rev-parse', '--show-toplevel']);
  } catch {
    throw new MeshError('invalid', `${where}repo ${quote(repo)} is not a git repository, so the agent cannot have a worktree of it.`,
      'Pass a git repository\'s folder as repo, run `git init` there first, or leave out workspace to share the folder.');
  }
  let head: string;
  try {
    head = git(top, ['rev-parse', '--verify', 'HEAD^{commit}']);
  } catch {
    throw new MeshError('invalid', `${where}the repository ${top} has no commit yet; a worktree starts from HEAD.`, 'Commit something first (git commit), then spawn again.');
  }
  const dirty = git(top, ['status', '--porcelain', '--untracked-files=no']);
  if (dirty !== '') {
    const first = dirty.split('\n').slice(0, 3).map((l) => l.slice(3)).join(', ');
    throw new MeshError('invalid', `${where}the checkout ${top} has uncommitted changes (${first}${dirty.split('\n').length > 3 ? ', …' : ''}); an agent's worktree starts from HEAD and would not see them.`,
      'Commit or stash them, then spawn again; or leave out workspace to share the folder as it is.');
  }
  return { top, head };
}

/**
 * Gives each spec that asks for a worktree its id and a new worktree, before the agents exist.
 * All or nothing: when one cannot be made, those made already are removed and the reason thrown.
 */
export function prepareWorkspaces(
  specs: (AgentSpec & WorkspaceRequest)[], fleetId: string, options: { projectDir: string; dbPath: string }, where = (i: number) => `agents[${i}].`,
): AgentSpec[] {
  const made: Workspace[] = [];
  try {
    return specs.map(({ workspace, repo, ...spec }, index) => {
      if (workspace !== 'worktree') {
        if (repo !== undefined) throw new MeshError('invalid', `${where(index)}repo is given without workspace: "worktree".`, 'Add workspace: "worktree", or leave out repo.');
        return { ...spec, workDir: options.projectDir };
      }
      const { top, head } = checkRepository(resolve(options.projectDir, repo ?? '.'), where(index));
      const id = newId('agent');
      const branch = branchOf(fleetId, id);
      if (git(top, ['branch', '--list', branch]) !== '') {
        throw new MeshError('conflict', `${where(index)}the branch ${branch} already exists in ${top}.`, 'Delete it (git branch -D) or spawn again: new agents get new branch names.');
      }
      const path = join(dirname(options.dbPath), 'worktrees', fleetId, id);
      mkdirSync(dirname(path), { recursive: true });
      try {
        git(top, ['worktree', 'add', '--quiet', '-b', branch, path, head]);
      } catch (err) {
        throw new MeshError('invalid', `${where(index)}git could not create a worktree of ${top} at ${path}: ${gitSaid(err)}`, 'Fix what git says, then spawn again.');
      }
      const created: Workspace = { repo: top, path, branch, base: head, state: 'active' };
      made.push(created);
      return { ...spec, prepared: { id, workspace: created } };
    });
  } catch (err) {
    for (const workspace of made) discard(workspace);
    throw err;
  }
}

/** Removes a worktree made for a spawn that did not happen, with its branch. */
export function discard(workspace: Workspace): void {
  try {
    git(workspace.repo, ['worktree', 'remove', '--force', workspace.path]);
    git(workspace.repo, ['branch', '-D', workspace.branch]);
  } catch {
    // Best effort: the spawn's own error is what the caller needs to see.
  }
}

export interface WorkspaceReport {
  branch: string;
  path: string;
  state: string;
  base: string;
  /** The agent's commits on its branch, newest first: "abc1234 subject". */
  commits: string[];
  /** `git diff --shortstat` of the branch against its base, e.g. "2 files changed, 5 insertions(+)". */
  diffstat: string;
  /** Changes not committed in the worktree (while it exists). */
  uncommitted: string[];
  /** When git could not be asked (the repository moved or was deleted). */
  error?: string;
}

/** What an agent did in its worktree, for collect_results. */
export function reportWorkspace(workspace: Workspace): WorkspaceReport {
  const report: WorkspaceReport = { branch: workspace.branch, path: workspace.path, state: workspace.state, base: workspace.base, commits: [], diffstat: '', uncommitted: [] };
  try {
    const log = git(workspace.repo, ['log', '--format=%h %s', '--max-count=100', `${workspace.base}..${workspace.branch}`]);
    report.commits = log === '' ? [] : log.split('\n');
    report.diffstat = git(workspace.repo, ['diff', '--shortstat', workspace.base, workspace.branch]).trim();
    if (existsSync(workspace.path)) report.uncommitted = uncommitted(workspace.path);
  } catch (err) {
    report.error = existsSync(workspace.repo) ? `git could not read the branch: ${gitSaid(err)}` : `the repository ${workspace.repo} is gone`;
  }
  return report;
}

function uncommitted(path: string): string[] {
  const status = git(path, ['status', '--porcelain']);
  return status === '' ? [] : status.split('\n').slice(0, 50);
}

/**
 * After the fleet settled: removes the worktree when nothing in it is uncommitted or ignored (the
 * branch and its commits stay), else keeps it. Returns the new state and, when kept, what was uncommitted.
 */
export function retireWorkspace(workspace: Workspace): { state: 'removed' | 'kept'; uncommitted: string[] } {
  if (!existsSync(workspace.repo)) {
    // The repository moved or was deleted: git cannot remove the worktree; leave what is there.
    return existsSync(workspace.path)
      ? { state: 'kept', uncommitted: [`the repository ${workspace.repo} is gone; the folder was left as it is`] }
      : { state: 'removed', uncommitted: [] };
  }
  if (!existsSync(workspace.path)) {
    try { git(workspace.repo, ['worktree', 'prune']); } catch { /* the repository may be gone too */ }
    return { state: 'removed', uncommitted: [] };
  }
  // Ignored files count too: git would delete a .env or build output with the worktree, and they
  // exist nowhere else. `!! path` lines name them.
  const left = git(workspace.path, ['status', '--porcelain', '--ignored']);
  if (left !== '') return { state: 'kept', uncommitted: left.split('\n').slice(0, 50) };
  git(workspace.repo, ['worktree', 'remove', workspace.path]);
  return { state: 'removed', uncommitted: [] };
}

/**
 * Removes or keeps the worktrees of fleets that settled, and records which. Git runs outside any
 * transaction; a worktree git cannot touch is tried again next time.
 */
export function retireSettledWorkspaces(store: Store): number {
  let done = 0;
  for (const agent of workspacesToRetire(store)) {
    try {
      const { state, uncommitted: left } = retireWorkspace(agent.workspace!);
      recordWorkspaceRetired(store, agent.id, state, left);
      done++;
    } catch (err) {
      log.warn(`could not retire the worktree of agent ${agent.id} at ${agent.workspace!.path}: ${gitSaid(err)}`);
    }
  }
  return done;
}
