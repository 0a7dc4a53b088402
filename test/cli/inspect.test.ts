// `meshfleet inspect`, run as a user runs it (the built CLI, a child process, stdout a pipe) on a
// mesh made by real agent processes through the tools.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawDatabase } from '../helpers/database.js';
import { CLI, runCli } from '../helpers/files.js';
import { buildInspectedMesh, type InspectedMesh } from '../helpers/inspected-mesh.js';
import type { Harness } from '../helpers/mesh.js';
import { RuntimeFixtures } from '../helpers/runtime.js';

const fixtures = new RuntimeFixtures();
let h: Harness;
let mesh: InspectedMesh;

beforeAll(async () => {
  ({ h, mesh } = await buildInspectedMesh(fixtures));
}, 60_000);
afterAll(() => fixtures.endAll());

const inspect = (...args: string[]) => runCli(['inspect', '--db', mesh.dbPath, ...args]);
function ok(...args: string[]): string {
  const result = inspect(...args);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}
const json = (...args: string[]) => JSON.parse(ok(...args, '--json'));
/** The table row that starts with `id`, split on the runs of spaces between columns. */
function row(text: string, id: string): string[] {
  const line = text.split('\n').find((l) => l.startsWith(`${id} `) || l.startsWith(`  ${id} `));
  expect(line, `a row for ${id} in\n${text}`).toBeDefined();
  return line!.trim().split(/ {2,}/);
}

describe('meshfleet inspect (fleets, recent agents, recent events)', () => {
  it('lists the fleets newest first with their agents by status, then the agents started last and the last events', () => {
    const out = ok();
    expect(out).toContain(`Database ${mesh.dbPath}`);
    const fleets = out.slice(out.indexOf('FLEETS'), out.indexOf('RECENT AGENTS'));
    expect(fleets.indexOf(mesh.live.fleetId)).toBeLessThan(fleets.indexOf(mesh.failing.fleetId));
    expect(fleets.indexOf(mesh.failing.fleetId)).toBeLessThan(fleets.indexOf(mesh.pipeline.fleetId));
    expect(row(fleets, mesh.pipeline.fleetId).slice(1, 5)).toEqual(['complete', '3', '3 complete', '2']);
    expect(row(fleets, mesh.failing.fleetId).slice(1, 5)).toEqual(['failed', '2', '1 complete, 1 failed', '0']);
    expect(row(fleets, mesh.live.fleetId).slice(1, 5)).toEqual(['running', '2', '2 running', '2']);
    const agents = out.slice(out.indexOf('RECENT AGENTS'), out.indexOf('RECENT EVENTS'));
    const broken = row(agents, mesh.failing.broken);
    expect(broken.slice(1, 4)).toEqual([mesh.failing.fleetId, 'broken', 'failed']);
    expect(broken[5]).toBe('3'); // attempts
    expect(broken.at(-1)).toBe('error: broken: failing on purpose');
    expect(out.slice(out.indexOf('RECENT EVENTS'))).toMatch(/routing_outcome_recorded/);
  });

  it('prints no colour codes when stdout is a pipe', () => {
    expect(ok()).not.toContain('\u001b');
  });

  it('--json: the documented keys', () => {
    const answer = json();
    expect(Object.keys(answer)).toEqual(['database', 'generated_at', 'fleets', 'recent_agents', 'recent_events']);
    expect(answer.fleets.map((f: { fleet_id: string }) => f.fleet_id)).toEqual([mesh.live.fleetId, mesh.failing.fleetId, mesh.pipeline.fleetId]);
    expect(answer.fleets[1]).toMatchObject({
      status: 'failed', agents: { total: 2, pending: 0, running: 0, complete: 1, failed: 1, interrupted: 0 }, messages: 0, timeout_ms: null,
    });
    expect(Object.keys(answer.fleets[0])).toEqual(['fleet_id', 'status', 'created_at', 'completed_at', 'age_ms', 'timeout_ms', 'agents', 'messages']);
    expect(Object.keys(answer.recent_agents[0])).toEqual(AGENT_KEYS);
    expect(answer.recent_events).toHaveLength(10);
    expect(Object.keys(answer.recent_events[0])).toEqual(['id', 'kind', 'fleet_id', 'agent_id', 'data', 'recorded_at']);
    expect(answer.recent_events.at(-1)).toMatchObject({ kind: 'routing_outcome_recorded', agent_id: mesh.pipeline.reviewer, data: { capability_key: 'testing', success: false } });
  });
});

const AGENT_KEYS = ['agent_id', 'fleet_id', 'role', 'profile', 'status', 'pid', 'attempts', 'created_at', 'started_at', 'completed_at',
  'output_head', 'output_chars', 'error_head', 'inbox_pending'];

describe('meshfleet inspect --fleet ID', () => {
  it('shows the agents in spawn order with pid, attempts and output, and the messages they sent', () => {
    const out = ok('--fleet', mesh.pipeline.fleetId);
    expect(out).toMatch(new RegExp(`^Fleet ${mesh.pipeline.fleetId} +complete$`, 'm'));
    expect(out).toContain('3 agents: 3 complete; 2 messages');
    const { planner, coder, reviewer } = mesh.pipeline;
    expect(out.indexOf(planner)).toBeLessThan(out.indexOf(coder));
    const pid = rawDatabase(mesh.dbPath).value<number>('SELECT pid FROM agents WHERE id = ?', reviewer);
    expect(row(out, reviewer)).toEqual([reviewer, 'reviewer', 'complete', String(pid), '1', expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      expect.any(String), '0', 'planner > coder > reviewer']);
    const messages = out.slice(out.indexOf('MESSAGES'));
    const handoff = messages.split('\n').find((l) => l.includes(`${coder}  ${reviewer}`));
    expect(handoff?.trim().split(/ {2,}/).slice(1)).toEqual([coder, reviewer, 'handoff', '0/1', '0', 'planner > coder']);
  });

  it('shows a failed agent\'s attempts and error', () => {
    const out = ok('--fleet', mesh.failing.fleetId);
    expect(row(out, mesh.failing.broken).slice(1, 3)).toEqual(['broken', 'failed']);
    expect(row(out, mesh.failing.broken)[4]).toBe('3');
    expect(out).toMatch(/agent_retried .*"failed_attempt":2/);
  });

  it('--json: fleet, agents, messages, messages_total, events', () => {
    const answer = json('--fleet', mesh.live.fleetId);
    expect(Object.keys(answer)).toEqual(['database', 'generated_at', 'fleet', 'agents', 'messages', 'messages_total', 'events', 'reservations', 'councils']);
    expect(answer).toMatchObject({ reservations: [], councils: [] });
    expect(answer.agents.map((a: { agent_id: string }) => a.agent_id)).toEqual([mesh.live.waiter, mesh.live.lead]);
    expect(answer.messages_total).toBe(2);
    expect(answer.messages[1]).toEqual({
      message_id: expect.any(String), from_agent_id: mesh.live.lead, to_agent_id: '*', type: 'alert', payload_head: 'second: everyone\nline two',
      payload_chars: 25, correlation_id: null, sent_at: expect.any(Number), recipients: 1, pending: 1, receipts: 0,
    });
    expect(answer.agents[0]).toMatchObject({ status: 'running', inbox_pending: 2, attempts: 1 });
  });

  it('--limit N keeps the last N messages and says how many there are', () => {
    const out = ok('--fleet', mesh.live.fleetId, '--limit', '1');
    expect(out).toContain('MESSAGES (last 1 of 2)');
    expect(out).toContain('second: everyone⏎line two');
    expect(out).not.toContain('first: read me');
  });

  it('an unknown fleet is an error that says where to find one, exit 1', () => {
    expect(inspect('--fleet', 'fleet-nope')).toEqual({
      code: 1, stdout: '',
      stderr: `meshfleet: No fleet "fleet-nope" in ${mesh.dbPath}.\n  Run \`meshfleet inspect\` to list the fleets, and pass one of their ids.\n`,
    });
  });
});

describe('meshfleet inspect --tasks FLEET', () => {
  it('a fleet without tasks says how tasks are made', () => {
    const out = ok('--tasks', mesh.pipeline.fleetId);
    expect(out).toContain('TASKS (0), in creation order');
    expect(out).toContain('No tasks. A lead creates them with create_task or create_tasks.');
    expect(json('--tasks', mesh.pipeline.fleetId)).toMatchObject({ tasks: [], tasks_total: 0 });
  });
});

describe('meshfleet inspect --inbox AGENT', () => {
  it('lists the unacknowledged messages oldest first, read or new, and marks nothing read', () => {
    for (let i = 0; i < 2; i += 1) {
      const out = ok('--inbox', mesh.live.waiter);
      expect(out).toMatch(new RegExp(`^Agent ${mesh.live.waiter} \\(waiter\\) of fleet ${mesh.live.fleetId} +running$`, 'm'));
      expect(out).toContain('INBOX (2) unacknowledged, oldest first');
      const lines = out.split('\n').filter((l) => l.includes(mesh.live.lead));
      expect(lines.map((l) => l.trim().split(/ {2,}/).slice(1))).toEqual([
        [mesh.live.lead, 'question', 'read', 'first: read me'],
        [mesh.live.lead, 'alert', 'new', 'second: everyone⏎line two'],
      ]);
    }
    expect(rawDatabase(mesh.dbPath).values('SELECT read_at IS NULL FROM deliveries WHERE agent_id = ? ORDER BY message_seq', mesh.live.waiter)).toEqual([0, 1]);
  });

  it('--json: agent, messages, pending_total', () => {
    const answer = json('--inbox', mesh.live.waiter);
    expect(Object.keys(answer)).toEqual(['database', 'generated_at', 'agent', 'messages', 'pending_total']);
    expect(Object.keys(answer.agent)).toEqual(AGENT_KEYS);
    expect(answer.pending_total).toBe(2);
    expect(Object.keys(answer.messages[0])).toEqual(['message_id', 'fleet_id', 'from_agent_id', 'type', 'payload_head', 'payload_chars', 'correlation_id', 'sent_at', 'read_at']);
    expect(answer.messages.map((m: { read_at: number | null }) => m.read_at === null)).toEqual([false, true]);
  });

  it('an empty inbox says so', () => {
    expect(ok('--inbox', mesh.pipeline.planner)).toContain('Nothing waiting.');
  });

  it('an unknown agent is an error, exit 1', () => {
    const result = inspect('--inbox', 'agent-nope');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`meshfleet: No agent "agent-nope" in ${mesh.dbPath}.\n  Run \`meshfleet inspect --fleet FLEET_ID\` to list a fleet's agents, and pass one of their ids.\n`);
  });

  it('an agent\'s payload cannot drive the terminal: escape sequences are printed as spaces', async () => {
    await h.ok('send_message', { fleet_id: mesh.live.fleetId, from_agent_id: mesh.live.waiter, to_agent_id: mesh.live.lead, type: 'alert',
      payload: 'hi\u001b]0;pwned\u0007\u001b[2Jthere\u009b31m' });
    const out = ok('--inbox', mesh.live.lead);
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(out).toContain('hi ]0;pwned  [2Jthere 31m');
    expect(json('--inbox', mesh.live.lead).messages[0].payload_head).toBe('hi\u001b]0;pwned\u0007\u001b[2Jthere\u009b31m');
  });
});

describe('meshfleet inspect --events N', () => {
  it('shows the last N events, oldest first, ending with the newest', () => {
    const newest = rawDatabase(mesh.dbPath).value<number>('SELECT max(id) FROM events');
    const answer = json('--events', '5');
    expect(answer.events.map((e: { id: number }) => e.id)).toEqual([newest - 4, newest - 3, newest - 2, newest - 1, newest]);
    const out = ok('--events', '5');
    expect(out).toContain('EVENTS (last 5, oldest first)');
    expect(out.trim().split('\n').at(-1)).toMatch(new RegExp(`^${newest} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +\\S+`));
  });
});

describe('meshfleet inspect --metrics', () => {
  it('counts fleets and agents, the success rate, attempts, messages per fleet and outcomes', () => {
    const out = ok('--metrics');
    expect(row(out, 'fleets')).toEqual(['fleets', '3', '1 complete, 1 failed, 1 running']);
    expect(row(out, 'agent success rate')).toEqual(['agent success rate', '80.0%', 'complete among complete, failed and interrupted']);
    expect(row(out, 'attempts')).toEqual(['attempts', '9', '1 agent retried']);
    expect(row(out, 'routing outcomes')).toEqual(['routing outcomes', '8', '75.0% successful']);
    expect(row(out, 'mean agent run')[1]).toMatch(/^(\d+ ms|\d+s( \d+ ms)?|\d+s)$/);
    const answer = json('--metrics');
    expect(Object.keys(answer)).toEqual(['database', 'generated_at', 'fleets', 'agents', 'messages', 'busiest_fleets', 'routing', 'events']);
    expect(answer.fleets).toMatchObject({ total: 3, by_status: { pending: 0, running: 1, complete: 1, failed: 1 } });
    expect(answer.fleets.mean_duration_ms).toBeGreaterThan(0);
    expect(answer.agents).toMatchObject({ total: 7, by_status: { pending: 0, running: 2, complete: 4, failed: 1, interrupted: 0 }, success_rate: 0.8, attempts: 9, retried: 1 });
    expect(answer.messages).toMatchObject({ total: expect.any(Number), deliveries: expect.any(Number), pending_deliveries: expect.any(Number) });
    expect(answer.messages.mean_per_fleet).toBeCloseTo(answer.messages.total / 3);
    expect(answer.busiest_fleets[0]).toEqual({ fleet_id: expect.any(String), messages: expect.any(Number) });
    expect(answer.routing).toEqual({ outcomes: 8, successes: 6, success_rate: 0.75 });
  });
});

describe('meshfleet inspect --routing "task"', () => {
  it('ranks like route_work and explains each score', async () => {
    const out = ok('--routing', 'fix the react page tests', '--top', '3');
    expect(out).toContain('Keywords: fix, react, page, tests');
    expect(out).toMatch(new RegExp(`^1\\. ${mesh.pipeline.coder} +frontend coder +complete +score 2\\.246 = 2 × 1\\.123`, 'm'));
    expect(out).toContain('outcomes: 6 succeeded, 1 failed; Wilson interval 0.623–0.956; factor 1.123');
    expect(row(out, 'react')).toEqual(['react', 'skill', 'react', 'exact', 'react', '0', '2']);
    const fromTool = await h.ok('route_work', { description: 'fix the react page tests', top_n: 3, explain: true });
    const answer = json('--routing', 'fix the react page tests', '--top', '3');
    expect(answer).toMatchObject({ description: 'fix the react page tests', keywords: ['fix', 'react', 'page', 'tests'] });
    expect(answer.matches).toEqual(fromTool.matches);
  });

  it('with --fleet, only that fleet\'s agents; an unknown fleet is an error', () => {
    expect(json('--routing', 'react', '--fleet', mesh.failing.fleetId).matches).toEqual([]);
    expect(json('--routing', 'react', '--fleet', mesh.pipeline.fleetId).matches[0].agent_id).toBe(mesh.pipeline.coder);
    expect(inspect('--routing', 'react', '--fleet', 'fleet-nope').code).toBe(1);
  });

  it('a task with no keywords is an error, exit 1', () => {
    const result = inspect('--routing', 'the and of');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('The description has no keywords to route on.');
  });
});

describe('on a terminal', () => {
  // script(1) gives the CLI a pseudo-terminal, as a person's shell would.
  const onTerminal = (env: Record<string, string>) => spawnSync('script', ['-qec', `"${process.execPath}" "${CLI}" inspect --db "${mesh.dbPath}"`, '/dev/null'], {
    encoding: 'utf8', env: { ...process.env, MESHFLEET_DB: '', NO_COLOR: '', COLUMNS: '300', ...env },
  });

  it.skipIf(spawnSync('script', ['--version']).status !== 0)('paints statuses, and NO_COLOR turns colour off', () => {
    const painted = onTerminal({});
    expect(painted.status).toBe(0);
    expect(painted.stdout).toContain('\u001b[32mcomplete\u001b[39m');
    const plain = onTerminal({ NO_COLOR: '1' });
    expect(plain.status).toBe(0);
    expect(plain.stdout).toContain(mesh.pipeline.fleetId);
    expect(plain.stdout).not.toContain('\u001b[');
  });
});

describe('bad flags: exit 2, one line', () => {
  it.each([
    [['--events', '0'], "--events takes a whole number from 1 to 10000, not '0'."],
    [['--events', 'ten'], "--events takes a whole number from 1 to 10000, not 'ten'."],
    [['--limit', '10001'], "--limit takes a whole number from 1 to 10000, not '10001'."],
    [['--metrics', '--events', '3'], 'inspect shows one view at a time; got --events and --metrics.'],
    [['--top', '3'], '--top goes with --routing "task".'],
    [['--fleet', ' '], '--fleet needs an id.'],
    [['fleets'], "inspect takes no arguments, got 'fleets': name a view with a flag, such as --fleet ID."],
  ])('%j', (args, message) => {
    expect(inspect(...args)).toEqual({ code: 2, stdout: '', stderr: `meshfleet: ${message} Run 'meshfleet --help'.\n` });
  });

  it('a task over the length bound', () => {
    expect(inspect('--routing', 'x'.repeat(4_001)).code).toBe(2);
  });
});

describe('the database is only read', () => {
  it('a missing file is an error, exit 1, and no file is created', () => {
    const missing = join(mesh.dir, 'nothing-here.db');
    const result = runCli(['inspect', '--db', missing]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`meshfleet: No database at ${missing}; inspect never creates one.\n`
      + '  Pass --db PATH, or set MESHFLEET_DB, to an existing Meshfleet database (`meshfleet demo` makes one to look at).\n');
    expect(spawnSync('ls', [mesh.dir], { encoding: 'utf8' }).stdout).not.toContain('nothing-here');
  });
});
