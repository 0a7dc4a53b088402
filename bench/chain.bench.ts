// What the ledger chain costs: a send and a 10,000-message batch with their links (the store's hot
// path), beside the same statements without the link, on one file each; then `meshfleet verify`
// over a mesh of that size. Figures for people; tests never time.
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { verifyLedger } from '../src/mesh/verify.js';
import { connectionOf } from '../src/store/connection.js';
import { openStore, type Store } from '../src/store/open.js';
import { report } from './report.js';
import { AGENT_IDS, FLEET_ID, nextMessage, scratchDir, type BenchMessage } from './fixtures.js';

const SIZE = Number(process.env.BENCH_CHAIN_SIZE ?? 10_000); // messages already stored when timing starts
const BATCH = 10_000;

interface Subject {
  label: string;
  store: Store;
  send(m: BenchMessage): void;
  dispose(): void;
}

function seeded(label: string, chained: boolean): Subject {
  const scratch = scratchDir();
  const store = openStore(join(scratch.dir, 'mesh.db'));
  const db = connectionOf(store);
  // The hot path's own statements, as statements.ts prepares them, minus the link.
  const insertMessage = db.prepare(`INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, type, payload, correlation_id, sent_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertDelivery = db.prepare('INSERT INTO deliveries (message_seq, agent_id, acked, read_at, acked_at, sent_at) VALUES (?, ?, ?, ?, ?, ?)');
  const send = chained
    ? (m: BenchMessage) => {
      const messageSeq = store.hot.insertMessage({ id: m.id, fleetId: FLEET_ID, fromAgentId: m.from, toAgentId: m.to, type: 'handoff', payload: m.payload, correlationId: null, sentAt: m.sentAt });
      store.hot.insertDelivery({ messageSeq, agentId: m.to, acked: false, readAt: null, ackedAt: null, sentAt: m.sentAt });
    }
    : (m: BenchMessage) => {
      const seq = insertMessage.run(m.id, FLEET_ID, m.from, m.to, 'handoff', m.payload, null, m.sentAt).lastInsertRowid;
      insertDelivery.run(seq, m.to, 0, null, null, m.sentAt);
    };
  store.write(() => {
    store.run(store.sql.insertInto('fleets').values({ id: FLEET_ID, status: 'running', created_at: 1, completed_at: null, timeout_ms: null }));
    for (const id of AGENT_IDS) {
      store.run(store.sql.insertInto('agents').values({ id, fleet_id: FLEET_ID, role: id, prompt: 'work', agent_file: null, status: 'running', pid: null, output: null, error: null, created_at: 1, started_at: 1, completed_at: null }));
    }
    // Both files hold chained history, so only the link of the timed send differs.
    for (let i = 0; i < SIZE; i++) {
      const m = nextMessage();
      const messageSeq = store.hot.insertMessage({ id: m.id, fleetId: FLEET_ID, fromAgentId: m.from, toAgentId: m.to, type: 'handoff', payload: m.payload, correlationId: null, sentAt: m.sentAt });
      store.hot.insertDelivery({ messageSeq, agentId: m.to, acked: false, readAt: null, ackedAt: null, sentAt: m.sentAt });
    }
  });
  return { label, store, send, dispose: () => { store.close(); scratch.dispose(); } };
}

const subjects = () => [seeded('message + delivery + chain link (meshfleet)', true), seeded('message + delivery, no link', false)];

async function sendOne(): Promise<void> {
  const all = subjects();
  const bench = new Bench({ name: `send one message, ${SIZE.toLocaleString('en')} already stored: the chain's cost`, time: 2_000 });
  for (const s of all) bench.add(s.label, () => s.store.write(() => s.send(nextMessage())));
  await bench.run();
  report(bench, all[1]!.label);
  for (const s of all) s.dispose();
}

async function sendBatch(): Promise<void> {
  const all = subjects();
  const bench = new Bench({ name: `send a batch of ${BATCH.toLocaleString('en')} messages in one write: the chain's cost`, time: 0, iterations: 8, warmupIterations: 1 });
  for (const s of all) {
    let batch: BenchMessage[] = [];
    bench.add(s.label, () => s.store.write(() => { for (const m of batch) s.send(m); }), { beforeEach: () => { batch = Array.from({ length: BATCH }, nextMessage); } });
  }
  await bench.run();
  report(bench, all[1]!.label);
  for (const s of all) s.dispose();
}

async function verify(): Promise<void> {
  const [chained, plain] = subjects();
  plain!.dispose();
  const links = chained!.store.audit.counts().chain_links;
  const bench = new Bench({ name: `meshfleet verify: every check and the whole chain (${links.toLocaleString('en')} links)`, time: 0, iterations: 5, warmupIterations: 1 });
  bench.add('verifyLedger', () => {
    if (!verifyLedger(chained!.store).ok) throw new Error('the bench mesh should verify clean');
  });
  await bench.run();
  report(bench, '');
  chained!.dispose();
}

await sendOne();
await sendBatch();
await verify();
