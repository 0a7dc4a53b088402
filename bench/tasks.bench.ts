// npm run bench (fifth part): the task board. First what completions teach routing: a fleet where
// three agents claim each skill but one of them delivers, work routed by route_work and completed
// with simulated success, and route_work's precision on later tasks as completions accumulate.
// Then the board's own costs, in process: a claim-and-complete cycle, next_task over 200 ready
// tasks, a batch of 1,000 dependent tasks, and a page of list_tasks on a board of 10,000.
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { registerCapability } from '../src/mesh/capabilities.js';
import { createFleet } from '../src/mesh/fleets.js';
import { claimTask, completeTask } from '../src/mesh/task-claims.js';
import { createTasks, listTasks } from '../src/mesh/tasks.js';
import { nextTask } from '../src/routing/next-task.js';
import { routeWork } from '../src/routing/route-work.js';
import { openStore, type Store } from '../src/store/open.js';
import { scratchDir } from './fixtures.js';
import { report } from './report.js';

const SKILLS = ['react', 'css', 'sql', 'python', 'golang', 'rust', 'docs', 'testing'];
const PER_SKILL = 3;
const GOOD = 0.9;
const POOR = 0.3;
const CHECKPOINTS = [0, 25, 50, 100, 200, 400, 800];

/** A small deterministic generator (mulberry32), so every run simulates the same history. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Fleet { fleetId: string; good: Map<string, string>; rate: Map<string, number> }

/** Three agents per skill, alike on paper; which of them is the good one is drawn at random. */
function seedFleet(store: Store, next: () => number): Fleet {
  const { fleet, agents } = createFleet(store, SKILLS.flatMap((skill) => Array.from({ length: PER_SKILL }, () => ({ role: `${skill} developer`, prompt: 'w' }))));
  const good = new Map<string, string>();
  const rate = new Map<string, number>();
  SKILLS.forEach((skill, s) => {
    const mine = agents.slice(s * PER_SKILL, (s + 1) * PER_SKILL);
    const best = mine[Math.floor(next() * PER_SKILL)]!;
    good.set(skill, best.id);
    for (const agent of mine) {
      registerCapability(store, { agentId: agent.id, fleetId: fleet.id, role: 'developer', skills: [skill] });
      rate.set(agent.id, agent === best ? GOOD : POOR);
    }
  });
  return { fleetId: fleet.id, good, rate };
}

/** Share of skills for which route_work's first choice is the agent that delivers. */
function precision(store: Store, fleet: Fleet): number {
  const hits = SKILLS.filter((skill) => routeWork(store, `${skill} task`, { fleetId: fleet.fleetId })[0]?.agentId === fleet.good.get(skill));
  return hits.length / SKILLS.length;
}

function learningRun(): void {
  const scratch = scratchDir();
  const store = openStore(join(scratch.dir, 'learn.db'));
  const next = random(16);
  const fleet = seedFleet(store, next);
  const rows: Record<string, string | number>[] = [];
  let done = 0;
  let succeeded = 0;
  let windowStart = 0;
  for (const checkpoint of CHECKPOINTS) {
    while (done < checkpoint) {
      const skill = SKILLS[Math.floor(next() * SKILLS.length)]!;
      const [task] = createTasks(store, fleet.fleetId, [{ title: `${skill} work ${done}`, description: 'd', skills: [skill] }], null);
      const routed = routeWork(store, skill, { fleetId: fleet.fleetId })[0]!.agentId;
      claimTask(store, task!.id, routed);
      const success = next() < fleet.rate.get(routed)!;
      completeTask(store, task!.id, { agentId: routed, lead: false }, { success, result: '' });
      if (success) succeeded += 1;
      done += 1;
    }
    rows.push({
      'completions so far': checkpoint,
      'route_work precision (good agent first)': `${(precision(store, fleet) * 100).toFixed(0)}%`,
      'success of the tasks since the last row': checkpoint === 0 ? '' : `${((succeeded / (checkpoint - windowStart)) * 100).toFixed(0)}%`,
    });
    succeeded = 0;
    windowStart = checkpoint;
  }
  console.log(`\ncompletions teach routing: ${SKILLS.length} skills × ${PER_SKILL} agents alike on paper, one per skill succeeds ${GOOD * 100}% of the time, the others ${POOR * 100}%`);
  console.log(`(chance alone picks the good agent ${(100 / PER_SKILL).toFixed(0)}% of the time; every task goes to route_work's first choice)`);
  console.table(rows);
  store.close();
  scratch.dispose();
}

async function boardCosts(): Promise<void> {
  const scratch = scratchDir();
  const store = openStore(join(scratch.dir, 'board.db'));
  const fleet = seedFleet(store, random(7));
  const agents = [...fleet.rate.keys()];
  const bench = new Bench({ name: 'task board, in process', time: 1_000 });
  let n = 0;
  bench.add('create_task + claim_task + complete_task', () => {
    const [task] = createTasks(store, fleet.fleetId, [{ title: `t${n}`, description: 'd', skills: [SKILLS[n % SKILLS.length]!] }], null);
    const agent = agents[n++ % agents.length]!;
    claimTask(store, task!.id, agent);
    completeTask(store, task!.id, { agentId: agent, lead: false }, { success: true, result: 'ok' });
  });
  // 200 ready tasks at one priority, each scored for the agent; the claimed one is put back.
  createTasks(store, fleet.fleetId, Array.from({ length: 200 }, (_, i) => ({ title: `r${i}`, description: 'd', skills: [SKILLS[i % SKILLS.length]!], priority: 10 })), null);
  bench.add('next_task among 200 ready tasks (then released)', () => {
    const answer = nextTask(store, agents[0]!);
    store.write(() => {
      store.tasks.dropClaim(answer.next!.claim.taskId);
      store.tasks.setStatus(answer.next!.claim.taskId, 'open', Date.now());
    });
  });
  await bench.run();
  report(bench, '');

  const batch = new Bench({ name: 'create_tasks of 1,000, each depending on the one before (one transaction)', time: 2_000, iterations: 5 });
  let b = 0;
  batch.add('create_tasks ×1,000', () => {
    const specs = Array.from({ length: 1_000 }, (_, i) => ({ ref: `b${b}-${i}`, title: `chain ${i}`, description: 'd', dependsOn: i === 0 ? [] : [`b${b}-${i - 1}`] }));
    b += 1;
    // A fresh fleet each time, so the board never passes its size limit.
    const { fleet: f } = createFleet(store, [{ role: 'x', prompt: 'x' }]);
    createTasks(store, f.id, specs, null);
  });
  await batch.run();
  report(batch, '');

  const big = createFleet(store, [{ role: 'x', prompt: 'x' }]).fleet.id;
  for (let i = 0; i < 10; i++) createTasks(store, big, Array.from({ length: 1_000 }, (_, j) => ({ title: `big ${i}-${j}`, description: 'd'.repeat(200), skills: ['sql'] })), null);
  const listing = new Bench({ name: 'list_tasks on a board of 10,000 tasks', time: 1_000 });
  listing.add('first page of 100', () => listTasks(store, big, {}, { offset: 0, limit: 100 }));
  listing.add('last page of 100', () => listTasks(store, big, {}, { offset: 9_900, limit: 100 }));
  listing.add('ready: true, first page of 100', () => listTasks(store, big, { ready: true }, { offset: 0, limit: 100 }));
  await listing.run();
  report(listing, '');
  store.close();
  scratch.dispose();
}

learningRun();
await boardCosts();
