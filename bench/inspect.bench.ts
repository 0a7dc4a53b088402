// npm run bench (fifth part): what a person looking costs. A mesh of 1,000 fleets of five agents
// (with their events) and one busy fleet whose reviewer has 100,000 unacknowledged messages: each
// view of `meshfleet inspect` as the read model answers it, the dashboard's snapshot, and its idle
// poll (PRAGMA data_version), which runs every interval whether or not anything changed. The busy
// fleet also has a board of 1,000 tasks (each depending on the one before; the first 500 done,
// claimed by its coder), so `--tasks` reads a full page of claims and dependencies.
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { createFleet } from '../src/mesh/fleets.js';
import { agentInbox, dashboardSnapshot, fleetBoard, fleetDetail, meshOverview } from '../src/mesh/overview.js';
import { claimTask, completeTask } from '../src/mesh/task-claims.js';
import { createTasks } from '../src/mesh/tasks.js';
import { readMetrics } from '../src/store/metrics-query.js';
import { openStore } from '../src/store/open.js';
import { dataVersion } from '../src/store/read-model.js';
import { bulkPendingMessages, scratchDir } from './fixtures.js';
import { report } from './report.js';

// Smaller while developing: node dist/bench/inspect.bench.js FLEETS MESSAGES
const FLEETS = Number(process.argv[2] ?? 1_000);
const MESSAGES = Number(process.argv[3] ?? 100_000);

const scratch = scratchDir();
const dbPath = join(scratch.dir, 'mesh.db');
const store = openStore(dbPath);
const started = Date.now();
let busy = { fleetId: '', coder: '', reviewer: '' };
for (let i = 0; i < FLEETS; i += 1) {
  const { fleet, agents } = createFleet(store, ['planner', 'coder', 'reviewer', 'tester', 'writer'].map((role) => ({ role, prompt: 'work' })));
  if (i === 0) busy = { fleetId: fleet.id, coder: agents[1]!.id, reviewer: agents[2]!.id };
}
const planner = createFleet(store, [{ role: 'lead', prompt: 'lead' }]).agents[0]!.id;
bulkPendingMessages(store, MESSAGES, busy.fleetId, planner, busy.reviewer);
const TASKS = 1_000;
const tasks = createTasks(store, busy.fleetId, Array.from({ length: TASKS }, (_, i) => ({
  ref: `t${i}`, title: `step ${i}`, description: 'work', ...(i === 0 ? {} : { dependsOn: [`t${i - 1}`] }),
})), null);
for (const task of tasks.slice(0, TASKS / 2)) {
  claimTask(store, task.id, busy.coder);
  completeTask(store, task.id, { operator: true }, { success: true, result: 'done: '.repeat(100) });
}
console.log(`(seeded ${FLEETS.toLocaleString('en')} fleets of 5 and ${MESSAGES.toLocaleString('en')} pending messages in ${Date.now() - started} ms)`);

const bench = new Bench({ name: `inspect and dashboard, ${FLEETS.toLocaleString('en')} fleets, ${MESSAGES.toLocaleString('en')} messages in one`, time: 1_000, warmupTime: 100 });
bench.add('dashboard idle poll (PRAGMA data_version)', () => dataVersion(store));
bench.add('dashboard snapshot (200 fleets, busy fleet, feed of 200)', () => dashboardSnapshot(store, busy.fleetId, { fleets: 200, feed: 200 }));
bench.add('inspect (50 fleets, 10 agents, 10 events)', () => meshOverview(store, { fleets: 50, agents: 10, events: 10 }));
bench.add('inspect --fleet busy (last 50 of its messages)', () => fleetDetail(store, busy.fleetId, { messages: 50, events: 10 }));
bench.add(`inspect --tasks busy (first 50 of ${TASKS.toLocaleString('en')} tasks)`, () => fleetBoard(store, busy.fleetId, 50));
bench.add(`inspect --tasks busy --limit ${TASKS.toLocaleString('en')} (the whole board)`, () => fleetBoard(store, busy.fleetId, TASKS));
bench.add(`inspect --inbox (first 50 of ${MESSAGES.toLocaleString('en')} pending)`, () => agentInbox(store, busy.reviewer, 50));
bench.add('inspect --metrics', () => readMetrics(store, 50));
await bench.run();
report(bench, 'dashboard idle poll (PRAGMA data_version)');
store.close();
scratch.dispose();
