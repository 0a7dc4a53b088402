// One attempt of an agent: its process, what it printed, and how it ended.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Launch } from './adapters.js';
import { isAlive, isGroupAlive, signalGroup } from './processes.js';
import { guarded } from './scheduler.js';

/** What is kept of an agent's stdout (its output) and stderr (its error text): the last 64 KiB. */
export const MAX_CAPTURE_BYTES = 65_536;

/**
 * After the agent exits, how long output may still arrive before its end is recorded. Usually
 * the pipes close at once; a child the agent left behind (OpenCode starts language servers) may
 * hold them for as long as it lives, and the agent's outcome must not wait for that.
 */
export const OUTPUT_AFTER_EXIT_MS = 1_000;

/** Why this server stops an attempt, and what the agent then becomes. */
export interface StopRequest {
  status: 'failed' | 'interrupted';
  reason: string;
}

/** How an attempt ended, as its process and this server saw it. */
export interface AttemptEnd {
  /** Exit code; null when a signal ended the process, or it never ran. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process could not be started (spawn's 'error', e.g. ENOENT). */
  startError: NodeJS.ErrnoException | null;
  /** The process disappeared without its exit reaching this server. */
  vanished: boolean;
  stdout: string | null;
  stderr: string | null;
  /** Set when this server stopped it; the reason says if SIGKILL was needed. */
  stop: StopRequest | null;
}

/**
 * A started agent process in a process group of its own (so a stop reaches everything it
 * started), with the last MAX_CAPTURE_BYTES of its stdout and stderr. `onEnd` is called once:
 * when the output pipes close after the exit, or OUTPUT_AFTER_EXIT_MS after it, whichever is
 * first; for a stopped attempt, not before terminate() is done; at once when the process could
 * not be started.
 */
export class Attempt {
  readonly pid: number | undefined;
  private readonly child: ChildProcess;
  private readonly stdout = new OutputTail();
  private readonly stderr = new OutputTail();
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private closed = false;
  private ended = false;
  private stop: StopRequest | null = null;
  private termination: Promise<void> | undefined;
  /** Set once terminate() has seen the group gone, or killed it. */
  private terminated = false;
  private outputTimer: NodeJS.Timeout | undefined;

  /** Throws when the process cannot even be spawned (e.g. arguments the OS refuses). */
  constructor(launch: Launch, private readonly label: string, private readonly onEnd: (end: AttemptEnd) => void) {
    this.child = spawn(launch.file, launch.args, { shell: launch.shell, env: launch.env, cwd: launch.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    this.child.stdout?.on('data', (chunk: Buffer) => this.stdout.push(chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => this.stderr.push(chunk));
    this.child.once('error', (err: NodeJS.ErrnoException) => guarded(`the start of ${label}`, () => this.finish({ startError: err })));
    this.child.once('exit', (code, signal) => guarded(`the exit of ${label}`, () => this.exited(code, signal)));
    this.child.once('close', () => guarded(`the end of ${label}`, () => {
      this.closed = true;
      this.finish({});
    }));
  }

  /** The agent's own process has exited (its children may live on). */
  get hasExited(): boolean {
    return this.exit !== null || this.ended;
  }

  get isStopping(): boolean {
    return this.stop !== null;
  }

  /** The agent's process is gone, yet no exit was reported. */
  isGoneUnreported(): boolean {
    return this.pid !== undefined && !this.hasExited && !isAlive(this.pid);
  }

  /** Ends an attempt whose process vanished without an exit. */
  endVanished(): void {
    this.finish({ vanished: true });
  }

  /** What it printed so far. */
  output(): string | null {
    return this.stdout.text();
  }

  /**
   * Stops the attempt: SIGTERM to its process group, and SIGKILL if any of the group is left
   * after `graceMs`. The first request's reason is what gets recorded, extended when SIGKILL
   * was needed. Resolves once the group is gone or killed; later calls share that.
   */
  terminate(request: StopRequest, graceMs: number): Promise<void> {
    this.stop ??= { ...request };
    if (this.pid === undefined) return Promise.resolve();
    this.termination ??= this.signalThenKill(this.pid, graceMs);
    return this.termination;
  }

  private async signalThenKill(pid: number, graceMs: number): Promise<void> {
    signalGroup(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isGroupAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    if (isGroupAlive(pid)) {
      if (!this.ended && this.stop !== null) this.stop.reason += `; it was still running ${graceMs} ms after SIGTERM and was killed`;
      signalGroup(pid, 'SIGKILL');
    }
    this.terminated = true;
    // An end held back until now (see finish()) comes now, or when the pipes close, or shortly after.
    if (this.closed) guarded(`the end of ${this.label}`, () => this.finish({}));
    else this.waitForOutput();
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    this.exit = { code, signal };
    this.waitForOutput();
  }

  private waitForOutput(): void {
    clearTimeout(this.outputTimer);
    this.outputTimer = setTimeout(() => guarded(`the end of ${this.label}`, () => this.finish({})), OUTPUT_AFTER_EXIT_MS);
    this.outputTimer.unref();
  }

  private finish(how: { startError?: NodeJS.ErrnoException; vanished?: boolean }): void {
    if (this.ended) return; // 'error', 'close', the output timer and the vanish check may each come
    // A stopped attempt ends when its whole group does: a shell running the agent (the command
    // runtime) dies of SIGTERM at once while the agent may ignore it, and the stop is not over
    // until the agent is gone or killed.
    if (this.termination !== undefined && !this.terminated && how.startError === undefined) return;
    this.ended = true;
    clearTimeout(this.outputTimer);
    // Whatever still holds the pipes is no longer heard: stop reading, and free them.
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    this.onEnd({
      code: this.exit?.code ?? null, signal: this.exit?.signal ?? null,
      startError: how.startError ?? null, vanished: how.vanished ?? false,
      stdout: this.stdout.text(), stderr: this.stderr.text(), stop: this.stop,
    });
  }
}

export type Outcome = { status: 'complete' } | { status: 'failed'; error: string };

/** What an attempt that this server did not stop amounts to: exit 0 is success, anything else a failure. */
export function outcomeOf(end: AttemptEnd, describeStartError: (err: NodeJS.ErrnoException) => string): Outcome {
  if (end.startError !== null) return { status: 'failed', error: `could not start: ${describeStartError(end.startError)}` };
  if (end.vanished) return { status: 'failed', error: 'the agent process ended without reporting' };
  if (end.code === 0) return { status: 'complete' };
  return { status: 'failed', error: end.stderr ?? (end.signal !== null ? `killed by ${end.signal}` : `exited with code ${end.code}`) };
}

/** The last MAX_CAPTURE_BYTES of a stream, and how much came before them. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private dropped = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.length >= MAX_CAPTURE_BYTES) {
      const first = this.chunks.shift()!;
      this.bytes -= first.length;
      this.dropped += first.length;
    }
  }

  /** Null when nothing came; a cut is said in a first line, "[first N bytes cut]". */
  text(): string | null {
    if (this.bytes === 0) return null;
    let all = Buffer.concat(this.chunks);
    let dropped = this.dropped;
    if (all.length > MAX_CAPTURE_BYTES) {
      dropped += all.length - MAX_CAPTURE_BYTES;
      all = all.subarray(all.length - MAX_CAPTURE_BYTES);
    }
    const text = all.toString('utf8');
    return dropped > 0 ? `[first ${dropped} bytes cut]\n${text}` : text;
  }
}
