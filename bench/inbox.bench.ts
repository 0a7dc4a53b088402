// npm run bench (fourth part): an agent that has fallen behind. One agent with 10,000, 100,000
// and 1,000,000 unacknowledged messages (200-byte payloads): its inbox reads and acks in process,
// the same reads over stdio beside ping, how soon wait_for_messages wakes after another process
// sends, and the server's memory after many sends and after reading the whole inbox page by page.
// Every read should cost the same whatever the inbox holds.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import BetterSqlite3 from 'better-sqlite3';
import { Bench, type Task } from 'tinybench';
import { CHANGE_POLL_MS } from '../src/mesh/changes.js';
import { createFleet } from '../src/mesh/fleets.js';
import { ackMessage, getInbox, sendMessage } from '../src/mesh/messages.js';
import { openStore } from '../src/store/open.js';
import { packageRoot } from '../src/store/package-root.js';
import { bulkPendingMessages, scratchDir } from './fixtures.js';

const CLI = join(packageRoot, 'dist', 'src', 'cli', 'main.js');
const SIZES = [10_000, 100_000, 1_000_000];
const PAGE = 1_000;
const WAKES = 40;
const ACKS = 2_000;
const SENDS = 10_000;
const PING = 'ping (the protocol floor)';

interface Mesh { dbPath: string; fleetId: string; a: string; b: string; c: string }

/** b is the agent that fell behind: `size` messages from a wait for it. c's inbox is empty. */
function seed(dir: string, size: number): Mesh {
  const dbPath = join(dir, 'mesh.db');
  const store = openStore(dbPath);
  const { fleet, agents } = createFleet(store, ['a', 'b', 'c'].map((role) => ({ role, prompt: 'work' })));
  const [a, b, c] = agents.map((x) => x.id) as [string, string, string];
  const started = Date.now();
  bulkPendingMessages(store, size, fleet.id, a, b);
  console.log(`\n(seeded ${size.toLocaleString('en')} pending messages in ${Date.now() - started} ms; load average ${loadAverage()})`);
  store.close();
  return { dbPath, fleetId: fleet.id, a, b, c };
}

/** The domain calls on a fresh connection, as a server that has just started makes them. */
async function inProcess(mesh: Mesh, size: number): Promise<Map<string, number>> {
  const store = openStore(mesh.dbPath);
  const bench = new Bench({ name: `in process, ${size.toLocaleString('en')} pending for one agent`, time: 1_000, iterations: 10, warmupTime: 100, warmupIterations: 3 });
  bench.add('get_inbox since=now (empty answer)', () => getInbox(store, mesh.b, { sinceMs: Date.now() }));
  bench.add('get_inbox first page, limit 10', () => getInbox(store, mesh.b, { limit: 10 }));
  bench.add(`get_inbox page of ${PAGE.toLocaleString('en')}`, () => getInbox(store, mesh.b, { limit: PAGE }));
  await bench.run();
  // Each ack takes a message out of the inbox for good, so a fixed count, the oldest first, as
  // an agent working through its inbox does.
  const acks = new Bench({ name: `in process, ${size.toLocaleString('en')} pending for one agent: acknowledging the oldest`, time: 0, iterations: ACKS, warmupIterations: 50, warmupTime: 0 });
  let next = 1;
  acks.add('ack_message', () => { ackMessage(store, mesh.b, `pending-${next++}`); });
  await acks.run();
  store.close();
  return new Map([...table(bench, ''), ...table(acks, '')]);
}

async function connect(dbPath: string): Promise<{ client: Client; pid: number }> {
  const transport = new StdioClientTransport({
    command: process.execPath, args: [CLI, 'serve', '--db', dbPath],
    env: { PATH: process.env.PATH ?? '', MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'true' },
  });
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(transport);
  return { client, pid: transport.pid! };
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<any> {
  const result = await client.callTool({ name, arguments: args });
  const json = JSON.parse((result.content as { text: string }[])[0]!.text);
  if (result.isError) throw new Error(`${name}: ${json.error}`);
  return json;
}

async function overStdio(client: Client, mesh: Mesh, size: number): Promise<Map<string, number>> {
  const bench = new Bench({ name: `over stdio, ${size.toLocaleString('en')} pending for one agent (one connection, one run)`, time: 1_500, iterations: 10, warmupTime: 100, warmupIterations: 20 });
  bench.add(PING, () => client.callTool({ name: 'ping', arguments: {} }));
  bench.add('get_inbox since=now (empty answer)', () => call(client, 'get_inbox', { agent_id: mesh.b, since: Date.now() }));
  bench.add('get_inbox first page, limit 10', () => call(client, 'get_inbox', { agent_id: mesh.b, limit: 10 }));
  bench.add(`get_inbox page of ${PAGE.toLocaleString('en')}`, () => call(client, 'get_inbox', { agent_id: mesh.b, limit: PAGE }));
  await bench.run();
  return table(bench, PING);
}

/**
 * wait_for_messages of c (empty inbox, in the database where b has `size` pending) while a child
 * process sends it a message: from the child's commit to the answer in hand. Both ends read
 * process.hrtime, CLOCK_MONOTONIC, which every process on the machine shares.
 */
async function wakeUps(client: Client, mesh: Mesh): Promise<number[]> {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--sender', mesh.dbPath, mesh.fleetId, mesh.a, mesh.c], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const latencies: number[] = [];
  try {
    for (let i = 0; i < WAKES; i++) {
      const answered = call(client, 'wait_for_messages', { agent_id: mesh.c, timeout_ms: 30_000 }).then((json) => ({ json, at: process.hrtime.bigint() }));
      // A ping sent after the wait is answered after the server took the wait up (one connection, in order).
      await client.callTool({ name: 'ping', arguments: {} });
      // The server polls for other processes' commits every CHANGE_POLL_MS from the moment a wait
      // begins; sending at a random moment after it, as happens in use, samples every phase.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * CHANGE_POLL_MS));
      child.stdin!.write('send\n');
      const committed = BigInt((await lines.next()).value as string);
      const { json, at } = await answered;
      if (json.timed_out || json.messages.length !== 1) throw new Error(`wait_for_messages: ${JSON.stringify(json).slice(0, 200)}`);
      latencies.push(Number(at - committed) / 1e6);
      await call(client, 'ack_message', { agent_id: mesh.c, message_id: json.messages[0].id });
    }
  } finally {
    child.stdin!.end();
  }
  return latencies;
}

/** The child of wakeUps: sends one message per line read, answering with its commit time. */
function sender([dbPath, fleetId, from, to]: string[]): void {
  const store = openStore(dbPath!);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', () => {
    sendMessage(store, { fleetId: fleetId!, fromAgentId: from!, toAgentId: to!, type: 'handoff', payload: 'wake up' });
    process.stdout.write(`${process.hrtime.bigint()}\n`);
  });
  lines.on('close', () => store.close());
}

interface Memory { rssMiB: number; peakMiB: number }
function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/**
 * The server's memory after SENDS sequential send_message calls, then after reading b's whole
 * inbox page by page. b acknowledges each page through a second connection (one UPDATE per
 * page, as a script would; a million ack_message calls would take minutes), so every page the
 * server reads is a new one.
 */
async function memory(client: Client, pid: number, mesh: Mesh): Promise<Record<string, string>> {
  const before = memoryOf(pid);
  const message = { fleet_id: mesh.fleetId, from_agent_id: mesh.a, to_agent_id: mesh.c, type: 'handoff', payload: 'x'.repeat(200) };
  for (let i = 0; i < SENDS; i++) await call(client, 'send_message', message);
  const afterSends = memoryOf(pid);
  const db = new BetterSqlite3(mesh.dbPath, { timeout: 10_000 });
  const ackPage = db.prepare(`UPDATE deliveries SET acked = 1, acked_at = ?
    WHERE agent_id = ? AND acked = 0 AND message_seq IN (SELECT m.seq FROM messages AS m JOIN json_each(?) AS j ON m.id = j.value)`);
  let read = 0;
  const started = Date.now();
  for (;;) {
    const page = await call(client, 'get_inbox', { agent_id: mesh.b, limit: PAGE });
    if (page.messages.length === 0) break;
    read += page.messages.length;
    ackPage.run(Date.now(), mesh.b, JSON.stringify(page.messages.map((m: { id: string }) => m.id)));
  }
  db.close();
  const afterReading = memoryOf(pid);
  const mib = (m: number) => `${m.toFixed(0)} MiB`;
  return {
    'RSS before': mib(before.rssMiB),
    [`after ${SENDS.toLocaleString('en')} send_message`]: mib(afterSends.rssMiB),
    'after reading the inbox page by page': mib(afterReading.rssMiB),
    'peak (VmHWM)': mib(afterReading.peakMiB),
    'messages read': read.toLocaleString('en'),
    'pages took': `${((Date.now() - started) / 1000).toFixed(1)} s`,
  };
}

function table(bench: Bench, floorLabel: string): Map<string, number> {
  const p50s = new Map<string, number>();
  const floor = bench.tasks.find((t) => t.name === floorLabel);
  const floorP50 = floor === undefined ? undefined : latency(floor)?.p50;
  console.log(`\n${bench.name}`);
  console.table(bench.tasks.map((task) => {
    const l = latency(task);
    if (l === undefined) return { subject: task.name, error: String(task.result.state) };
    p50s.set(task.name, l.p50!);
    return {
      subject: task.name, mean: formatMs(l.mean), p50: formatMs(l.p50!), p99: formatMs(l.p99!), samples: l.samplesCount,
      ...(floorP50 !== undefined ? { '× ping (p50)': (l.p50! / floorP50).toFixed(2) } : {}),
    };
  }));
  return p50s;
}

function latency(task: Task) {
  return 'latency' in task.result ? task.result.latency : undefined;
}

const formatMs = (ms: number) => (ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`);
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function main(): Promise<void> {
  const figures = new Map<number, Map<string, number>>();
  const memories: Record<string, Record<string, string>> = {};
  for (const size of SIZES) {
    const scratch = scratchDir();
    try {
      const mesh = seed(scratch.dir, size);
      const row = new Map<string, number>();
      for (const [name, p50] of await inProcess(mesh, size)) row.set(`in process: ${name}`, p50);
      const { client, pid } = await connect(mesh.dbPath);
      try {
        for (const [name, p50] of await overStdio(client, mesh, size)) row.set(`over stdio: ${name}`, p50);
        const wakes = await wakeUps(client, mesh);
        console.log(`wait_for_messages wake-up after another process's send, ${WAKES} times: p50 ${formatMs(percentile(wakes, 0.5))}, p99 ${formatMs(percentile(wakes, 0.99))}, mean ${formatMs(wakes.reduce((s, x) => s + x, 0) / wakes.length)}`);
        row.set('over stdio: wait_for_messages wake-up after another process\'s send', percentile(wakes, 0.5));
        memories[size.toLocaleString('en')] = await memory(client, pid, mesh);
      } finally {
        await client.close();
      }
      figures.set(size, row);
    } finally {
      scratch.dispose();
    }
  }
  const [small, large] = [figures.get(SIZES[0]!)!, figures.get(SIZES.at(-1)!)!];
  console.log(`\npending for one agent, p50 (load average ${loadAverage()})`);
  console.table([...small.keys()].map((name) => ({
    subject: name,
    ...Object.fromEntries(SIZES.map((size) => [size.toLocaleString('en'), formatMs(figures.get(size)!.get(name)!)])),
    '1M ÷ 10k': (large.get(name)! / small.get(name)!).toFixed(2),
  })));
  console.log('\nthe server\'s memory (one server per size)');
  console.table(memories);
}

if (process.argv[2] === '--sender') sender(process.argv.slice(3));
else await main();
