// An agent's own git worktree: created from the repository's HEAD on a branch of its own before
// the agent exists, so a spawn that cannot have one fails at once with the reason, never as a
// failed agent later. The worktrees live next to the database (<db folder>/worktrees/<fleet>/
// <agent>), outside the repository. When the fleet settles, a worktree without uncommitted
// changes is removed (its branch stays, with the agent's commits); one with changes is kept.
import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MeshError } from '../mesh/errors.js';
import type { AgentSpec, Workspace } from '../mesh/fleets.js';
import { newId } from '../mesh/ids.js';
import { quote } from '../mesh/limits.js';
import { recordWorkspaceRetired, workspacesToRetire } from '../mesh/workspaces.js';
import { log } from '../log.js';
import type { Store } from '../store/open.js';
import { git, gitSaid, oneAtATime } from './git.js';

/** What a spec asks for: a worktree of `repo` (the server's folder when not given). */
export interface WorkspaceRequest {
  workspace?: 'shared' | 'worktree';
  repo?: string;
}

export const branchOf = (fleetId: string, agentId: string): string => `meshfleet/${fleetId}/${agentId}`;

/** A repository that passed the checks: its top folder and the HEAD commit worktrees start from. */
interface CheckedRepository { top: string; head: string }

/** The repository's top folder and HEAD commit, refusing what cannot give an agent a clean copy. */
async function checkRepository(repo: string, where: string): Promise<CheckedRepository> {
  if (!existsSync(repo)) {
    throw new MeshError('invalid', `${where}repo ${quote(repo)} does not exist.`, 'Pass the folder of a git repository (absolute, or relative to the server\'s folder).');
  }
  let top: string;
  try {
    top = await git(repo, ['rev-parse', '--show-toplevel']);
  } catch {
    throw new MeshError('invalid', `${where}repo ${quote(repo)} is not a git repository, so the agent cannot have a worktree of it.`,
      'Pass a git repository\'s folder as repo, run `git init` there first, or leave out workspace to share the folder.');
  }
  let head: string;
  try {
    head = await git(top, ['rev-parse', '--verify', 'HEAD^{commit}']);
  } catch {
    throw new MeshError('invalid', `${where}the repository ${top} has no commit yet; a worktree starts from HEAD.`, 'Commit something first (git commit), then spawn again.');
  }
  const dirty = await git(top, ['status', '--porcelain', '--untracked-files=no']);
  if (dirty !== '') {
    const first = dirty.split('\n').slice(0, 3).map((l) => l.slice(3)).join(', ');
    throw new MeshError('invalid', `${where}the checkout ${top} has uncommitted changes (${first}${dirty.split('\n').length > 3 ? ', …' : ''}); an agent's worktree starts from HEAD and would not see them.`,
      'Commit or stash them, then spawn again; or leave out workspace to share the folder as it is.');
  }
  return { top, head };
}

/** One spec that asks for a worktree, once its repository passed the checks. */
interface WorktreeOrder { index: number; repository: CheckedRepository }

/**
 * Gives each spec that asks for a worktree its id and a new worktree, before the agents exist.
 * All or nothing: when one cannot be made, those made already are removed and the reason thrown.
 * Each repository is checked once, before any worktree is made; worktrees of one repository are
 * made one after another, of different repositories side by side.
 */
export async function prepareWorkspaces(
  specs: (AgentSpec & WorkspaceRequest)[], fleetId: string, options: { projectDir: string; dbPath: string }, where = (i: number) => `agents[${i}].`,
): Promise<AgentSpec[]> {
  const prepared: AgentSpec[] = [];
  const wanted: { index: number; repo: string }[] = [];
  specs.forEach(({ workspace, repo, ...spec }, index) => {
    if (workspace !== 'worktree') {
      if (repo !== undefined) throw new MeshError('invalid', `${where(index)}repo is given without workspace: "worktree".`, 'Add workspace: "worktree", or leave out repo.');
      prepared[index] = { ...spec, workDir: options.projectDir };
      return;
    }
    prepared[index] = spec;
    wanted.push({ index, repo: resolve(options.projectDir, repo ?? '.') });
  });
  const checked = new Map<string, CheckedRepository>();
  const orders: WorktreeOrder[] = [];
  for (const { index, repo } of wanted) {
    if (!checked.has(repo)) checked.set(repo, await checkRepository(repo, where(index)));
    orders.push({ index, repository: checked.get(repo)! });
  }
  const made = await makeWorktrees(orders, fleetId, join(dirname(options.dbPath), 'worktrees', fleetId), where);
  for (const [index, prepare] of made) prepared[index] = { ...prepared[index]!, prepared: prepare };
  return prepared;
}

// Map.groupBy arrives with Node 21; Meshfleet runs on 20.
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group === undefined) groups.set(key(item), [item]);
    else group.push(item);
  }
  return groups;
}

/** Makes the worktrees ordered, keyed by spec index; all or nothing. */
async function makeWorktrees(orders: WorktreeOrder[], fleetId: string, folder: string, where: (i: number) => string): Promise<Map<number, { id: string; workspace: Workspace }>> {
  const made = new Map<number, { id: string; workspace: Workspace }>();
  const byRepository = groupBy(orders, (order) => order.repository.top);
  let failed = false;
  const outcomes = await Promise.allSettled([...byRepository].map(([top, group]) => oneAtATime(top, async () => {
    for (const { index, repository } of group) {
      if (failed) return; // another repository's worktree failed: the spawn is off, make no more
      made.set(index, await makeWorktree(repository, fleetId, folder, where(index)));
    }
  }).catch((err: unknown) => {
    failed = true;
    throw err;
  })));
  const refused = outcomes.find((outcome) => outcome.status === 'rejected');
  if (refused === undefined) return made;
  await discardAll([...made.values()].map((m) => m.workspace));
  await rmdir(folder).catch(() => undefined); // made for this fleet, empty unless another spawn shares it
  throw refused.reason;
}

async function makeWorktree({ top, head }: CheckedRepository, fleetId: string, folder: string, where: string): Promise<{ id: string; workspace: Workspace }> {
  const id = newId('agent');
  const branch = branchOf(fleetId, id);
  if (await git(top, ['branch', '--list', branch]) !== '') {
    throw new MeshError('conflict', `${where}the branch ${branch} already exists in ${top}.`, 'Delete it (git branch -D) or spawn again: new agents get new branch names.');
  }
  const workspace: Workspace = { repo: top, path: join(folder, id), branch, base: head, state: 'active' };
  await mkdir(folder, { recursive: true });
  try {
    await git(top, ['worktree', 'add', '--quiet', '-b', branch, workspace.path, head]);
  } catch (err) {
    // git may fail after the checkout (a post-checkout hook, such as git-lfs's, that exits
    // non-zero) and leave the worktree and branch behind; both are this spawn's own, fresh names.
    await discard(workspace);
    throw new MeshError('invalid', `${where}git could not create a worktree of ${top} at ${workspace.path}: ${gitSaid(err)}`, 'Fix what git says, then spawn again.');
  }
  return { id, workspace };
}

/**
 * Removes worktrees made for a spawn that did not happen, with their branches, then their fleet's
 * folder when nothing else is in it.
 */
export async function discardAll(workspaces: readonly Workspace[]): Promise<void> {
  await Promise.all([...groupBy(workspaces, (w) => w.repo)].map(([repo, group]) => oneAtATime(repo, async () => {
    for (const workspace of group) await discard(workspace);
  })));
  for (const folder of new Set(workspaces.map((w) => dirname(w.path)))) await rmdir(folder).catch(() => undefined);
}

/** Best effort: the spawn's own error is what the caller needs to see. */
async function discard(workspace: Workspace): Promise<void> {
  try {
    await git(workspace.repo, ['worktree', 'remove', '--force', workspace.path]);
  } catch {
    // Not a worktree git knows (its add failed early): the folder, if any, is still this spawn's.
    await rm(workspace.path, { recursive: true, force: true }).catch(() => undefined);
    await git(workspace.repo, ['worktree', 'prune']).catch(() => undefined);
  }
  await git(workspace.repo, ['branch', '-D', workspace.branch]).catch(() => undefined);
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

/** What an agent did in its worktree, for collect_results and `meshfleet workspaces`. */
export async function reportWorkspace(workspace: Workspace): Promise<WorkspaceReport> {
  const report: WorkspaceReport = { branch: workspace.branch, path: workspace.path, state: workspace.state, base: workspace.base, commits: [], diffstat: '', uncommitted: [] };
  try {
    const commits = await git(workspace.repo, ['log', '--format=%h %s', '--max-count=100', `${workspace.base}..${workspace.branch}`]);
    report.commits = commits === '' ? [] : commits.split('\n');
    report.diffstat = (await git(workspace.repo, ['diff', '--shortstat', workspace.base, workspace.branch])).trim();
    if (existsSync(workspace.path)) report.uncommitted = await uncommitted(workspace.path);
  } catch (err) {
    report.error = existsSync(workspace.repo) ? `git could not read the branch: ${gitSaid(err)}` : `the repository ${workspace.repo} is gone`;
  }
  return report;
}

async function uncommitted(path: string): Promise<string[]> {
  const status = await git(path, ['status', '--porcelain']);
  return status === '' ? [] : status.split('\n').slice(0, 50);
}

/**
 * After the fleet settled: removes the worktree when nothing in it is uncommitted or ignored (the
 * branch and its commits stay), else keeps it. Returns the new state and, when kept, what was uncommitted.
 */
export async function retireWorkspace(workspace: Workspace, signal?: AbortSignal): Promise<{ state: 'removed' | 'kept'; uncommitted: string[] }> {
  if (!existsSync(workspace.repo)) {
    // The repository moved or was deleted: git cannot remove the worktree; leave what is there.
    return existsSync(workspace.path)
      ? { state: 'kept', uncommitted: [`the repository ${workspace.repo} is gone; the folder was left as it is`] }
      : { state: 'removed', uncommitted: [] };
  }
  return oneAtATime(workspace.repo, async () => {
    if (!existsSync(workspace.path)) {
      await git(workspace.repo, ['worktree', 'prune'], signal).catch(() => undefined); // the repository may be gone too
      return { state: 'removed', uncommitted: [] };
    }
    // Ignored files count too: git would delete a .env or build output with the worktree, and they
    // exist nowhere else. `!! path` lines name them.
    const left = await git(workspace.path, ['status', '--porcelain', '--ignored'], signal);
    if (left !== '') return { state: 'kept', uncommitted: left.split('\n').slice(0, 50) };
    await git(workspace.repo, ['worktree', 'remove', workspace.path], signal);
    return { state: 'removed', uncommitted: [] };
  });
}

export interface RetireOptions {
  /** Ends the sweep: git is stopped and nothing more is recorded (the server is shutting down). */
  signal?: AbortSignal;
  /** Wraps each write (the supervisor lowers the busy timeout for its background work). */
  around?: (write: () => void) => void;
}

/**
 * Removes or keeps the worktrees of fleets that settled, and records which. Git runs outside any
 * transaction, one worktree at a time; a worktree git cannot touch is tried again next time.
 */
export async function retireSettledWorkspaces(store: Store, { signal, around = (write) => write() }: RetireOptions = {}): Promise<number> {
  // A function, not a narrowed property: the signal may fire during any await.
  const stopped = (): boolean => signal?.aborted === true;
  let done = 0;
  for (const agent of workspacesToRetire(store)) {
    if (stopped()) break;
    try {
      const { state, uncommitted: left } = await retireWorkspace(agent.workspace!, signal);
      if (stopped()) break;
      around(() => recordWorkspaceRetired(store, agent.id, state, left));
      done++;
    } catch (err) {
      if (stopped()) break;
      log.warn(`could not retire the worktree of agent ${agent.id} at ${agent.workspace!.path}: ${gitSaid(err)}`);
    }
  }
  return done;
}
