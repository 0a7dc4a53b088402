// Git as a child process the event loop does not wait on: a fleet's worktrees take seconds to make,
// and a server that ran git synchronously answered no other call (ping, send_message, get_inbox)
// until they were all there.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

const GIT_TIMEOUT_MS = 30_000;

/** Runs git in `cwd` and returns its output without the trailing newline; rejects with git's stderr on the error. */
export async function git(cwd: string, args: string[], signal?: AbortSignal): Promise<string> {
  const { stdout } = await run('git', args, { cwd, encoding: 'utf8', timeout: GIT_TIMEOUT_MS, signal });
  return stdout.trimEnd();
}

/** The first line of what git said when it failed (or the error's own message). */
export function gitSaid(err: unknown): string {
  const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
  return (stderr === '' ? (err as Error).message : stderr).split('\n')[0]!;
}

const queues = new Map<string, Promise<unknown>>();

/**
 * Runs `work` when this process has no other worktree change of `repo` under way. Worktree adds
 * and removes in parallel on one repository fail now and then (git 2.39: "failed to read
 * .git/worktrees/<name>/commondir" while another add writes it), so they queue per repository;
 * different repositories go ahead side by side.
 */
export function oneAtATime<T>(repo: string, work: () => Promise<T>): Promise<T> {
  const before = queues.get(repo) ?? Promise.resolve();
  const mine = before.then(work, work);
  const settled = mine.then(() => undefined, () => undefined);
  queues.set(repo, settled);
  // The last in line clears the entry, so the map holds only repositories with work under way.
  void settled.then(() => { if (queues.get(repo) === settled) queues.delete(repo); });
  return mine;
}
