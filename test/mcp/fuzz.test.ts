// Every tool, called with hostile arguments: the server answers each call, stays up, leaks no
// stack, SQL or schema dump, and an invalid call stores nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawDatabase, withRawDatabase } from '../helpers/database.js';
import { startAgentServer, startHarness, type Harness } from '../helpers/mesh.js';
import { seededRandom } from '../helpers/random.js';

const CALLS_PER_TOOL = 40;

function deep(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < levels; i++) value = { [`k${i % 3}`]: value };
  return value;
}

let h: Harness;
let agentServer: Harness;
let ids: string[];
let tables: string[];

beforeAll(async () => {
  h = await startHarness();
  const { fleet_id, agent_ids } = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'a' }, { role: 'b', prompt: 'b', profile: 'lead' }] });
  await h.ok('save_fleet_template', { name: 'fuzz', agents: [{ role: 'r', prompt: 'p' }] });
  agentServer = await startAgentServer(h, agent_ids[1]);
  ids = [fleet_id, ...agent_ids, 'fuzz', '*'];
  // Not the full-text index and its queue: servers index queued messages on every tick, between
  // any two calls (derived data, like an index; test/mcp/search.test.ts checks it).
  tables = rawDatabase(h.store.path).values("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'messages\\_fts%' ESCAPE '\\'") as string[];
}, 60_000);
afterAll(async () => {
  await agentServer?.close();
  await h?.close();
});

function hostileValue(next: () => number): unknown {
  const pool: (() => unknown)[] = [
    () => undefined, () => null, () => true, () => -1, () => 0, () => 1.5, () => 2 ** 53, () => -(2 ** 60), () => 1e308,
    () => '', () => ' ', () => 'x'.repeat(1 + Math.floor(next() * 300)), () => 'y'.repeat(70_000), () => 'LONE\ud83d', () => 'nul\u0000byte',
    () => '../../etc/passwd', () => '-h', () => '%ZZ', () => "'; DROP TABLE messages; --", () => '\u0001'.repeat(1_000),
    () => ids[Math.floor(next() * ids.length)], () => [], () => [null], () => ['a', 1, {}], () => Array.from({ length: 200 }, (_, i) => `s${i}`),
    () => ({}), () => ({ __proto__: { polluted: true } }), () => ({ constructor: { prototype: { x: 1 } } }), () => deep(5_000),
    () => ({ role: 'r', prompt: 'p' }), () => [{ role: 'r', prompt: 'p', agent: '../x' }],
  ];
  return pool[Math.floor(next() * pool.length)]!();
}

function hostileArgs(schema: { properties?: Record<string, unknown> }, next: () => number): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties ?? {})) {
    if (next() < 0.25) continue;
    const value = hostileValue(next);
    if (value !== undefined) args[key] = value;
  }
  if (next() < 0.2) args[`unknown_${Math.floor(next() * 10)}`] = hostileValue(next);
  return args;
}

const describeArgs = (args: unknown): string => {
  try {
    return JSON.stringify(args).slice(0, 300);
  } catch {
    return '(too deep to print)';
  }
};

// One connection for all tables: a connection per table made each call cost ~30 opens.
const counts = () => withRawDatabase(h.store.path, (db) => tables.map((t) => db.prepare(`SELECT count(*) FROM "${t}"`).pluck().get()));
const LEAKS = /\n\s+at |SQLITE_|SqliteError|ZodError|"code":|\bSELECT\b|\bINSERT INTO\b|Maximum call stack|undefined is not|Cannot read prop/;

describe.each([['the operator\'s server', () => h], ['a lead agent\'s server', () => agentServer]])('%s', (_, server) => {
  it('answers every hostile call with a result or a clean error, and invalid calls store nothing', async () => {
    const { tools } = await server().client.listTools();
    expect(tools.length).toBeGreaterThan(10);
    const next = seededRandom(20261125);
    for (const tool of tools) {
      if (tool.name === 'wait_for_messages') continue; // blocks by design; covered with timeouts elsewhere
      for (let i = 0; i < CALLS_PER_TOOL; i++) {
        const args = hostileArgs(tool.inputSchema as { properties?: Record<string, unknown> }, next);
        const before = counts();
        const result = await server().client.callTool({ name: tool.name, arguments: args });
        const content = result.content as { type: string; text: string }[];
        expect(content, tool.name).toHaveLength(1);
        const json = JSON.parse(content[0]!.text);
        if (result.isError) {
          const context = `${tool.name}(${describeArgs(args)}) → ${json.error?.slice(0, 300)}`;
          expect(Object.keys(json), context).toEqual(['error']);
          expect(json.error.length, context).toBeLessThanOrEqual(1_001);
          expect(json.error, context).not.toMatch(LEAKS);
          expect(counts(), context).toEqual(before);
        }
      }
    }
    expect(await server().ok('ping')).toMatchObject({ status: 'ok' });
    expect(rawDatabase(h.store.path).value('PRAGMA integrity_check')).toBe('ok');
  }, 120_000);
});
