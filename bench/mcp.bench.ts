// npm run bench (second part): tool calls over a real stdio connection beside MCP's own floor
// (ping on the same connection), batches beside the raw prepared-statement floor, and inbox
// reads, acks and sends with a million messages stored.
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import BetterSqlite3 from 'better-sqlite3';
import { Bench } from 'tinybench';
import { createFleet } from '../src/mesh/fleets.js';
import { newId } from '../src/mesh/ids.js';
import { ackMessage, getInbox, sendMessage, sendMessages, type OutgoingMessage } from '../src/mesh/messages.js';
import { openStore, type Store } from '../src/store/open.js';
import { packageRoot } from '../src/store/package-root.js';
import { report } from './report.js';
import { bulkAcknowledgedMessages, scratchDir } from './fixtures.js';

const CLI = join(packageRoot, 'dist', 'src', 'cli', 'main.js');
const CALLS = 10_000;
const BATCH = 10_000;
const MILLION = 1_000_000;
const DURABILITY_CALLS = 2_000;

async function connect(dbPath: string, flags: string[] = []): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath, args: [CLI, 'serve', '--db', dbPath, ...flags],
    // Agents exit at once and are beside the point here: this server starts them itself (no hub).
    env: { PATH: process.env.PATH ?? '', MESHFLEET_RUNTIME: 'command', MESHFLEET_AGENT_COMMAND: 'true', MESHFLEET_NO_HUB: '1' },
  });
  const client = new Client({ name: 'bench', version: '0' });
  await client.connect(transport);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<any> {
  const result = await client.callTool({ name, arguments: args });
  const json = JSON.parse((result.content as { text: string }[])[0]!.text);
  if (result.isError) throw new Error(`${name}: ${json.error}`);
  return json;
}

async function overStdio(): Promise<void> {
  const scratch = scratchDir();
  const client = await connect(join(scratch.dir, 'mesh.db'));
  const { fleet_id, agent_ids: [a, b] } = await call(client, 'spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'q' }] });
  const message = { fleet_id, from_agent_id: a, to_agent_id: b, type: 'handoff', payload: 'Please review the diff in src/store/open.ts.' };

  const perCall = new Bench({ name: `over stdio: ${CALLS.toLocaleString('en')} sequential calls on one connection`, time: 0, iterations: CALLS, warmupIterations: 200 });
  perCall.add('ping (the protocol floor)', () => client.callTool({ name: 'ping', arguments: {} }));
  perCall.add('send_message', () => client.callTool({ name: 'send_message', arguments: message }));
  perCall.add('get_inbox (empty)', () => client.callTool({ name: 'get_inbox', arguments: { agent_id: a } }));
  await perCall.run();
  report(perCall, 'ping (the protocol floor)');

  const batch = Array.from({ length: BATCH }, () => message);
  const batched = new Bench({ name: `over stdio: one send_messages call of ${BATCH.toLocaleString('en')} messages, end to end`, time: 0, iterations: 10, warmupIterations: 1 });
  batched.add('send_messages', () => call(client, 'send_messages', { messages: batch }));
  await batched.run();
  report(batched, '');
  await client.close();
  scratch.dispose();
}

/**
 * Sequential sends beside ping on one connection, at each --durability: what the commit costs.
 * FULL syncs the WAL on every commit; NORMAL syncs only at checkpoints (a crash may lose the
 * last commits, never corrupt the file).
 */
async function sendsByDurability(): Promise<void> {
  for (const durability of ['normal', 'full']) {
    const scratch = scratchDir();
    const client = await connect(join(scratch.dir, 'mesh.db'), ['--durability', durability]);
    const { fleet_id, agent_ids: [a, b] } = await call(client, 'spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'q' }] });
    const message = { fleet_id, from_agent_id: a, to_agent_id: b, type: 'handoff', payload: 'Please review the diff in src/store/open.ts.' };
    const bench = new Bench({ name: `over stdio, --durability ${durability}: ${DURABILITY_CALLS.toLocaleString('en')} sequential calls on one connection`, time: 0, iterations: DURABILITY_CALLS, warmupIterations: 200 });
    bench.add('ping (the protocol floor)', () => client.callTool({ name: 'ping', arguments: {} }));
    bench.add('send_message', () => client.callTool({ name: 'send_message', arguments: message }));
    await bench.run();
    report(bench, 'ping (the protocol floor)');
    await client.close();
    scratch.dispose();
  }
}

/** The floor for a batch: the same rows into the same schema, prepared statements, no checks. */
function rawBatchFloor(dbPath: string, fleetId: string, from: string, to: string) {
  const db = new BetterSqlite3(dbPath);
  db.pragma('synchronous = NORMAL');
  const insertMessage = db.prepare(
    'INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, type, payload, correlation_id, sent_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)');
  const insertDelivery = db.prepare('INSERT INTO deliveries (message_seq, agent_id) VALUES (?, ?)');
  const write = db.transaction((count: number) => {
    const now = Date.now();
    for (let i = 0; i < count; i++) {
      const seq = insertMessage.run(newId('msg'), fleetId, from, to, 'handoff', 'Please review the diff in src/store/open.ts.', now).lastInsertRowid;
      insertDelivery.run(seq, to);
    }
  });
  return { write: (count: number) => write.immediate(count), close: () => db.close() };
}

async function inProcessBatch(): Promise<void> {
  const scratch = scratchDir();
  const ours = openStore(join(scratch.dir, 'mesh.db'));
  const { fleet, agents: [a, b] } = createFleet(ours, [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'q' }]);
  const floorStore = openStore(join(scratch.dir, 'floor.db'));
  const floorFleet = createFleet(floorStore, [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'q' }]);
  floorStore.close();
  const floor = rawBatchFloor(join(scratch.dir, 'floor.db'), floorFleet.fleet.id, floorFleet.agents[0]!.id, floorFleet.agents[1]!.id);
  const batch: OutgoingMessage[] = Array.from({ length: BATCH }, () => ({
    fleetId: fleet.id, fromAgentId: a!.id, toAgentId: b!.id, type: 'handoff', payload: 'Please review the diff in src/store/open.ts.',
  }));
  const bench = new Bench({ name: `in process: ${BATCH.toLocaleString('en')} messages in one transaction`, time: 0, iterations: 20, warmupIterations: 2 });
  bench.add('sendMessages (validated, per-recipient deliveries)', () => sendMessages(ours, batch));
  bench.add('raw prepared statements, same rows (floor)', () => floor.write(BATCH));
  await bench.run();
  report(bench, 'raw prepared statements, same rows (floor)');
  ours.close();
  floor.close();
  scratch.dispose();
}

/** A mesh of two fleets with `count` messages, every one acknowledged but a few per agent. */
function seed(store: Store, count: number) {
  const busy = createFleet(store, [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'q' }]);
  const quiet = createFleet(store, [{ role: 'c', prompt: 'p' }, { role: 'd', prompt: 'q' }]);
  const [a, b] = busy.agents.map((x) => x.id) as [string, string];
  bulkAcknowledgedMessages(store, count, busy.fleet.id, a, b);
  return { busy, quiet, a, b, c: quiet.agents[0]!.id, d: quiet.agents[1]!.id };
}

async function atScale(): Promise<void> {
  for (const size of [1_000, MILLION]) {
    const scratch = scratchDir();
    const store = openStore(join(scratch.dir, 'mesh.db'));
    const started = Date.now();
    const mesh = seed(store, size);
    console.log(`\n(seeded ${size.toLocaleString('en')} messages in ${Date.now() - started} ms)`);
    const bench = new Bench({ name: `in process, ${size.toLocaleString('en')} messages stored`, time: 1_500 });
    bench.add('sendMessage', () => sendMessage(store, { fleetId: mesh.busy.fleet.id, fromAgentId: mesh.a, toAgentId: mesh.b, type: 'handoff', payload: 'hello' }));
    bench.add('getInbox (3 pending)', () => getInbox(store, mesh.c), {
      beforeAll: () => {
        for (let i = 0; i < 3; i++) sendMessage(store, { fleetId: mesh.quiet.fleet.id, fromAgentId: mesh.d, toAgentId: mesh.c, type: 'question', payload: `q${i}` });
      },
    });
    let pending: string[] = [];
    bench.add('ackMessage', () => { ackMessage(store, mesh.d, pending.pop()!); }, {
      beforeEach: () => {
        pending = [sendMessage(store, { fleetId: mesh.quiet.fleet.id, fromAgentId: mesh.c, toAgentId: mesh.d, type: 'result', payload: 'r' }).messageId];
      },
    });
    bench.add('getInbox (empty; the busy agent acked everything)', () => getInbox(store, mesh.a));
    await bench.run();
    report(bench, '');
    store.close();
    scratch.dispose();
  }
}

await overStdio();
await sendsByDurability();
await inProcessBatch();
await atScale();
