// What an agent process is given: its command line, its environment and secret, and what is
// refused before a process is started at all.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { boundedJson, MAX_EVENT_DATA_BYTES, recordEvent } from '../../src/mesh/events.js';
import { createFleet, getAgent } from '../../src/mesh/fleets.js';
import { MAX_PROMPT_BYTES } from '../../src/mesh/limits.js';
import { hashToken } from '../../src/mesh/tokens.js';
import { Supervisor } from '../../src/runtime/supervisor.js';
import { openStore } from '../../src/store/open.js';
import { packageRoot } from '../../src/store/package-root.js';
import { rawDatabase, withRawDatabase } from '../helpers/database.js';
import { tempDir } from '../helpers/files.js';
import { eventually, startHarness, type Harness } from '../helpers/mesh.js';

const TEST_AGENT = `"${process.execPath}" "${join(packageRoot, 'dist', 'src', 'runtime', 'test-agent.js')}"`;
const harnesses: Harness[] = [];
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function settled(h: Harness, fleet_id: string) {
  return eventually(async () => {
    const status = await h.ok('fleet_status', { fleet_id });
    expect(['complete', 'failed']).toContain(status.fleet.status);
    return status;
  }, 30_000);
}

describe('the opencode runtime', () => {
  it('passes the prompt after `--`, so a prompt like "-h" reaches opencode as the message, not as an option', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    // A stand-in opencode that prints the arguments it was given.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'opencode'), `#!${process.execPath}\nprocess.stdout.write(JSON.stringify(process.argv.slice(2)));\n`);
    chmodSync(join(bin, 'opencode'), 0o755);
    mkdirSync(join(dir, '.opencode', 'agents'), { recursive: true });
    writeFileSync(join(dir, '.opencode', 'agents', 'reviewer.md'), '---\ndescription: reviews code\n---\nReview.\n');
    const h = await startHarness({ runtime: { runtime: 'opencode', dbPath: '' }, env: { PATH: `${bin}:${process.env.PATH}` } }, { dir, dbPath: join(dir, 'mesh.db') });
    harnesses.push(h);
    const { fleet_id } = await h.ok('spawn_fleet', {
      agents: [{ role: 'plain', prompt: '-h' }, { role: 'premade', prompt: '--agent=other', agent: 'reviewer' }],
    });
    const status = await settled(h, fleet_id);
    expect(status.agents.map((a: { output: string }) => JSON.parse(a.output))).toEqual([
      ['run', '--', '-h'],
      ['run', '--agent', 'reviewer', '--', '--agent=other'],
    ]);
  }, 60_000);
});

describe('per-agent secrets', () => {
  it('each attempt gets its own MESHFLEET_AGENT_TOKEN, stored only as a hash; the operator\'s and the parent\'s tokens are not passed on', async () => {
    const h = await startHarness({
      runtime: { runtime: 'command', agentCommand: TEST_AGENT, dbPath: '' },
      env: { PATH: process.env.PATH, MESHFLEET_AUTH_TOKEN: 'operator-secret', MESHFLEET_AGENT_TOKEN: 'the-parents-own' },
    });
    harnesses.push(h);
    const envFile = join(h.dir, 'env.jsonl');
    const { fleet_id, agent_ids: [agent] } = await h.ok('spawn_fleet', {
      agents: [{ role: 'flaky', prompt: `record-env:${envFile} flaky:${join(h.dir, 'marker')}` }],
    });
    const status = await settled(h, fleet_id);
    expect(status.agents[0]).toMatchObject({ status: 'complete', attempts: 2 });
    const seen = readFileSync(envFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { agent_token: string; auth_token_set: boolean });
    expect(seen).toHaveLength(2);
    for (const attempt of seen) {
      expect(attempt.auth_token_set).toBe(false);
      expect(attempt.agent_token).toMatch(/^mfa_[A-Za-z0-9_-]{43}$/);
    }
    expect(seen[0]!.agent_token).not.toBe(seen[1]!.agent_token);
    const stored = rawDatabase(h.store.path).value('SELECT token_hash FROM agents WHERE id = ?', agent) as string;
    expect(stored).toBe(hashToken(seen[1]!.agent_token));
    // The database holds no token itself.
    const dump = JSON.stringify(rawDatabase(h.store.path).rows('SELECT * FROM agents')) + JSON.stringify(rawDatabase(h.store.path).rows('SELECT * FROM events'));
    for (const attempt of seen) expect(dump).not.toContain(attempt.agent_token);
  }, 60_000);
});

describe('an agent that cannot be passed to a process', () => {
  it('is failed at its start with an error saying why, without a retry or a process', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = openStore(join(dir, 'mesh.db'));
    cleanups.push(() => store.close());
    const { fleet, agents } = createFleet(store, [
      { role: 'nul', prompt: 'ok' }, { role: 'huge', prompt: 'ok' }, { role: 'path', prompt: 'ok', agent: 'fine' },
    ]);
    // As a row from elsewhere (an older server, an import) may hold them: the tools refuse these up front.
    withRawDatabase(store.path, (db) => {
      const setRow = db.prepare('UPDATE agents SET prompt = ?, agent_file = ? WHERE id = ?');
      setRow.run('first line\0second', null, agents[0]!.id);
      setRow.run('x'.repeat(MAX_PROMPT_BYTES + 1), null, agents[1]!.id);
      setRow.run('ok', '../../etc/evil', agents[2]!.id);
    });

    // opencode need not exist: nothing may get as far as starting it.
    const supervisor = new Supervisor(store, { runtime: 'opencode', dbPath: join(dir, 'mesh.db') }, { PATH: '/nonexistent' }, { tickMs: 50, retryBaseMs: 20 });
    supervisor.begin();
    cleanups.push(() => supervisor.stopAll('test over'));
    for (const agent of agents) supervisor.start(getAgent(store, agent.id)!);

    const final = await eventually(() => {
      const rows = agents.map((a) => getAgent(store, a.id)!);
      for (const row of rows) expect(row.status).toBe('failed');
      return rows;
    });
    expect(final.map((a) => a.attempts)).toEqual([0, 0, 0]);
    expect(final[0]!.error).toMatch(/^could not start: the prompt contains a NUL character/);
    expect(final[1]!.error).toMatch(new RegExp(`^could not start: the prompt is ${MAX_PROMPT_BYTES + 1} bytes; at most ${MAX_PROMPT_BYTES}`));
    expect(final[2]!.error).toMatch(/^could not start: the agent name "..\/..\/etc\/evil" is not a plain name/);
    const kinds = rawDatabase(store.path).values('SELECT kind FROM events WHERE fleet_id = ? AND agent_id IS NOT NULL', fleet.id);
    expect(kinds).not.toContain('agent_retried');
    expect(kinds).not.toContain('agent_started');
  }, 30_000);
});

describe('event data', () => {
  it('an event about a 1 MB role stores a cut role and at most the bound', () => {
    const { dir, cleanup } = tempDir();
    const store = openStore(join(dir, 'mesh.db'));
    try {
      const role = 'r'.repeat(1_048_576);
      store.write(() => recordEvent(store, { kind: 'agent_spawned', data: { role, agent: null } }));
      const data = rawDatabase(store.path).value("SELECT data FROM events WHERE kind = 'agent_spawned'") as string;
      expect(Buffer.byteLength(data)).toBeLessThanOrEqual(MAX_EVENT_DATA_BYTES);
      const parsed = JSON.parse(data);
      expect(parsed.agent).toBeNull();
      expect(parsed.role).toBe(`${'r'.repeat(200)}… (1048576 characters)`);
    } finally {
      store.close();
      cleanup();
    }
  });

  it('data of many values is cut as a whole to the bound, and stays JSON', () => {
    const many = { errors: Array.from({ length: 500 }, (_, i) => `error ${i}: ${'"quoted" é '.repeat(30)}`) };
    const json = boundedJson(many);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(MAX_EVENT_DATA_BYTES);
    expect(JSON.parse(json).cut).toMatch(/^data was \d+ bytes of JSON; its start is kept$/);
    expect(JSON.parse(json).start).toMatch(/^\{"errors":\["error 0: /);
  });
});
