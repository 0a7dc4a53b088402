import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rawDatabase } from '../helpers/database.js';
import { eventually, startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
afterEach(() => h.close());

// A worker that prints who it is: the command runtime runs it through the shell for each agent.
const WHOAMI = 'echo "$MESHFLEET_ROLE $MESHFLEET_AGENT_ID $MESHFLEET_FLEET_ID"; echo "prompt: $MESHFLEET_PROMPT"';

describe('spawn_fleet, fleet_status, collect_results', () => {
  it('starts one process per agent, each told its own ids, and collects their output', async () => {
    h = await startHarness({ runtime: { runtime: 'command', agentCommand: WHOAMI, dbPath: '' } });
    const { fleet_id, agent_ids } = await h.ok('spawn_fleet', { agents: [{ role: 'writer', prompt: 'write docs' }, { role: 'editor', prompt: 'edit' }] });
    expect(agent_ids).toHaveLength(2);
    const results = await eventually(async () => {
      const r = await h.ok('collect_results', { fleet_id });
      expect(r.status).toBe('complete');
      return r;
    });
    expect(results.results).toEqual([
      { agent_id: agent_ids[0], role: 'writer', status: 'complete', output: `writer ${agent_ids[0]} ${fleet_id}\nprompt: write docs\n`, error: null },
      { agent_id: agent_ids[1], role: 'editor', status: 'complete', output: `editor ${agent_ids[1]} ${fleet_id}\nprompt: edit\n`, error: null },
    ]);
    const status = await h.ok('fleet_status', { fleet_id });
    expect(status.fleet).toMatchObject({ id: fleet_id, status: 'complete', timeout_ms: null });
    expect(status.agents[0]).toMatchObject({ id: agent_ids[0], role: 'writer', prompt: 'write docs', status: 'complete', retry_count: 0 });
    expect(status.agents[0].pid).toBeGreaterThan(0);
    expect(status.agents[0].completed_at).toBeGreaterThanOrEqual(status.agents[0].started_at);
  });

  it('a failing agent fails its fleet, with its stderr as the error', async () => {
    h = await startHarness({ runtime: { runtime: 'command', agentCommand: 'echo "cannot find tests" >&2; exit 3', dbPath: '' } });
    const { fleet_id } = await h.ok('spawn_fleet', { agents: [{ role: 'tester', prompt: 'test' }] });
    const r = await eventually(async () => {
      const result = await h.ok('collect_results', { fleet_id });
      expect(result.status).toBe('failed');
      return result;
    });
    expect(r.results[0]).toMatchObject({ status: 'failed', error: 'cannot find tests\n' });
  });

  it('a runtime that is not installed fails the agent with a message saying what to do', async () => {
    h = await startHarness({ runtime: { runtime: 'opencode', dbPath: '' }, env: { PATH: '/nonexistent' } });
    const { fleet_id } = await h.ok('spawn_fleet', { agents: [{ role: 'x', prompt: 'y' }] });
    const r = await eventually(async () => {
      const result = await h.ok('collect_results', { fleet_id });
      expect(result.status).toBe('failed');
      return result;
    });
    expect(r.results[0].error).toMatch(/opencode is not installed or not on PATH; install it, or set MESHFLEET_RUNTIME=command/);
  });

  it('refuses an empty fleet and says what a fleet needs', async () => {
    h = await startHarness();
    expect(await h.fails('spawn_fleet', { agents: [] })).toMatch(/agents must hold at least 1 item/);
    expect(await h.fails('spawn_fleet', { agents: [{ role: '', prompt: 'p' }] })).toMatch(/role must not be empty/);
    expect(await h.ok('list_fleets')).toEqual({ fleets: [], has_more: false, next_offset: null });
  });
});

describe('list_fleets, set_fleet_timeout, attach_agent', () => {
  it('lists fleets with agent counts, newest first', async () => {
    h = await startHarness({ runtime: { runtime: 'command', agentCommand: 'sleep 5', dbPath: '' } });
    const first = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'p' }] });
    const { fleets } = await eventually(async () => {
      const listed = await h.ok('list_fleets');
      expect(listed.fleets[0].agents_running).toBe(2);
      return listed;
    });
    expect(fleets.map((f: { id: string }) => f.id)).toEqual([second.fleet_id, first.fleet_id]);
    expect(fleets[0]).toMatchObject({ status: 'running', agent_count: 2, agents_complete: 0, agents_failed: 0, agents_running: 2 });
  });

  it('counts interrupted and pending agents too, and pages', async () => {
    h = await startHarness({ runtime: { runtime: 'command', agentCommand: 'sleep 5', dbPath: '' } });
    const { fleet_id } = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'p' }] });
    await h.ok('spawn_fleet', { agents: [{ role: 'c', prompt: 'p' }] });
    rawDatabase(h.store.path).run("UPDATE agents SET status = 'interrupted' WHERE fleet_id = ? AND role = 'a'", fleet_id);
    rawDatabase(h.store.path).run("UPDATE agents SET status = 'pending' WHERE fleet_id = ? AND role = 'b'", fleet_id);
    const { fleets: [newest], has_more, next_offset } = await h.ok('list_fleets', { limit: 1 });
    expect(has_more).toBe(true);
    const { fleets: [older], has_more: more } = await h.ok('list_fleets', { limit: 1, offset: next_offset });
    expect(more).toBe(false);
    expect(older).toMatchObject({ id: fleet_id, agent_count: 2, agents_interrupted: 1, agents_pending: 1, agents_running: 0 });
    expect(newest.id).not.toBe(fleet_id);
  });

  it('set_fleet_timeout stores the timeout and refuses a negative one', async () => {
    h = await startHarness();
    const { fleet_id } = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }] });
    expect(await h.ok('set_fleet_timeout', { fleet_id, timeout_ms: 600_000 })).toEqual({ ok: true, fleet_id, timeout_ms: 600_000 });
    expect((await h.ok('fleet_status', { fleet_id })).fleet.timeout_ms).toBe(600_000);
    expect(await h.fails('set_fleet_timeout', { fleet_id, timeout_ms: -1 })).toMatch(/timeout_ms must be 0 or more/);
    expect(await h.fails('set_fleet_timeout', { fleet_id: 'fleet-nope', timeout_ms: 1 })).toMatch(/No fleet "fleet-nope"/);
  });

  it('attach_agent adds a running agent to a settled fleet, which runs again', async () => {
    h = await startHarness({ runtime: { runtime: 'command', agentCommand: 'echo $MESHFLEET_ROLE', dbPath: '' } });
    const { fleet_id } = await h.ok('spawn_fleet', { agents: [{ role: 'first', prompt: 'p' }] });
    await eventually(async () => expect((await h.ok('fleet_status', { fleet_id })).fleet.status).toBe('complete'));
    const attached = await h.ok('attach_agent', { fleet_id, role: 'late', prompt: 'catch up', agent: 'reviewer' });
    expect(attached).toMatchObject({ fleet_id, role: 'late', agent_file: 'reviewer' });
    const results = await eventually(async () => {
      const r = await h.ok('collect_results', { fleet_id });
      expect(r.status).toBe('complete');
      expect(r.results).toHaveLength(2);
      return r;
    });
    expect(results.results[1]).toMatchObject({ agent_id: attached.agent_id, output: 'late\n' });
    const kinds = rawDatabase(h.store.path).values('SELECT kind FROM events WHERE fleet_id = ? ORDER BY id', fleet_id);
    expect(kinds).toEqual(expect.arrayContaining(['fleet_created', 'agent_spawned', 'agent_started', 'agent_finished', 'fleet_settled', 'agent_attached']));
  });
});

describe('list_agents', () => {
  it('lists premade agents of the project and of the user, project first', async () => {
    h = await startHarness();
    mkdirSync(join(h.dir, '.opencode', 'agents'), { recursive: true });
    writeFileSync(join(h.dir, '.opencode', 'agents', 'reviewer.md'), '---\ndescription: Reviews diffs for bugs\nmode: subagent\n---\nYou review.\n');
    mkdirSync(join(h.dir, '.config', 'opencode', 'agents'), { recursive: true });
    writeFileSync(join(h.dir, '.config', 'opencode', 'agents', 'planner.md'), '---\ndescription: "Plans work"\n---\n');
    writeFileSync(join(h.dir, '.config', 'opencode', 'agents', 'reviewer.md'), '---\ndescription: shadowed\n---\n');
    expect(await h.ok('list_agents')).toEqual({
      count: 2,
      agents: [
        { filename: 'reviewer.md', name: 'reviewer', description: 'Reviews diffs for bugs', mode: 'subagent' },
        { filename: 'planner.md', name: 'planner', description: 'Plans work', mode: null },
      ],
      has_more: false,
      next_offset: null,
    });
  });
});

describe('premade agents', () => {
  it('spawn_fleet with agent: "<stem>" passes it to the runtime and registers the skills its frontmatter declares', async () => {
    h = await startHarness({ runtime: { runtime: 'command', agentCommand: 'echo "$MESHFLEET_ROLE"', dbPath: '' } });
    mkdirSync(join(h.dir, '.opencode', 'agents'), { recursive: true });
    writeFileSync(join(h.dir, '.opencode', 'agents', 'sec.md'), '---\ndescription: Finds injection bugs\nmode: subagent\nmodel: opus\nskills:\n  - security\n  - sql-injection\n---\nYou audit.\n');
    writeFileSync(join(h.dir, '.opencode', 'agents', 'docs.md'), '---\ndescription: Writes tutorials and API docs\n---\n');
    const { fleet_id, agent_ids: [auditor, writer] } = await h.ok('spawn_fleet', {
      agents: [{ role: 'auditor', prompt: 'audit', agent: 'sec' }, { role: 'writer', prompt: 'write', agent: 'docs' }],
    });
    expect((await h.ok('fleet_status', { fleet_id })).agents.map((a: { agent_file: string }) => a.agent_file)).toEqual(['sec', 'docs']);
    expect(rawDatabase(h.store.path).values('SELECT skill FROM capability_skills WHERE agent_id = ? ORDER BY position', auditor)).toEqual(['security', 'sql-injection']);
    expect(rawDatabase(h.store.path).value('SELECT model FROM capabilities WHERE agent_id = ?', auditor)).toBe('opus');
    expect(rawDatabase(h.store.path).values('SELECT skill FROM capability_skills WHERE agent_id = ? ORDER BY position', writer)).toEqual(['writes', 'tutorials', 'api', 'docs']);
    expect((await h.ok('route_work', { description: 'check for sql-injection' })).matches[0].agent_id).toBe(auditor);
  });
});
