import { spawn, type ChildProcess } from 'node:child_process';

export interface WatchedChild {
  readonly child: ChildProcess;
  /** Everything the child wrote to stderr so far, for failure messages. */
  stderr(): string;
  /** The first stdout line matching `pattern`; rejects if the child exits first or time runs out. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGKILL, as a power cut or the OOM killer would end it; resolves once the process is gone. */
  kill9(): Promise<void>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node <args>` with piped output, for tests that stop a process at a moment it reports. */
export function startNode(args: string[], env: NodeJS.ProcessEnv = {}): WatchedChild {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, MESHFLEET_DB: '', AGENT_MESH_DATA_FILE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let partial = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const complete = partial.split('\n');
    partial = complete.pop()!;
    lines.push(...complete);
    for (const wake of waiters) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { err += chunk; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const wake of waiters) wake();
    });
  });

  return {
    child,
    exited,
    stderr: () => err,
    line: (pattern, timeoutMs = 60_000) => new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no stdout line matching ${pattern} within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
      const check = () => {
        const hit = lines.find((l) => pattern.test(l));
        if (hit !== undefined) done(undefined, hit);
        else if (child.exitCode !== null || child.signalCode !== null) {
          done(new Error(`the child exited (${child.exitCode ?? child.signalCode}) before printing a line matching ${pattern}; stderr: ${err}`));
        }
      };
      const done = (error?: Error, hit?: string) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (error) reject(error);
        else resolve(hit!);
      };
      waiters.add(check);
      check();
    }),
    kill9: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
