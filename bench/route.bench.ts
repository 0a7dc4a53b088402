// npm run bench (third part): route_work with 1,000 registered agents and a 600-node taxonomy,
// in process and over stdio beside ping, before and after a million messages are stored; the
// same with fragment-heavy skill names (fw3_3_1, python3.12, gpt-4…) and descriptions up to
// 50 words; replacing the 600-node taxonomy, and the largest one set_skill_taxonomy accepts.
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Bench } from 'tinybench';
import { registerCapability } from '../src/mesh/capabilities.js';
import { createFleet } from '../src/mesh/fleets.js';
import { MAX_TAXONOMY_DEPTH, MAX_TAXONOMY_NODES } from '../src/mesh/limits.js';
import { routeWork } from '../src/routing/route-work.js';
import { setSynonyms } from '../src/routing/synonyms.js';
import { parseTaxonomy, setTaxonomy, writeTaxonomy } from '../src/routing/taxonomy.js';
import { openStore, type Store } from '../src/store/open.js';
import { packageRoot } from '../src/store/package-root.js';
import { bulkAcknowledgedMessages, scratchDir, settleAgents } from './fixtures.js';
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

/** The same shape with the names real fleets carry: fw3 > fw3_5 > fw3_5_1 (12 + 84 + 504 = 600 nodes). */
function fragmentTaxonomy(): Record<string, Record<string, string[]>> {
  const tree: Record<string, Record<string, string[]>> = {};
  for (let a = 0; a < 12; a++) {
    const topics: Record<string, string[]> = {};
    for (let t = 0; t < 7; t++) topics[`fw${a}_${t}`] = Array.from({ length: 6 }, (_, s) => `fw${a}_${t}_${s}`);
    tree[`fw${a}`] = topics;
  }
  return tree;
}

/** 1,000 agents, each with three fw names, a versioned language, a model and a dotted library. */
function seedFragmentAgents(store: Store): void {
  let n = 0;
  for (let f = 0; f < AGENTS / 50; f++) {
    const { fleet, agents } = createFleet(store, Array.from({ length: 50 }, (_, i) => ({ role: `role_${i}`, prompt: 'work' })));
    for (const agent of agents) {
      const pick = (k: number) => `fw${(n * 7 + k) % 12}_${(n * 3 + k) % 7}_${(n + k) % 6}`;
      registerCapability(store, {
        agentId: agent.id, fleetId: fleet.id, role: `engineer_${n % 40}_v${n % 3}`,
        skills: [pick(0), pick(1), pick(2), `python3.${n % 13}`, `gpt-${n % 5}`, `lib${n % 9}.js`, `fw${n % 12}_${n % 7}`],
      });
      n += 1;
    }
  }
}

const FRAGMENT_DESCRIPTIONS = [
  'fw3_5_1 and fw3_3_1 are broken',
  // 50 words, most of them names that split into numbers and fragments.
  'after the python3.12 upgrade fw3_5_1 fw4_2_0 fw7_1_3 fw0_6_5 and fw11_0_2 fail to boot, gpt-4 and gpt-3 summaries of lib2.js lib7.js logs ' +
    'point at fw3_5 fw4_2 and fw9_4_4 v1.2.3 builds on 18.04 hosts 1 2 3 4 5 6 7 8 9 10; check python3.9 python3.11 fw1_1_1 fw2_2_2 fw5_5_5 fw6_6_0 fw8_0_1 fw10_3_3 gpt-2 lib0.js lib1.js lib3.js',
  // 50 words each held by hundreds of agents (parts of every role, every fw area with its subtree):
  // the most matches 50 words can make on this fleet, about 16,600.
  'engineer python gpt js fw0 fw1 fw2 fw3 fw4 fw5 fw6 fw7 fw8 fw9 fw10 fw11 lib0 lib1 lib2 lib3 lib4 lib5 lib6 lib7 lib8 v0 v1 v2 fw0_0 fw1_1 ' +
    'fw2_2 fw3_3 fw4_4 fw5_5 fw6_6 fw7_0 fw8_1 fw9_2 fw10_3 fw11_4 fw0_5 fw1_6 fw2_0 fw3_1 fw4_2 fw5_3 fw6_4 fw7_5 fw8_6 fw9_0',
  // 50 words each chained from twelve taxonomy areas (fw0-fw1-…-fw11, rotated): a word offers
  // only its first four parts, and a part shared by several words is worked out once.
  Array.from({ length: 50 }, (_, k) => Array.from({ length: 12 }, (_, a) => `fw${(a + k) % 12}`).join('-') + (k >= 12 ? `-x${k}` : '')).join(' '),
  // 50 words of plain English.
  'the checkout page is slow and sometimes shows the wrong total when a customer applies a discount code after changing the delivery address; ' +
    'please find out why the totals differ between the cart and the receipt, fix the rounding, add tests that cover the discount rules, and write a short note for support explaining it',
];

async function measureRouting(store: Store, dbPath: string, label: string, descriptions: readonly string[]): Promise<void> {
  const short = (d: string) => (d.length > 60 ? `${d.slice(0, 57)}… (${d.split(/\s+/).length} words)` : d);
  const inProcess = new Bench({ name: `route_work in process: ${label}`, time: 1_500 });
  descriptions.forEach((d) => inProcess.add(`"${short(d)}"`, () => routeWork(store, d, { topN: 5 })));
  await inProcess.run();
  report(inProcess, '');

  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'serve', '--db', dbPath], env: { PATH: process.env.PATH ?? '' } });
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(transport);
  const overStdio = new Bench({ name: `route_work over stdio: ${label}`, time: 1_500 });
  overStdio.add('ping (the protocol floor)', () => client.callTool({ name: 'ping', arguments: {} }));
  descriptions.forEach((d) => overStdio.add(`"${short(d)}"`, () => client.callTool({ name: 'route_work', arguments: { description: d, top_n: 5 } })));
  await overStdio.run();
  report(overStdio, 'ping (the protocol floor)');
  await client.close();
}

async function fragmentHeavy(dir: string): Promise<void> {
  const dbPath = join(dir, 'fragments.db');
  const seeding = openStore(dbPath);
  setTaxonomy(seeding, fragmentTaxonomy());
  seedFragmentAgents(seeding);
  settleAgents(seeding);
  seeding.close();
  // Measured on a connection that did not write the fleet, as a server's would be.
  const store = openStore(dbPath);
  await measureRouting(store, dbPath, `${AGENTS} agents with fragment-heavy skill names, 600-node taxonomy of them`, FRAGMENT_DESCRIPTIONS);
  await firstRouteAfterChange(store, dbPath);
  store.close();
}

/**
 * route_work keeps what it read (src/store/route-index.ts) until another connection changes the
 * routing tables: the route right after such a change reads again what it needs.
 */
async function firstRouteAfterChange(store: Store, dbPath: string): Promise<void> {
  const other = openStore(dbPath);
  const [someone] = routeWork(store, 'fw3_5_1', { topN: 1 });
  const description = FRAGMENT_DESCRIPTIONS[1]!;
  let turn = 0;
  const bench = new Bench({ name: `the first route_work after another connection changed routing (${description.split(/\s+/).length}-word fragment-heavy description)`, time: 1_500 });
  bench.add('nothing changed (for comparison)', () => routeWork(store, description, { topN: 5 }));
  bench.add('after a capability was registered elsewhere', () => routeWork(store, description, { topN: 5 }), {
    beforeEach: () => registerCapability(other, { agentId: someone!.agentId, fleetId: someone!.fleetId!, role: 'engineer_0_v0', skills: ['fw3_5_1', `fw${turn++ % 12}_1_1`] }),
  });
  bench.add('after a synonym was set elsewhere', () => routeWork(store, description, { topN: 5 }), {
    beforeEach: () => { setSynonyms(other, 'fw3_5_1', turn++ % 2 === 0 ? ['framework-3-5-1'] : []); },
  });
  await bench.run();
  report(bench, 'nothing changed (for comparison)');
  other.close();
}

function storeMillion(store: Store): void {
  const { fleet, agents: [a, b] } = createFleet(store, [{ role: 'talker', prompt: 'p' }, { role: 'listener', prompt: 'q' }]);
  bulkAcknowledgedMessages(store, MILLION, fleet.id, a!.id, b!.id);
  settleAgents(store);
}

const DESCRIPTIONS = [
  'fix skill-3-2-1 in the checkout flow',
  'someone who knows topic-5-1 and skill-5-1-4',
  'broad work across area-7',
];

async function main(): Promise<void> {
  const scratch = scratchDir();
  await fragmentHeavy(scratch.dir);
  if (process.argv.includes('--fragments-only')) return scratch.dispose();
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
  settleAgents(store);

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
    await measureRouting(store, dbPath, `${AGENTS} agents, 600-node taxonomy, ${stored}`, [...DESCRIPTIONS, FRAGMENT_DESCRIPTIONS[4]!]);
  }
  store.close();
  scratch.dispose();
}

await main();
