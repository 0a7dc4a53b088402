// npm run bench (fifth part): routing quality on the hand-labelled set (fixtures/routing-quality.json):
// precision@1 and MRR for Meshfleet's route_work and the two baselines (bench/baseline/keyword-route.ts),
// side by side, per kind of task; then the same after a simulated run of recorded outcomes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerCapability } from '../src/mesh/capabilities.js';
import { createFleet } from '../src/mesh/fleets.js';
import { MAX_TOP_N } from '../src/mesh/limits.js';
import { recordRoutingOutcome, routeWork } from '../src/routing/route-work.js';
import { seedRoutingDefaults } from '../src/routing/seed.js';
import { openStore, type Store } from '../src/store/open.js';
import { packageRoot } from '../src/store/package-root.js';
import { keywords } from '../src/store/terms.js';
import { KeywordRouter, type BaselineAgent } from './baseline/keyword-route.js';
import { scratchDir } from './fixtures.js';

interface LabelledTask {
  kind: string;
  task: string;
  /** The agents a lead would pick; [] for nobody. */
  expect: string[];
}

interface Scorer {
  label: string;
  /** Fixture agent ids, best first; only agents scoring above zero. */
  rank(task: string, topN: number): string[];
  record(agentId: string, task: string, success: boolean): void;
}

const set = JSON.parse(readFileSync(join(packageRoot, 'fixtures', 'routing-quality.json'), 'utf8')) as { agents: BaselineAgent[]; tasks: LabelledTask[] };

/** route_work on a real database with the default taxonomy and synonyms, as a new install has them. */
function meshfleet(store: Store): Scorer {
  seedRoutingDefaults(store);
  const { fleet, agents } = createFleet(store, set.agents.map((a) => ({ role: a.role, prompt: 'work' })));
  const toFixture = new Map<string, string>();
  const toReal = new Map<string, string>();
  set.agents.forEach((a, i) => {
    const real = agents[i]!.id;
    toFixture.set(real, a.id);
    toReal.set(a.id, real);
    registerCapability(store, { agentId: real, fleetId: fleet.id, role: a.role, skills: a.skills });
  });
  return {
    label: 'meshfleet route_work',
    rank: (task, topN) => routeWork(store, task, { topN }).filter((m) => m.score > 0).map((m) => toFixture.get(m.agentId)!),
    // The lead records the outcome under each of the task's words, the keys route_work pools.
    record: (agentId, task, success) => {
      for (const key of keywords(task)) recordRoutingOutcome(store, { agentId: toReal.get(agentId)!, capabilityKey: key, success });
    },
  };
}

function baseline(label: string, weightBeforeCut: boolean): Scorer {
  const router = new KeywordRouter(label, set.agents, weightBeforeCut);
  return {
    label,
    rank: (task, topN) => router.route(task, topN).filter((m) => m.score > 0).map((m) => m.agentId),
    record: (agentId, _task, success) => router.recordOutcome(agentId, success),
  };
}

interface Score {
  p1: number;
  mrr: number;
  n: number;
}

/**
 * Precision@1 asks for one agent (top_n 1), as a lead routing a task does; MRR ranks every
 * agent (top_n MAX_TOP_N). A task for nobody is right when nobody scores above zero.
 */
function judge(scorer: Scorer, task: LabelledTask): { p1: number; rr: number } {
  const first = scorer.rank(task.task, 1)[0];
  const ranked = scorer.rank(task.task, MAX_TOP_N);
  if (task.expect.length === 0) return { p1: first === undefined ? 1 : 0, rr: ranked.length === 0 ? 1 : 0 };
  const at = ranked.findIndex((id) => task.expect.includes(id));
  return { p1: first !== undefined && task.expect.includes(first) ? 1 : 0, rr: at < 0 ? 0 : 1 / (at + 1) };
}

function evaluate(scorer: Scorer): Map<string, Score> {
  const byKind = new Map<string, Score>();
  for (const task of set.tasks) {
    const { p1, rr } = judge(scorer, task);
    for (const kind of ['all', task.kind]) {
      const s = byKind.get(kind) ?? { p1: 0, mrr: 0, n: 0 };
      byKind.set(kind, { p1: s.p1 + p1, mrr: s.mrr + rr, n: s.n + 1 });
    }
  }
  return byKind;
}

/**
 * One pass of recurring work as a lead runs it: route each task to one agent; a right agent's
 * success is recorded; a wrong one's failure, and a success for the agent the lead then gives it to.
 */
function replayOutcomes(scorer: Scorer): void {
  for (const task of set.tasks) {
    const first = scorer.rank(task.task, 1)[0];
    if (first !== undefined && task.expect.includes(first)) {
      scorer.record(first, task.task, true);
      continue;
    }
    if (first !== undefined) scorer.record(first, task.task, false);
    if (task.expect.length > 0) scorer.record(task.expect[0]!, task.task, true);
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function table(title: string, results: { label: string; scores: Map<string, Score> }[]): void {
  console.log(`\n${title}`);
  const kinds = ['all', ...new Set(set.tasks.map((t) => t.kind))];
  console.table(kinds.map((kind) => {
    const row: Record<string, string | number> = { tasks: kind, n: results[0]!.scores.get(kind)!.n };
    for (const r of results) {
      const s = r.scores.get(kind)!;
      row[`${r.label} P@1`] = pct(s.p1 / s.n);
      row[`${r.label} MRR`] = (s.mrr / s.n).toFixed(3);
    }
    return row;
  }));
}

function main(): void {
  const scratch = scratchDir();
  const store = openStore(join(scratch.dir, 'quality.db'));
  const scorers = [meshfleet(store), baseline('old server', false), baseline('first SQLite', true)];
  console.log(`routing quality: ${set.agents.length} agents, ${set.tasks.length} hand-labelled tasks (fixtures/routing-quality.json)`);
  table('before any recorded outcome', scorers.map((s) => ({ label: s.label, scores: evaluate(s) })));
  for (const s of scorers) replayOutcomes(s);
  table('after one replay of every task with its outcome recorded (recurring work)', scorers.map((s) => ({ label: s.label, scores: evaluate(s) })));
  store.close();
  scratch.dispose();
}

main();
