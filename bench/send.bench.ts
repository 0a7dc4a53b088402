// npm run bench: the write path side by side — the legacy JSON ledger, Meshfleet's store, and
// the raw better-sqlite3 floor — then a legacy import. Figures for people; tests never time.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { createFleet, MAX_FLEET_AGENTS } from '../src/mesh/fleets.js';
import { MAX_BATCH_DELIVERIES, MAX_BATCH_PAYLOAD_BYTES } from '../src/mesh/limits.js';
import { sendMessages } from '../src/mesh/messages.js';
import { readLedgerFile } from '../src/store/legacy/file.js';
import { importLedger } from '../src/store/legacy/import.js';
import { parseLedger } from '../src/store/legacy/ledger.js';
import { planImport } from '../src/store/legacy/plan.js';
import { openStore, type Store } from '../src/store/open.js';
import { jsonLedger } from './baseline/json-ledger.js';
import { rawSqlite } from './baseline/raw-sqlite.js';
import { report } from './report.js';
import { AGENT_IDS, FLEET_ID, legacyLedger, nextMessage, scratchDir, type BenchMessage } from './fixtures.js';

const SIZE = 10_000; // messages already stored when timing starts
const BATCH = 10_000;

/** Meshfleet's store: one IMMEDIATE transaction, the message row and its delivery row. */
function meshfleet(size: number) {
  const scratch = scratchDir();
  const store = openStore(join(scratch.dir, 'mesh.db'));
  const put = (s: Store, m: BenchMessage) => {
    const messageSeq = s.hot.insertMessage({ id: m.id, fleetId: FLEET_ID, fromAgentId: m.from, toAgentId: m.to, type: 'handoff', payload: m.payload, correlationId: null, sentAt: m.sentAt });
    s.hot.insertDelivery({ messageSeq, agentId: m.to, acked: false, readAt: null, ackedAt: null });
  };
  store.write(() => {
    store.run(store.sql.insertInto('fleets').values({ id: FLEET_ID, status: 'running', created_at: 1, completed_at: null, timeout_ms: null }));
    for (const id of AGENT_IDS) {
      store.run(store.sql.insertInto('agents').values({ id, fleet_id: FLEET_ID, role: id, prompt: 'work', agent_file: null, status: 'running', pid: null, output: null, error: null, created_at: 1, started_at: 1, completed_at: null }));
    }
    for (let i = 0; i < size; i++) put(store, nextMessage());
  });
  return {
    label: 'meshfleet store (message + delivery)',
    sendOne: (m: BenchMessage) => store.write(() => put(store, m)),
    sendBatch: (batch: BenchMessage[]) => store.write(() => { for (const m of batch) put(store, m); }),
    dispose: () => {
      store.close();
      scratch.dispose();
    },
  };
}

async function sendOne(): Promise<void> {
  const subjects = [jsonLedger(SIZE), meshfleet(SIZE), rawSqlite(SIZE)];
  const bench = new Bench({ name: `send one message, ${SIZE.toLocaleString('en')} already stored`, time: 2_000 });
  for (const s of subjects) bench.add(s.label, () => s.sendOne(nextMessage()));
  await bench.run();
  report(bench, subjects[2]!.label);
  for (const s of subjects) s.dispose();
}

async function sendBatch(): Promise<void> {
  const subjects = [jsonLedger(SIZE), meshfleet(SIZE), rawSqlite(SIZE)];
  const bench = new Bench({ name: `send a batch of ${BATCH.toLocaleString('en')} messages in one write, ${SIZE.toLocaleString('en')} already stored`, time: 0, iterations: 8, warmupIterations: 1 });
  for (const s of subjects) {
    let batch: BenchMessage[] = [];
    bench.add(s.label, () => s.sendBatch(batch), { beforeEach: () => { batch = Array.from({ length: BATCH }, nextMessage); } });
  }
  await bench.run();
  report(bench, subjects[2]!.label);
  for (const s of subjects) s.dispose();
}

async function legacyImport(): Promise<void> {
  const scratch = scratchDir();
  const ledgerPath = join(scratch.dir, 'agent-mesh.json');
  writeFileSync(ledgerPath, JSON.stringify(legacyLedger(SIZE), null, 2));
  let run = 0;
  const bench = new Bench({ name: `meshfleet migrate: a ${SIZE.toLocaleString('en')}-message v1 ledger into a new database file`, time: 0, iterations: 8, warmupIterations: 1 });
  bench.add('read + validate + plan + import (one transaction)', () => {
    const file = readLedgerFile(ledgerPath);
    const store = openStore(join(scratch.dir, `import-${run++}.db`));
    try {
      importLedger(store, planImport(parseLedger(file.text)), file);
    } finally {
      store.close();
    }
  });
  await bench.run();
  report(bench, '');
  scratch.dispose();
}

/**
 * The longest write lock a tool call may take: the largest accepted send_messages, broadcasts in
 * a full fleet up to MAX_BATCH_DELIVERIES copies, with payloads as large as the batch allows.
 */
async function largestBatch(): Promise<void> {
  const scratch = scratchDir();
  const store = openStore(join(scratch.dir, 'mesh.db'));
  const { fleet, agents } = createFleet(store, Array.from({ length: MAX_FLEET_AGENTS }, (_, i) => ({ role: `r${i}`, prompt: 'work' })));
  const count = Math.floor(MAX_BATCH_DELIVERIES / (MAX_FLEET_AGENTS - 1));
  const payload = 'x'.repeat(Math.floor(MAX_BATCH_PAYLOAD_BYTES / count) - 16);
  const bench = new Bench({ name: `the largest accepted send_messages: ${count} broadcasts to ${MAX_FLEET_AGENTS - 1} agents (${count * (MAX_FLEET_AGENTS - 1)} deliveries, ${Math.round(count * payload.length / 1_048_576)} MiB): how long it holds the write lock`, time: 0, iterations: 5, warmupIterations: 1 });
  bench.add('send_messages in one transaction', () => {
    sendMessages(store, Array.from({ length: count }, () => ({ fleetId: fleet.id, fromAgentId: agents[0]!.id, toAgentId: '*', type: 'handoff' as const, payload })));
  });
  await bench.run();
  report(bench, '');
  store.close();
  scratch.dispose();
}

await sendOne();
await sendBatch();
await legacyImport();
await largestBatch();
