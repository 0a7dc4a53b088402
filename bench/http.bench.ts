// npm run bench (HTTP part): what one hub sustains over MCP Streamable HTTP. Eight remote agents,
// each its own SDK client with its own token and session, send at once to the hub, which runs in
// a process of its own; beside them one client alone, and ping (the protocol floor) from eight.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Bench } from 'tinybench';
import { createFleet } from '../src/mesh/fleets.js';
import { attachRemoteAgent } from '../src/mesh/remote-agents.js';
import { openStore } from '../src/store/open.js';
import { packageRoot } from '../src/store/package-root.js';
import { scratchDir } from './fixtures.js';
import { report } from './report.js';

const CLIENTS = 8;
/** Sends each client makes per round; MESHFLEET_BENCH_QUICK=1 shrinks the run while developing. */
const QUICK = process.env.MESHFLEET_BENCH_QUICK === '1';
const SENDS_PER_CLIENT = QUICK ? 25 : 100;
const ROUNDS = QUICK ? 3 : 5;
const PAYLOAD = 'Please review the diff in src/store/open.ts.';

const scratch = scratchDir();
const dbPath = join(scratch.dir, 'mesh.db');
const store = openStore(dbPath);
const { fleet } = createFleet(store, [{ role: 'host', prompt: 'p' }]);
const agents = Array.from({ length: CLIENTS }, (_, i) => attachRemoteAgent(store, fleet.id, { role: `remote-${i}`, prompt: 'p' }));
store.close();

const hub = spawn(process.execPath, [join(packageRoot, 'dist', 'bench', 'http-hub.js'), dbPath], { stdio: ['pipe', 'pipe', 'inherit'] });
const hubLines = createInterface({ input: hub.stdout! })[Symbol.asyncIterator]();
const nextLine = async (): Promise<string> => {
  const { value, done } = await hubLines.next();
  if (done === true) throw new Error('the hub exited');
  return value as string;
};
const mcpUrl = await nextLine();
/** The hub's CPU time so far, in µs: what it spends per call, whatever the machine's load. */
const hubCpuUs = async (): Promise<number> => {
  hub.stdin!.write('cpu\n');
  return Number((await nextLine()).slice('cpu '.length));
};

// The SDK's client passes one AbortSignal to every fetch of a connection, and Node's fetch leaves
// a listener on it per request (freed only by garbage collection): thousands of calls on one
// connection print MaxListenersExceededWarning. The bench's fetch drops the signal; the hub
// closes the connections when it stops.
const fetchWithoutSignal = (url: string | URL, init?: RequestInit) => fetch(url, { ...init, signal: null });

const clients = await Promise.all(agents.map(async ({ token }) => {
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } }, fetch: fetchWithoutSignal }));
  return client;
}));

async function sends(client: Client, from: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const to = agents[(from + 1 + (i % (CLIENTS - 1))) % CLIENTS]!.agent.id;
    const result = await client.callTool({ name: 'send_message', arguments: { to_agent_id: to, type: 'handoff', payload: PAYLOAD } });
    if (result.isError) throw new Error(JSON.stringify(result.content));
  }
}

const total = CLIENTS * SENDS_PER_CLIENT;
const cpuPerCall = new Map<string, number>();
/** Adds a task, and records the hub's CPU time per call over all its runs. */
const add = (name: string, run: () => Promise<unknown>) => {
  let calls = 0;
  let cpuBefore = 0;
  bench.add(name, async () => {
    await run();
    calls += total;
  }, {
    beforeAll: async () => { calls = 0; cpuBefore = await hubCpuUs(); },
    afterAll: async () => { cpuPerCall.set(name, ((await hubCpuUs()) - cpuBefore) / calls); },
  });
};
const bench = new Bench({ name: `over HTTP to one hub: a round of ${total.toLocaleString('en')} calls`, time: 0, iterations: ROUNDS, warmupIterations: 1 });
add(`ping, ${CLIENTS} clients at once (the protocol floor)`, () => Promise.all(clients.map(async (c) => {
  for (let i = 0; i < SENDS_PER_CLIENT; i++) await c.ping();
})));
add(`send_message, ${CLIENTS} clients at once`, () => Promise.all(clients.map((c, i) => sends(c, i, SENDS_PER_CLIENT))));
add('send_message, 1 client alone', () => sends(clients[0]!, 0, total));
await bench.run();
report(bench, `ping, ${CLIENTS} clients at once (the protocol floor)`);
console.log('\nthroughput of one hub over HTTP (calls per second, from each round\'s mean):');
console.table(bench.tasks.map((task) => {
  const mean = 'latency' in task.result ? task.result.latency.mean : NaN;
  const cpuUs = cpuPerCall.get(task.name) ?? NaN;
  return {
    subject: task.name,
    'calls/s': Math.round(total / (mean / 1000)).toLocaleString('en'),
    'hub CPU per call': `${Math.round(cpuUs)} µs`,
    'calls/s per hub core': Math.round(1e6 / cpuUs).toLocaleString('en'),
  };
}));

hub.stdin!.end();
await new Promise((resolve) => hub.once('exit', resolve));
await Promise.all(clients.map((c) => c.close()));
scratch.dispose();
