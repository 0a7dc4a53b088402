// route_work against the SQL query it replaced (test/helpers/route-reference.ts), on random fleets:
// names with versions and punctuation, a random taxonomy over them, synonyms, recorded outcomes,
// agents that ended, two fleets. The same agents in the same order, with the same scores and the
// same points for each word. The data changes between rounds while route_work's connection stays
// open, so a kept index that missed a change would disagree with the reference, which reads afresh.
import { describe, expect, it } from 'vitest';
import { registerCapability } from '../../src/mesh/capabilities.js';
import { createFleet, markAgentFinished } from '../../src/mesh/fleets.js';
import { recordRoutingOutcome, routeWork } from '../../src/routing/route-work.js';
import { setSynonyms } from '../../src/routing/synonyms.js';
import { setTaxonomy } from '../../src/routing/taxonomy.js';
import { openStore, type Store } from '../../src/store/open.js';
import { databasePerTest } from '../helpers/database.js';
import { seededRandom } from '../helpers/random.js';
import { referenceRoute } from '../helpers/route-reference.js';

let dbPath: string;
databasePerTest((paths) => ({ db: dbPath } = paths));

/** Seeded picks, so a failure can be replayed from its seed. */
function generator(seed: number) {
  const next = seededRandom(seed);
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(list: readonly T[]): T => list[int(list.length)]!, some: <T>(list: readonly T[], n: number): T[] => Array.from({ length: n }, () => list[int(list.length)]!) };
}

const NAMES = [
  'react', 'nextjs', 'vue', 'vue3', 'node.js', 'node', 'express', 'fastify', 'c++', 'c#', '.net', 'python', 'python3.12', 'django', 'ci/cd',
  'gpt-4', 'aws_lambda', 'aws', 'lambda', 'fw3_3_1', 'fw3_5_1', 'fw3', 'fw3_5', 'postgres', 'sql', 'docs', 'api', 'kubernetes', 'k8s',
  'terraform', 'security', 'auth', 'testing', 'css', 'ios', 'swift', 'android', 'kotlin', 'data', 'spark',
];
const ROLE_WORDS = ['frontend', 'backend', 'site', 'reliability', 'engineer', 'writer', 'data', 'security', 'mobile', 'api', 'platform'];
const FILLER = ['fix', 'the', 'broken', 'login', 'page', 'slow', 'build', 'deploy', '3.12', '18', 'v2', 'x', 'migrate', 'pipeline'];

/** A random tree over some of the names, three levels at most, each name once. */
function randomTaxonomy(rand: ReturnType<typeof generator>): Record<string, unknown> {
  const names = [...new Set(rand.some(NAMES, 30))];
  const tree: Record<string, Record<string, string[]>> = {};
  let i = 0;
  while (i < names.length) {
    const root = names[i++]!;
    const children: Record<string, string[]> = {};
    for (let c = 0; c < 1 + rand.int(3) && i < names.length; c++) children[names[i++]!] = names.slice(i, i += rand.int(4));
    tree[root] = children;
  }
  return tree;
}

function seed(store: Store, rand: ReturnType<typeof generator>): { fleets: string[]; agents: string[] } {
  setTaxonomy(store, randomTaxonomy(rand));
  const fleets: string[] = [];
  const agents: string[] = [];
  for (let f = 0; f < 2; f++) {
    const { fleet, agents: made } = createFleet(store, Array.from({ length: 30 }, (_, i) => ({ role: `r${i}`, prompt: 'work' })));
    fleets.push(fleet.id);
    for (const agent of made) {
      agents.push(agent.id);
      const role = rand.some(ROLE_WORDS, 1 + rand.int(3)).join(' ');
      registerCapability(store, { agentId: agent.id, fleetId: fleet.id, role, skills: [...new Set(rand.some(NAMES, 1 + rand.int(5)))] });
    }
  }
  return { fleets, agents };
}

/** Random changes of everything routing reads: capabilities, synonyms, taxonomy, outcomes, statuses. */
function change(store: Store, rand: ReturnType<typeof generator>, fleets: string[], agents: string[]): void {
  for (let i = 0; i < 3; i++) {
    const agentId = rand.pick(agents);
    const fleetId = fleets[agents.indexOf(agentId) < 30 ? 0 : 1]!;
    registerCapability(store, { agentId, fleetId, role: rand.some(ROLE_WORDS, 1 + rand.int(2)).join(' '), skills: [...new Set(rand.some(NAMES, 1 + rand.int(4)))] });
  }
  setSynonyms(store, rand.pick(NAMES), [...new Set(rand.some([...NAMES, ...ROLE_WORDS], rand.int(3)))].filter((s) => s !== ''));
  if (rand.next() < 0.3) setTaxonomy(store, randomTaxonomy(rand));
  for (let i = 0; i < 10; i++) recordRoutingOutcome(store, { agentId: rand.pick(agents), capabilityKey: rand.pick([...NAMES, ...ROLE_WORDS]), success: rand.next() < 0.6 });
  const ending = rand.pick(agents);
  markAgentFinished(store, ending, { status: rand.next() < 0.5 ? 'complete' : 'failed', output: null, error: null });
}

const view = (matches: ReturnType<typeof routeWork>) => matches.map((m) => ({
  agentId: m.agentId, score: m.score, live: m.live, points: m.reasons.map((r) => ({ keyword: r.keyword, points: r.points })),
}));

describe('route_work agrees with the reference query', () => {
  it.each([1, 2, 3])('on random fleets, changed between rounds (seed %i)', (seedValue) => {
    const rand = generator(seedValue);
    const writer = openStore(dbPath);
    const router = openStore(dbPath);
    try {
      const { fleets, agents } = seed(writer, rand);
      for (let round = 0; round < 4; round++) {
        if (round > 0) change(writer, rand, fleets, agents);
        for (let d = 0; d < 40; d++) {
          const description = [rand.pick(NAMES), ...rand.some([...NAMES, ...ROLE_WORDS, ...FILLER], rand.int(12))].join(rand.pick([' ', ', ', ' and ']));
          const fleetId = rand.next() < 0.3 ? rand.pick(fleets) : null;
          const topN = rand.pick([1, 5, 20]);
          const ours = view(routeWork(router, description, { topN, ...(fleetId === null ? {} : { fleetId }) }));
          expect(ours, `seed ${seedValue}, round ${round}: "${description}" (fleet ${fleetId}, top ${topN})`).toEqual(referenceRoute(dbPath, description, topN, fleetId));
        }
      }
    } finally {
      router.close();
      writer.close();
    }
  });
});
