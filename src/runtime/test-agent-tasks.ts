// The test agent's task-board prompts (see test-agent.ts): a lead that puts a plan on the board,
// workers that take ready tasks until the board has nothing left for them, and a worker that
// claims one task and hangs (for tests that kill it).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

export type Call = (name: string, args?: Record<string, unknown>) => Promise<any>;

/** "tasks-plan:<file>": create_tasks with the JSON list of tasks in <file>; prints the ids. */
export async function planTasks(call: Call, file: string): Promise<string> {
  const { tasks } = await call('create_tasks', { tasks: JSON.parse(readFileSync(file, 'utf8')) });
  return tasks.map((t: { ref: string | null; task_id: string }) => `${t.ref ?? '-'}=${t.task_id}`).join(' ');
}

/**
 * "tasks[:skill,skill]": registers the role and skills, then claims with next_task and completes
 * until nothing is open or claimed (waiting while the plan has not arrived, up to 60 s). Prints
 * the titles it did, in order. "tasks-commit:…" also writes <title>.txt for each task and commits
 * it in the agent's working folder (its worktree), the commit subject being the title.
 */
export async function workTasks(call: Call, role: string, skills: string[], commit = false): Promise<string> {
  await call('register_capability', { role, skills });
  const done: string[] = [];
  const giveUpAt = Date.now() + 60_000;
  while (Date.now() < giveUpAt) {
    const { task, counts } = await call('next_task', { wait_ms: 5_000 });
    if (task !== null) {
      if (commit) commitWork(task.title, role);
      await call('complete_task', { task_id: task.id, success: true, result: `${role} did ${task.title}` });
      done.push(task.title);
      continue;
    }
    const total = Object.values(counts as Record<string, number>).reduce((sum, n) => sum + n, 0);
    if (total > 0 && counts.open + counts.claimed === 0) return done.join(', ');
    if (total === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the board still had work after 60 s; did ${done.length} tasks`);
}

/** "claim-and-hang:<file>": claims the next ready task, writes its id to <file>, hangs until killed. */
export async function claimAndHang(call: Call, file: string): Promise<never> {
  const { task } = await call('next_task', { wait_ms: 30_000 });
  if (task === null) throw new Error('no task was ready within 30 s');
  writeFileSync(file, `${task.id}\n`);
  await new Promise((resolve) => setTimeout(resolve, 120_000));
  throw new Error('was not killed within 120 s');
}

function commitWork(title: string, role: string): void {
  writeFileSync(`${title}.txt`, `${role}\n`);
  for (const args of [['add', `${title}.txt`], ['-c', `user.name=${role}`, '-c', 'user.email=test-agent@example.invalid', 'commit', '-qm', title]]) {
    const git = spawnSync('git', args, { encoding: 'utf8' });
    if (git.status !== 0) throw new Error(`git ${args.join(' ')}: ${git.stderr.trim()}`);
  }
}
