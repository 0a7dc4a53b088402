import { spawn, type ChildProcess } from 'node:child_process';
import { log } from '../log.js';
import { markAgentFinished, markAgentStarted, type Agent } from '../mesh/fleets.js';
import type { Store } from '../store/open.js';
import { launchFor, type RuntimeConfig } from './adapters.js';

/** What is kept of an agent's stdout (its output) and stderr (its error text): the last 64 KiB. */
export const MAX_CAPTURE_BYTES = 65_536;

/**
 * Starts agent processes and records how they end. Spawning returns at once; the process's
 * exit is recorded when it comes. (Retries, heartbeats, timeouts and recovery across servers
 * belong to the supervision issue.)
 */
export class Supervisor {
  private readonly children = new Map<string, { child: ChildProcess; finish: (status: 'interrupted', error: string) => void }>();

  constructor(private readonly store: Store, private readonly config: RuntimeConfig, private readonly env: NodeJS.ProcessEnv) {}

  start(agent: Agent): void {
    let child: ChildProcess;
    try {
      const launch = launchFor(this.config, agent, this.env);
      child = spawn(launch.file, launch.args, { shell: launch.shell, env: launch.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      markAgentFinished(this.store, agent.id, { status: 'failed', output: null, error: `could not start: ${(err as Error).message}` });
      return;
    }
    const stdout = new Tail();
    const stderr = new Tail();
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    let finished = false;
    const finish = (status: 'complete' | 'failed' | 'interrupted', error: string | null) => {
      if (finished) return; // 'error' and 'close' can both fire: record the end once
      finished = true;
      this.children.delete(agent.id);
      try {
        markAgentFinished(this.store, agent.id, { status, output: stdout.text(), error });
      } catch (err) {
        log.error(`could not record the end of agent ${agent.id}`, err);
      }
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'ENOENT' && !launchShell(this.config)
        ? `${this.config.runtime === 'opencode' ? 'opencode' : 'the agent command'} is not installed or not on PATH; install it, or set MESHFLEET_RUNTIME=command and MESHFLEET_AGENT_COMMAND`
        : err.message;
      finish('failed', `could not start: ${hint}`);
    });
    child.once('close', (code, signal) => {
      if (code === 0) finish('complete', null);
      else finish('failed', stderr.text() ?? (signal !== null ? `killed by ${signal}` : `exited with code ${code}`));
    });
    if (child.pid !== undefined) {
      this.children.set(agent.id, { child, finish });
      markAgentStarted(this.store, agent.id, child.pid);
    }
  }

  /** Ends every agent this server started (their whole process groups) and records them interrupted. */
  stopAll(reason: string): void {
    for (const { child, finish } of [...this.children.values()]) {
      finish('interrupted', reason); // recorded now; the exit that follows is not recorded again
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }

  get running(): number {
    return this.children.size;
  }
}

const launchShell = (config: RuntimeConfig): boolean => config.runtime === 'command';

/** Keeps the last MAX_CAPTURE_BYTES of a stream. */
class Tail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private dropped = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes - (this.chunks[0]?.length ?? 0) >= MAX_CAPTURE_BYTES && this.chunks.length > 1) {
      const first = this.chunks.shift()!;
      this.bytes -= first.length;
      this.dropped += first.length;
    }
  }

  text(): string | null {
    if (this.bytes === 0) return null;
    let all = Buffer.concat(this.chunks);
    if (all.length > MAX_CAPTURE_BYTES) {
      this.dropped += all.length - MAX_CAPTURE_BYTES;
      all = all.subarray(all.length - MAX_CAPTURE_BYTES);
    }
    const text = all.toString('utf8');
    return this.dropped > 0 ? `[first ${this.dropped} bytes cut]\n${text}` : text;
  }
}
