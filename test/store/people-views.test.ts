// The views for people (migration 0006) at the stock sqlite3 prompt, on a mesh written through the
// domain, and the README's five queries run as printed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { registerCapability } from '../../src/mesh/capabilities.js';
import { createFleet, markAgentFinished, markAgentStarted } from '../../src/mesh/fleets.js';
import { sendMessage } from '../../src/mesh/messages.js';
import { outcomeFactor } from '../../src/routing/outcomes.js';
import { recordRoutingOutcome } from '../../src/routing/route-work.js';
import { openStore, type Store } from '../../src/store/open.js';
import { packageRoot } from '../../src/store/package-root.js';
import { databasePerTest, queryDb } from '../helpers/database.js';
import { hasSqliteCli } from '../helpers/files.js';

let dbPath: string;
databasePerTest((paths) => ({ db: dbPath } = paths));

const T0 = 1_800_000_000_000;

/** Outcome tallies (successes, total) worth checking: none decided, clearly good, clearly bad, edges. */
const TALLIES: [number, number][] = [[1, 1], [0, 1], [3, 3], [0, 4], [6, 7], [10, 10], [0, 10], [5, 10], [12, 20], [30, 31], [1, 9], [50, 100]];

interface Seeded { fleetId: string; done: string; broken: string; idle: string }

function seed(store: Store): Seeded {
  const { fleet, agents } = createFleet(store, [{ role: 'coder', prompt: 'c' }, { role: 'tester', prompt: 't' }, { role: 'idle', prompt: 'i' }], T0);
  const [done, broken, idle] = agents.map((a) => a.id) as [string, string, string];
  const start = (id: string, number: number, at: number) =>
    markAgentStarted(store, id, { pid: 4_000 + number, pidStart: null, supervisorId: 'sup', number, tokenHash: 'h' }, at);
  start(done, 1, T0 + 1_000);
  markAgentFinished(store, done, { status: 'complete', output: 'shipped', error: null, supervisorId: 'sup' }, T0 + 4_000);
  start(broken, 2, T0 + 2_000);
  markAgentFinished(store, broken, { status: 'failed', output: null, error: 'tests red', supervisorId: 'sup' }, T0 + 2_500);
  sendMessage(store, { fleetId: fleet.id, fromAgentId: done, toAgentId: idle, type: 'handoff', payload: 'over to you' }, T0 + 3_000);
  sendMessage(store, { fleetId: fleet.id, fromAgentId: done, toAgentId: '*', type: 'alert', payload: 'all' }, T0 + 3_500);
  registerCapability(store, { agentId: done, fleetId: fleet.id, role: 'coder', skills: ['react'], model: null, contextWindow: null }, T0);
  TALLIES.forEach(([wins, total], i) => {
    for (let n = 0; n < total; n += 1) recordRoutingOutcome(store, { agentId: n % 2 === 0 ? done : broken, capabilityKey: `key-${i}`, success: n < wins }, T0 + n);
  });
  recordRoutingOutcome(store, { agentId: done, capabilityKey: 'React', success: true }, T0 + 5_000);
  return { fleetId: fleet.id, done, broken, idle };
}

let seeded: Seeded;
beforeEach(() => {
  const store = openStore(dbPath);
  seeded = seed(store);
  store.close();
});

const sqlite = (...args: string[]) => spawnSync('sqlite3', [...args], { encoding: 'utf8' });

describe('agent_scores', () => {
  it('gives the factor route_work computes, per agent and key', () => {
    const rows = queryDb<{ agent_id: string; capability_key: string; successes: number; failures: number; factor: number; wilson_lower: number; wilson_upper: number }>(
      dbPath, 'SELECT * FROM agent_scores');
    const tally = (agent: string, key: string) => {
      const outcomes = queryDb<{ s: number; n: number }>(dbPath,
        'SELECT sum(succeeded) AS s, count(*) AS n FROM routing_outcomes WHERE agent_id = ? AND lower(capability_key) = ?', agent, key)[0]!;
      return outcomeFactor(outcomes.s, outcomes.n);
    };
    expect(rows.length).toBeGreaterThan(TALLIES.length);
    for (const r of rows) {
      const expected = tally(r.agent_id, r.capability_key);
      expect({ key: r.capability_key, successes: r.successes, failures: r.failures, factor: r.factor, lower: r.wilson_lower, upper: r.wilson_upper })
        .toEqual({ key: r.capability_key, successes: expected.successes, failures: expected.failures, factor: expected.factor, lower: expected.lower, upper: expected.upper });
    }
    expect(rows.find((r) => r.capability_key === 'react')).toMatchObject({ agent_id: seeded.done, successes: 1, failures: 0, factor: 1 });
  });

  it.skipIf(!hasSqliteCli())('answers at the stock sqlite3 prompt, with the same numbers', () => {
    const result = sqlite(dbPath, "select agent_id, capability_key, successes, failures, factor from agent_scores where capability_key in ('key-4', 'key-6') order by capability_key, agent_id");
    expect(result.stderr).toBe('');
    const factor = (wins: number, total: number) => outcomeFactor(wins, total).factor;
    const rows = result.stdout.trim().split('\n').map((line) => line.split('|')).map(([agent, key, s, f, x]) => [agent, key, Number(s), Number(f), Number(x)]);
    // key-4: 6 of 7 alternate done/broken: done holds n = 0, 2, 4, 6 (wins 0, 2, 4; n = 6 lost), broken n = 1, 3, 5 (all won).
    expect(rows).toEqual([
      [seeded.done, 'key-4', 3, 1, factor(3, 4)], [seeded.broken, 'key-4', 3, 0, factor(3, 3)],
      [seeded.done, 'key-6', 0, 5, factor(0, 5)], [seeded.broken, 'key-6', 0, 5, factor(0, 5)],
    ]);
  });
});

describe.skipIf(!hasSqliteCli())('recent_events and agent_summary at the stock sqlite3 prompt', () => {
  it('recent_events: newest first, with the time as UTC text', () => {
    const newest = queryDb<{ id: number; kind: string }>(dbPath, 'SELECT id, kind FROM events ORDER BY id DESC LIMIT 1')[0]!;
    const result = sqlite(dbPath, 'select id, at, kind from recent_events limit 2');
    expect(result.stderr).toBe('');
    const [first, second] = result.stdout.trim().split('\n');
    expect(first).toBe(`${newest.id}|2027-01-15 08:00:05|${newest.kind}`);
    expect(Number(second!.split('|')[0])).toBe(newest.id - 1);
  });

  it('agent_summary: status, attempts, run time, mail sent and waiting, error', () => {
    const result = sqlite(dbPath, 'select role, status, attempts, pid, run_ms, messages_sent, inbox_pending, error from agent_summary');
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual([
      'coder|complete|1|4001|3000|2|0|',
      'tester|failed|2|4002|500|0|1|tests red',
      'idle|pending|0|||0|2|',
    ]);
  });
});

describe.skipIf(!hasSqliteCli())('the README\'s five queries', () => {
  const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
  const block = /Five queries to start from[^\n]*\n\n```sql\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const queries = block.split(/;\s*\n/).map((q) => q.trim()).filter((q) => q !== '');

  it('are five', () => {
    expect(queries).toHaveLength(5);
  });

  it.each([0, 1, 2, 3, 4])('query %i runs in sqlite3 and answers rows', (i) => {
    // As pasted at the prompt: on stdin (an argument starting with "--" would be taken for an option).
    const result = spawnSync('sqlite3', ['-header', dbPath], { encoding: 'utf8', input: `${queries[i]};\n` });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n').length).toBeGreaterThan(1); // a header and at least one row
  });
});
