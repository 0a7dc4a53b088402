// `meshfleet inspect --tasks FLEET` and the coordination sections of `--fleet ID` (live file
// reservations, councils, receipts), run as a user runs them (the built CLI, stdout a pipe) on a
// board, reservations, councils and receipts made through the tools for running agents.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawDatabase } from '../helpers/database.js';
import { dumpDatabase, runCli, sha256 } from '../helpers/files.js';
import { eventually, startHarness, type Harness } from '../helpers/mesh.js';

let h: Harness;
let snapshot: string;
let fleetId: string, coder: string, styler: string, lead: string;
let schema: string, api: string, ui: string;
let pending: string, ratified: string, handoff: string;
let wide: { fleetId: string; last: string; firsts: string[] };

beforeAll(async () => {
  // Agents that stay running (a sleep) until the harness closes, so they may hold claims and reservations.
  h = await startHarness({ runtime: { runtime: 'command', agentCommand: 'sleep 120', dbPath: '' } });
  ({ fleet_id: fleetId, agent_ids: [coder, styler, lead] } = await h.ok('spawn_fleet', {
    agents: [{ role: 'coder', prompt: 'c' }, { role: 'styler', prompt: 's' }, { role: 'planner', prompt: 'p', profile: 'lead' }],
  }));
  await eventually(async () => expect((await h.ok('fleet_status', { fleet_id: fleetId })).agents.every((a: { status: string }) => a.status === 'running')).toBe(true));

  ({ tasks: [{ task_id: schema }, { task_id: api }, { task_id: ui }] } = await h.ok('create_tasks', { fleet_id: fleetId, tasks: [
    { ref: 'schema', title: 'Write the schema', description: 'tables for users', priority: 2 },
    { ref: 'api', title: 'Build the API', description: 'endpoints', depends_on: ['schema'] },
    { ref: 'ui', title: 'Build the UI', description: 'forms', depends_on: ['schema', 'api'], priority: -1 },
  ] }));
  await h.ok('claim_task', { task_id: schema, agent_id: coder });
  await h.ok('complete_task', { task_id: schema, success: true, result: 'schema.sql\nwith two tables' });
  await h.ok('claim_task', { task_id: api, agent_id: styler });

  await h.ok('reserve_files', { agent_id: coder, paths: ['src/api/**'], reason: 'building the API' });
  await h.ok('reserve_files', { agent_id: styler, paths: ['docs/*.md'], exclusive: false });
  const { granted } = await h.ok('reserve_files', { agent_id: lead, paths: ['README.md'], reason: 'gone by now' });
  expect(granted).toHaveLength(1);
  rawDatabase(h.dbPath).run("UPDATE file_reservations SET expires_at = ? WHERE pattern = 'README.md'", Date.now() - 1); // as time passing would

  ({ council_id: pending } = await h.ok('open_council', { fleet_id: fleetId, from_agent_id: lead, subject: 'ship on friday', quorum: 2, deadline_ms: 3_600_000 }));
  await h.ok('cast_vote', { message_id: pending, agent_id: coder, approve: true });
  ({ council_id: ratified } = await h.ok('open_council', { fleet_id: fleetId, from_agent_id: lead, subject: 'use sqlite', quorum: 1 }));
  await h.ok('cast_vote', { message_id: ratified, agent_id: styler, approve: true });

  ({ message_id: handoff } = await h.ok('send_message', { fleet_id: fleetId, from_agent_id: lead, to_agent_id: coder, type: 'handoff', payload: 'the API is yours' }));
  await h.ok('receipt', { agent_id: coder, message_id: handoff, action: 'seen' });
  await h.ok('receipt', { agent_id: coder, message_id: handoff, action: 'started', note: 'on it' });

  // Another fleet: one task waiting for six.
  const { fleet_id: wideFleet } = await h.ok('spawn_fleet', { agents: [{ role: 'solo', prompt: 'x' }] });
  const made = await h.ok('create_tasks', { fleet_id: wideFleet, tasks: [
    ...Array.from({ length: 6 }, (_, i) => ({ ref: `p${i}`, title: `part ${i}`, description: 'x' })),
    { title: 'assemble', description: 'x', depends_on: ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'] },
  ] });
  const ids = made.tasks.map((t: { task_id: string }) => t.task_id) as string[];
  wide = { fleetId: wideFleet, last: ids[6]!, firsts: ids.slice(0, 6) };

  // A consistent copy the live fleet cannot change under us: every assertion reads it, and it must stay byte for byte.
  snapshot = join(h.dir, 'snapshot.db');
  rawDatabase(h.dbPath).run('VACUUM INTO ?', snapshot);
}, 60_000);
afterAll(() => h?.close());

function ok(...args: string[]): string {
  const result = runCli(['inspect', '--db', snapshot, ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}
const json = (...args: string[]) => JSON.parse(ok(...args, '--json'));
const cells = (text: string, starts: string): string[] => {
  const line = text.split('\n').find((l) => l.startsWith(`${starts} `));
  expect(line, `a row for ${starts} in\n${text}`).toBeDefined();
  return line!.trim().split(/ {2,}/);
};

describe('meshfleet inspect --tasks FLEET', () => {
  it('lists the board in creation order: status, priority, claim, what each task waits for, the result', () => {
    const out = ok('--tasks', fleetId);
    expect(out).toMatch(new RegExp(`^Fleet ${fleetId} +running$`, 'm'));
    expect(out).toContain('TASKS (3) 1 done, 1 claimed, 1 open, in creation order');
    expect(out.indexOf(schema)).toBeLessThan(out.indexOf(`${api} `));
    expect(cells(out, schema)).toEqual([schema, 'Write the schema', 'done', '2', `${coder} (finished)`, 'schema.sql⏎with two tables']);
    expect(cells(out, api)).toEqual([api, 'Build the API', 'claimed', '0', expect.stringMatching(new RegExp(`^${styler} \\(\\d+m( \\d+s)? left\\)$`)),
      `${schema} (done)`]);
    expect(cells(out, ui)).toEqual([ui, 'Build the UI', 'open', '-1', `${api} (claimed), ${schema} (done)`]); // what it waits for first
  });

  it('--json: fleet, tasks, tasks_total, with waiting_on naming the dependencies not done', () => {
    const answer = json('--tasks', fleetId);
    expect(Object.keys(answer)).toEqual(['database', 'generated_at', 'fleet', 'tasks', 'tasks_total']);
    expect(answer.fleet).toMatchObject({ fleet_id: fleetId, status: 'running' });
    expect(answer.tasks_total).toBe(3);
    expect(answer.tasks[2]).toEqual({
      task_id: ui, title: 'Build the UI', status: 'open', priority: -1, claimed_by: null, lease_expires_at: null, finished_by: null,
      depends_on: [{ task_id: schema, status: 'done' }, { task_id: api, status: 'claimed' }], waiting_on: [api],
      result_head: null, result_chars: 0, blocked_reason: null, created_at: expect.any(Number), updated_at: expect.any(Number),
    });
    expect(answer.tasks[0]).toMatchObject({ status: 'done', finished_by: coder, result_head: 'schema.sql\nwith two tables', result_chars: 26, waiting_on: [] });
    expect(answer.tasks[1]).toMatchObject({ claimed_by: styler, lease_expires_at: expect.any(Number), waiting_on: [] });
  });

  it('--limit N shows the first N and says how many there are', () => {
    expect(ok('--tasks', fleetId, '--limit', '1')).toContain('TASKS (first 1 of 3) 1 done, in creation order');
    expect(json('--tasks', fleetId, '--limit', '2')).toMatchObject({ tasks_total: 3, tasks: [{ task_id: schema }, { task_id: api }] });
  });

  it('an unknown fleet is an error, exit 1; --tasks with another view, or with no id, is refused, exit 2', () => {
    const other = runCli(['inspect', '--db', snapshot, '--tasks', 'fleet-nope']);
    expect(other).toEqual({ code: 1, stdout: '',
      stderr: `meshfleet: No fleet "fleet-nope" in ${snapshot}.\n  Run \`meshfleet inspect\` to list the fleets, and pass one of their ids.\n` });
    expect(runCli(['inspect', '--db', snapshot, '--tasks', fleetId, '--metrics'])).toMatchObject({ code: 2 });
    expect(runCli(['inspect', '--db', snapshot, '--tasks', ' '])).toMatchObject({ code: 2, stderr: "meshfleet: --tasks needs an id. Run 'meshfleet --help'.\n" });
  });
});

describe('a task with many dependencies', () => {
  it('names four in its row and counts the rest; --json lists them all', () => {
    const out = ok('--tasks', wide.fleetId);
    expect(cells(out, wide.last)).toEqual([wide.last, 'assemble', 'open', '0', `${wide.firsts.slice(0, 4).map((id) => `${id} (open)`).join(', ')}, +2 more`]);
    expect(json('--tasks', wide.fleetId).tasks[6].waiting_on).toEqual(wide.firsts);
  });
});

describe('meshfleet inspect --fleet ID: reservations, councils, receipts', () => {
  it('shows the live reservations (not the expired one), the councils with approvals/quorum, and receipts per message', () => {
    const out = ok('--fleet', fleetId);
    const reservations = out.slice(out.indexOf('FILE RESERVATIONS'), out.indexOf('COUNCILS'));
    expect(reservations).toContain('FILE RESERVATIONS (2 live, soonest to expire first)');
    expect(reservations).not.toContain('README.md');
    expect(cells(reservations, coder).slice(0, 4)).toEqual([coder, 'src/api/**', 'exclusive', 'building the API']);
    expect(cells(reservations, styler).slice(0, 3)).toEqual([styler, 'docs/*.md', 'shared']);
    const councils = out.slice(out.indexOf('COUNCILS'), out.indexOf('EVENTS'));
    expect(cells(councils, pending)).toEqual([pending, 'ship on friday', 'open', '1/2', '0', expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)]);
    expect(cells(councils, ratified)).toEqual([ratified, 'use sqlite', 'ratified', '1/1', '0']);
    const line = out.split('\n').find((l) => l.includes('the API is yours'));
    expect(line?.trim().split(/ {2,}/).slice(1)).toEqual([lead, coder, 'handoff', '1/1', '2', 'the API is yours']);
  });

  it('--json adds reservations, councils and each message\'s receipts to the documented keys', () => {
    const answer = json('--fleet', fleetId);
    expect(Object.keys(answer)).toEqual(['database', 'generated_at', 'fleet', 'agents', 'messages', 'messages_total', 'events', 'reservations', 'councils']);
    expect(answer.reservations.map((r: { pattern: string }) => r.pattern).sort()).toEqual(['docs/*.md', 'src/api/**']);
    expect(answer.reservations.find((r: { agent_id: string }) => r.agent_id === coder)).toEqual({
      id: expect.any(Number), agent_id: coder, pattern: 'src/api/**', exclusive: true, reason: 'building the API',
      created_at: expect.any(Number), expires_at: expect.any(Number), expires_in_ms: expect.any(Number),
    });
    expect(answer.councils).toEqual([
      { council_id: pending, subject: 'ship on friday', proposer_id: lead, status: 'open', approvals: 1, declines: 0, total_weight: 2, quorum: 2,
        opened_at: expect.any(Number), deadline_at: expect.any(Number), decided_at: null, awaiting_record: false },
      expect.objectContaining({ council_id: ratified, status: 'ratified', approvals: 1, quorum: 1, deadline_at: null, decided_at: expect.any(Number) }),
    ]);
    const byId = new Map(answer.messages.map((m: { message_id: string; receipts: number }) => [m.message_id, m.receipts]));
    expect(byId.get(handoff)).toBe(2);
    expect(byId.get(ratified)).toBe(0);
  });
});

describe('only reads', () => {
  it('every new view, as text and --json, leaves the database byte for byte as it was', () => {
    const before = { sha: sha256(snapshot), rows: dumpDatabase(snapshot) };
    for (const args of [['--tasks', fleetId], ['--tasks', wide.fleetId], ['--fleet', fleetId]]) {
      ok(...args);
      ok(...args, '--json');
    }
    expect(sha256(snapshot)).toBe(before.sha);
    expect(dumpDatabase(snapshot)).toEqual(before.rows);
  });
});
