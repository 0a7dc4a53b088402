// Another process holds the database's write lock for longer than the busy timeout while agents
// start, fail, retry and finish: nothing the supervisor must record is lost, and nothing crashes.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/runtime/processes.js';
import { openStore } from '../../src/store/open.js';
import { packageRoot } from '../../src/store/package-root.js';
import { rawDatabase } from '../helpers/database.js';
import { tempDir } from '../helpers/files.js';
import { eventually, startHarness, type Harness } from '../helpers/mesh.js';
import { settled } from '../helpers/runtime.js';

const TEST_AGENT = `"${process.execPath}" "${join(packageRoot, 'dist', 'src', 'runtime', 'test-agent.js')}"`;
const HOLDER = join(packageRoot, 'test', 'helpers', 'hold-lock-child.mjs');
/** Short, so a write that meets the held lock gives up quickly instead of stalling the test for 10 s. */
const BUSY_TIMEOUT_MS = 300;

const harnesses: Harness[] = [];
const holders: ChildProcessWithoutNullStreams[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const holder of holders.splice(0)) holder.kill('SIGKILL');
  for (const h of harnesses.splice(0)) await h.close();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function harness(supervision: Record<string, unknown> = {}, existing?: { dir: string; dbPath: string }): Promise<Harness> {
  const h = await startHarness({ runtime: { runtime: 'command', agentCommand: TEST_AGENT, dbPath: '' }, env: { PATH: process.env.PATH }, supervision },
    existing, { busyTimeoutMs: BUSY_TIMEOUT_MS });
  return h;
}

/** Starts a process that takes the write lock and keeps it until release(). */
async function holdWriteLock(dbPath: string): Promise<{ release(): Promise<void> }> {
  const holder = spawn(process.execPath, [HOLDER, dbPath]);
  holders.push(holder);
  let out = '';
  holder.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  holder.stderr.pipe(process.stderr);
  await eventually(() => expect(out).toContain('locked'), 30_000);
  return {
    release: async () => {
      holder.stdin.end();
      await eventually(() => expect(out).toContain('released'), 30_000);
    },
  };
}

const agentEvents = (h: Harness, agentId: string) =>
  (rawDatabase(h.store.path).values('SELECT kind FROM events WHERE agent_id = ? ORDER BY id', agentId) as string[]);

/** Until the agent's process is gone and this server no longer watches it: its end has been handled. */
async function attemptsEnded(h: Harness, pid: number): Promise<void> {
  await eventually(() => expect(isAlive(pid)).toBe(false), 30_000);
  await eventually(async () => expect((await h.ok('get_health')).agents_supervised_here).toBe(0), 30_000);
}

describe('another process holds the write lock past the busy timeout', () => {
  it('an agent that finishes meanwhile is recorded complete, with its output, once the lock is released, even past its agent timeout', async () => {
    const agentTimeoutMs = 6_000;
    const h = await harness({ agentTimeoutMs });
    harnesses.push(h);
    const go = join(h.dir, 'go');
    const { fleet_id, agent_ids: [agent] } = await h.ok('spawn_fleet', { agents: [{ role: 'worker', prompt: `after:${go} ok` }] });
    await eventually(() => expect(existsSync(`${go}.waiting`)).toBe(true), 30_000);
    const started = (await h.ok('fleet_status', { fleet_id })).agents[0];
    expect(started.status).toBe('running');

    const lock = await holdWriteLock(h.dbPath);
    writeFileSync(go, '');
    await attemptsEnded(h, started.pid);
    // The agent timeout passes while its end waits to be written: the database still says running.
    await eventually(() => expect(Date.now()).toBeGreaterThan(started.started_at + agentTimeoutMs + 500), 30_000);
    expect((await h.ok('fleet_status', { fleet_id })).agents[0].status).toBe('running');
    await lock.release();

    const status = await settled(h, fleet_id);
    expect(status.fleet.status).toBe('complete');
    expect(status.agents[0]).toMatchObject({ id: agent, status: 'complete', attempts: 1, output: 'worker: done\n', error: null });
    expect(agentEvents(h, agent!)).toEqual(['agent_spawned', 'agent_started', 'agent_finished']);
  }, 90_000);

  it('a failure, its retry timer and the next attempt, all while the lock is held, are recorded in order afterwards; the server survives', async () => {
    const h = await harness({ retryBaseMs: 200, random: () => 0.5 });
    harnesses.push(h);
    const go = join(h.dir, 'go');
    const envFile = join(h.dir, 'env.jsonl');
    const { fleet_id, agent_ids: [agent] } = await h.ok('spawn_fleet', {
      agents: [{ role: 'flaky', prompt: `after:${go} record-env:${envFile} flaky:${join(h.dir, 'marker')}` }],
    });
    await eventually(() => expect(existsSync(`${go}.waiting`)).toBe(true), 30_000);
    const first = (await h.ok('fleet_status', { fleet_id })).agents[0];

    const lock = await holdWriteLock(h.dbPath);
    writeFileSync(go, '');
    // The second attempt ran (its retry timer fired under the lock) and ended, all before the release.
    await eventually(() => expect(readFileSync(envFile, 'utf8').trim().split('\n')).toHaveLength(2), 30_000);
    await attemptsEnded(h, first.pid);
    await lock.release();

    const status = await settled(h, fleet_id);
    expect(status.fleet.status).toBe('complete');
    expect(status.agents[0]).toMatchObject({ id: agent, status: 'complete', attempts: 2, retry_count: 1, output: 'flaky: recovered\n' });
    expect(agentEvents(h, agent!)).toEqual(['agent_spawned', 'agent_started', 'agent_retried', 'agent_started', 'agent_finished']);
    expect((await h.ok('ping')).status).toBe('ok');
  }, 90_000);

  it('a server shutting down while an agent\'s end waits to be written writes it before it goes', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const dbPath = join(dir, 'mesh.db');
    const h = await harness({}, { dir, dbPath });
    const go = join(dir, 'go');
    const { fleet_id } = await h.ok('spawn_fleet', { agents: [{ role: 'worker', prompt: `after:${go} ok` }] });
    await eventually(() => expect(existsSync(`${go}.waiting`)).toBe(true), 30_000);
    const started = (await h.ok('fleet_status', { fleet_id })).agents[0];

    const lock = await holdWriteLock(dbPath);
    writeFileSync(go, '');
    await attemptsEnded(h, started.pid);
    const closing = h.close();
    await lock.release();
    await closing;

    const store = openStore(dbPath);
    try {
      const row = rawDatabase(store.path).row('SELECT status, output FROM agents WHERE id = ?', started.id);
      expect(row).toEqual({ status: 'complete', output: 'worker: done\n' });
      // Everything written, so the server's supervisor row went with it.
      expect(rawDatabase(store.path).value('SELECT count(*) FROM supervisors')).toBe(0);
    } finally {
      store.close();
    }
  }, 90_000);

  it('the server keeps answering while another process holds the lock: its heartbeat and records wait in the background, not on every call', async () => {
    // The default busy timeout (10 s): a heartbeat that waited for it would freeze every call.
    const h = await startHarness({ supervision: { heartbeatEveryMs: 100, tickMs: 50 } });
    harnesses.push(h);
    const lock = await holdWriteLock(h.dbPath);
    try {
      for (let i = 0; i < 3; i++) {
        // Let a few heartbeats fall due, then ask: the answer must come while the lock is still held.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const answered = await Promise.race([h.ok('ping').then(() => 'answered'), new Promise((resolve) => setTimeout(resolve, 5_000, 'blocked'))]);
        expect(answered).toBe('answered');
      }
    } finally {
      await lock.release();
    }
  });
});
