// npm run bench (third part): route_work with 1,000 registered agents and a 600-node taxonomy,
// in process and over stdio beside ping, before and after a million messages are stored;
// replacing the 600-node taxonomy, and the largest one set_skill_taxonomy accepts.
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Bench } from 'tinybench';
import { registerCapability } from '../src/mesh/capabilities.js';
import { createFleet } from '../src/mesh/fleets.js';
import { MAX_TAXONOMY_DEPTH, MAX_TAXONOMY_NODES } from '../src/mesh/limits.js';
import { routeWork } from '../src/routing/route-work.js';
import { parseTaxonomy, setTaxonomy, writeTaxonomy } from '../src/routing/taxonomy.js';
import { openStore, type Store } from '../src/store/open.js';
import { packageRoot } from '../src/store/package-root.js';
import { bulkAcknowledgedMessages, scratchDir } from './fixtures.js';
import { report } from './report.js';

const AGENTS = 1_000;
const MILLION = 1_000_000;
const CLI = join(packageRoot, 'dist', 'src', 'cli', 'main.js');

/** 12 areas × 7 topics × 6 skills: 12 + 84 + 504 = 600 nodes. */
function bigTaxonomy(): Record<string, Record<string, string[]>> {
  const tree: Record<string, Record<string, string[]>> = {};
  for (let a = 0; a < 12; a++) {
    const topics: Record<string, string[]> = {};
    for (let t = 0; t < 7; t++) topics[`topic-${a}-${t}`] = Array.from({ length: 6 }, (_, s) => `skill-${a}-${t}-${s}`);
    tree[`area-${a}`] = topics;
  }
  return tree;
}

/**
 * The largest accepted tree, with the most closure pairs: a chain from depth 0 to 15, and every
 * other node a leaf at depth 16 (16 × 17 / 2 + 9,984 × 17 = 169,864 pairs). `prefix` renames
 * every node, so replacing one by the other changes every row.
 */
function largestTaxonomy(prefix: string): Record<string, unknown> {
  const leaves = MAX_TAXONOMY_NODES - MAX_TAXONOMY_DEPTH;
  let tree: unknown = Array.from({ length: leaves }, (_, i) => `${prefix}-leaf-${i}`);
  for (let depth = MAX_TAXONOMY_DEPTH - 1; depth >= 0; depth--) tree = { [`${prefix}-${depth}`]: tree };
  return tree as Record<string, unknown>;
}

/** A deterministic spread of skills: agent i knows three skills and one topic. */
function seedAgents(store: Store): void {
  const { fleet, agents } = createFleet(store, Array.from({ length: 50 }, (_, i) => ({ role: `role-${i}`, prompt: 'work' })));
  const more = Array.from({ length: AGENTS / 50 - 1 }, () => createFleet(store, Array.from({ length: 50 }, (_, i) => ({ role: `role-${i}`, prompt: 'work' }))));
  const all = [{ fleet, agents }, ...more];
  let n = 0;
  for (const f of all) {
    for (const agent of f.agents) {
      const pick = (k: number) => `skill-${(n * 7 + k) % 12}-${(n * 3 + k) % 7}-${(n + k) % 6}`;
      registerCapability(store, { agentId: agent.id, fleetId: f.fleet.id, role: `engineer ${n % 40}`, skills: [pick(0), pick(1), pick(2), `topic-${n % 12}-${n % 7}`] });
      n += 1;
    }
  }
}

function storeMillion(store: Store): void {
  const { fleet, agents: [a, b] } = createFleet(store, [{ role: 'talker', prompt: 'p' }, { role: 'listener', prompt: 'q' }]);
  bulkAcknowledgedMessages(store, MILLION, fleet.id, a!.id, b!.id);
}

const DESCRIPTIONS = [
  'fix skill-3-2-1 in the checkout flow',
  'someone who knows topic-5-1 and skill-5-1-4',
  'broad work across area-7',
];

async function main(): Promise<void> {
  const scratch = scratchDir();
  const dbPath = join(scratch.dir, 'mesh.db');
  let store = openStore(dbPath);
  const largest = [largestTaxonomy('a'), largestTaxonomy('b')];
  const parsed = largest.map(parseTaxonomy);
  let turn = 0;
  const worst = new Bench({ name: `replace the largest accepted taxonomy (${MAX_TAXONOMY_NODES} nodes, depth ${MAX_TAXONOMY_DEPTH}, 169,864 closure pairs) by another with no name in common`, time: 0, iterations: 10, warmupIterations: 2 });
  worst.add('set_skill_taxonomy (parse + write)', () => { setTaxonomy(store, largest[turn++ % 2]); });
  // CPU time beside wall time: on a busy machine the wall time is mostly waiting for a core.
  let cpuMicros = 0;
  let writes = 0;
  worst.add('write lock held (the write transaction alone)', () => {
    const before = process.cpuUsage();
    writeTaxonomy(store, parsed[turn++ % 2]!);
    const used = process.cpuUsage(before);
    cpuMicros += used.user + used.system;
    writes += 1;
  });
  await worst.run();
  report(worst, '');
  const held = worst.tasks[1]!.result;
  if ('latency' in held) {
    console.log(`write lock held per replacement: mean ${held.latency.mean.toFixed(1)} ms, max ${held.latency.max.toFixed(1)} ms (wall); ${(cpuMicros / writes / 1000).toFixed(1)} ms of CPU`);
  }
  const replace = new Bench({ name: 'replace a 600-node taxonomy (nodes + closure table, one transaction)', time: 0, iterations: 20, warmupIterations: 2 });
  const tree = bigTaxonomy();
  replace.add('set_skill_taxonomy', () => { setTaxonomy(store, tree); });
  await replace.run();
  report(replace, '');
  seedAgents(store);

  for (const stored of ['no messages', `${MILLION.toLocaleString('en')} messages`]) {
    if (stored !== 'no messages') {
      const started = Date.now();
      storeMillion(store);
      console.log(`\n(stored ${MILLION.toLocaleString('en')} messages in ${Date.now() - started} ms)`);
      // Measure on a connection that did not do the bulk fill, as a server's would be: the
      // connection that wrote a million rows in one statement stays slower for a while (0.1 →
      // 0.5 ms on this query) even once the WAL is checkpointed.
      store.close();
      store = openStore(dbPath);
    }
    const inProcess = new Bench({ name: `route_work in process: ${AGENTS} agents, 600-node taxonomy, ${stored}`, time: 1_500 });
    DESCRIPTIONS.forEach((d) => inProcess.add(`"${d}"`, () => routeWork(store, d, { topN: 5 })));
    await inProcess.run();
    report(inProcess, '');

    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'serve', '--db', dbPath], env: { PATH: process.env.PATH ?? '' } });
    const client = new Client({ name: 'bench', version: '0' });
    await client.connect(transport);
    const overStdio = new Bench({ name: `route_work over stdio, ${stored}`, time: 1_500 });
    overStdio.add('ping (the protocol floor)', () => client.callTool({ name: 'ping', arguments: {} }));
    DESCRIPTIONS.forEach((d) => overStdio.add(`"${d}"`, () => client.callTool({ name: 'route_work', arguments: { description: d, top_n: 5 } })));
    await overStdio.run();
    report(overStdio, 'ping (the protocol floor)');
    await client.close();
  }
  store.close();
  scratch.dispose();
}

await main();
