// npm run bench (fifth part): full-text search and what its index costs a send.
// 1. A send (sendMessage: checks, message row, delivery, FTS triggers) with 10,000 messages stored,
//    on the schema as shipped, beside the same database with the FTS triggers dropped (today's send
//    before the index: the same rows and the other indexes), at two payload sizes.
// 2. search_messages p50 with 1,000,000 messages stored (100 fleets of 10,000; payloads of ~25
//    words drawn from a 2,000-word vocabulary, each with a unique ticket number): a unique token,
//    rarer and commoner words, a phrase, a prefix, the same inside one fleet and by one sender.
// `node dist/bench/search.bench.js 100000` runs the search part at another size; `--search-only`
// skips the sends.
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Bench } from 'tinybench';
import { createFleet } from '../src/mesh/fleets.js';
import { sendMessage } from '../src/mesh/messages.js';
import { INDEX_BATCH, indexPendingMessages, searchMessages } from '../src/mesh/search.js';
import { openStore, type Store } from '../src/store/open.js';
import { report } from './report.js';
import { scratchDir } from './fixtures.js';
import { call, connect } from './stdio-client.js';

const STORED = 10_000;
const SEARCH_SIZE = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 1_000_000);
const FLEETS = 100;
const VOCABULARY = 2_000;

/**
 * How a send meets the full-text index: `queued` as shipped (the trigger queues the message, a
 * timer indexes batches), `none` (the triggers dropped: a send as before the search index), `inline` (the
 * trigger indexes the message in the send's own transaction: the design not taken).
 */
type Indexing = 'queued' | 'none' | 'inline';

function setIndexing(path: string, indexing: Indexing): void {
  if (indexing === 'queued') return;
  const db = new BetterSqlite3(path);
  db.exec('DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_delete; DROP TRIGGER messages_fts_update;');
  if (indexing === 'inline') {
    db.exec(`CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
      INSERT INTO messages_fts (rowid, subject, payload) VALUES (NEW.seq, NEW.subject, NEW.payload); END;`);
  }
  db.close();
}

function sendingStore(dir: string, indexing: Indexing): { store: Store; send: (payload: string) => void } {
  const store = openStore(join(dir, `${indexing}.db`));
  setIndexing(store.path, indexing);
  const { fleet, agents } = createFleet(store, Array.from({ length: 10 }, (_, i) => ({ role: `r${i}`, prompt: 'work' })));
  let n = 0;
  const send = (payload: string) => {
    n += 1;
    sendMessage(store, { fleetId: fleet.id, fromAgentId: agents[n % 10]!.id, toAgentId: agents[(n + 1) % 10]!.id, type: 'handoff', payload });
  };
  for (let i = 0; i < STORED; i++) send(sentence(i));
  indexPendingMessages(store, Infinity);
  return { store, send };
}

/** ~25 words of the vocabulary picked by n (word k is "wk"; low k are common, as in prose). */
function sentence(n: number): string {
  const words: string[] = [];
  let x = n * 2654435761 % 4294967296;
  for (let i = 0; i < 25; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    // Squaring a uniform pick skews it toward the front: a Zipf-like spread of word frequencies.
    const u = x / 2147483648;
    words.push(`w${Math.floor(u * u * VOCABULARY)}`);
  }
  return `${words.join(' ')} ticket${n}`;
}

async function sendCost(): Promise<void> {
  const scratch = scratchDir();
  const stores = { none: sendingStore(scratch.dir, 'none'), queued: sendingStore(scratch.dir, 'queued'), inline: sendingStore(scratch.dir, 'inline') };
  const long = `${sentence(1)} `.repeat(80); // ~12 KB
  const bench = new Bench({ name: `send one message (sendMessage, one transaction), ${STORED.toLocaleString('en')} already stored`, time: 2_000 });
  let i = STORED;
  const label = { none: 'no index (before the search index)', queued: 'queued for the index (as shipped)', inline: 'indexed in the send\'s transaction' };
  for (const size of ['200 B', '12 KB'] as const) {
    for (const indexing of ['none', 'queued', 'inline'] as const) {
      bench.add(`${label[indexing]}, ${size}`, () => stores[indexing].send(size === '200 B' ? sentence(i++) : long));
    }
  }
  await bench.run();
  report(bench, `${label.none}, 200 B`);
  // What the timer then does for the queued sends: index them in batches.
  const queued = stores.queued.store;
  for (let n = 0; n < 20_000; n++) stores.queued.send(sentence(i++));
  const started = performance.now();
  const indexed = indexPendingMessages(queued, Infinity);
  console.log(`(indexing ${indexed.toLocaleString('en')} queued 200 B messages in batches of ${INDEX_BATCH.toLocaleString('en')}: ${((performance.now() - started) * 1000 / indexed).toFixed(1)} µs a message)`);
  for (const s of Object.values(stores)) s.store.close();
  scratch.dispose();
}

/** send_message over stdio, what a client sees: two servers, one without the index triggers. */
async function sendOverStdio(): Promise<void> {
  const scratch = scratchDir();
  const servers: { client: Awaited<ReturnType<typeof connect>>; indexing: Indexing; message: Record<string, unknown> }[] = [];
  for (const indexing of ['none', 'queued', 'inline'] as const) {
    const path = join(scratch.dir, `stdio-${indexing}.db`);
    openStore(path).close();
    setIndexing(path, indexing);
    const client = await connect(path);
    const { fleet_id, agent_ids: [a, b] } = await call(client, 'spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'q' }] });
    servers.push({ client, indexing, message: { fleet_id, from_agent_id: a, to_agent_id: b, type: 'handoff' } });
  }
  const bench = new Bench({ name: 'over stdio: 3,000 sequential send_message calls (200 B payloads) on each of three servers', time: 0, iterations: 3_000, warmupIterations: 200 });
  let n = 0;
  bench.add('ping (the protocol floor)', () => servers[0]!.client.callTool({ name: 'ping', arguments: {} }));
  for (const s of servers) {
    bench.add(`send_message, ${s.indexing === 'none' ? 'no index (before the search index)' : s.indexing === 'queued' ? 'queued for the index (as shipped)' : 'indexed in the send\'s transaction'}`,
      () => s.client.callTool({ name: 'send_message', arguments: { ...s.message, payload: sentence(n++) } }));
  }
  await bench.run();
  report(bench, 'send_message, no index (before the search index)');
  for (const s of servers) await s.client.close();
  scratch.dispose();
}

/** SEARCH_SIZE messages in FLEETS fleets, written in one transaction through the triggers. */
function searchStore(dir: string): { store: Store; fleetId: string; sender: string } {
  const store = openStore(join(dir, 'search.db'));
  const fleets = Array.from({ length: FLEETS }, () => createFleet(store, [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'p' }]));
  const started = Date.now();
  const db = new BetterSqlite3(store.path, { timeout: 10_000 });
  db.transaction(() => {
    const insert = db.prepare(`INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, type, payload, sent_at) VALUES (?, ?, ?, ?, 'handoff', ?, ?)`);
    for (let n = 0; n < SEARCH_SIZE; n++) {
      const { fleet, agents } = fleets[n % FLEETS]!;
      insert.run(`bulk-${n}`, fleet.id, agents[n % 2]!.id, agents[(n + 1) % 2]!.id, sentence(n), 1_700_000_000_000 + n);
    }
  }).immediate();
  const stored = Date.now();
  indexPendingMessages(store, Infinity);
  const indexed = Date.now();
  db.exec("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')");
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  console.log(`\n(stored ${SEARCH_SIZE.toLocaleString('en')} messages in ${((stored - started) / 1000).toFixed(1)} s, indexed them from the queue in ${((indexed - stored) / 1000).toFixed(1)} s, merged the index in ${((Date.now() - indexed) / 1000).toFixed(1)} s)`);
  return { store, fleetId: fleets[7]!.fleet.id, sender: fleets[7]!.agents[0]!.id };
}

async function searchCost(): Promise<void> {
  const scratch = scratchDir();
  const { store, fleetId, sender } = searchStore(scratch.dir);
  const count = (word: string) => store.search.query(word, { fleetId: null, fromAgentId: null, toAgentId: null, sinceMs: null, limit: SEARCH_SIZE }).length;
  const rare = 'w1500';
  const common = 'w20';
  console.log(`(matches: ${rare} ${count(rare).toLocaleString('en')}, ${common} ${count(common).toLocaleString('en')}, w1 ${count('w1').toLocaleString('en')})`);
  const search = (query: string, extra: { fleetId?: string; fromAgentId?: string } = {}) => () =>
    searchMessages(store, query, { literal: false, fleetId: extra.fleetId ?? null, fromAgentId: extra.fromAgentId ?? null, toAgentId: null, sinceMs: null, limit: 20 });
  const bench = new Bench({ name: `search_messages, top 20, ${SEARCH_SIZE.toLocaleString('en')} messages stored (in process)`, time: 2_000, iterations: 20 });
  bench.add('a unique token (ticket123457)', search('ticket123457'));
  bench.add(`a rare word (${rare})`, search(rare));
  bench.add(`two rare words (${rare} AND w1400)`, search(`${rare} w1400`));
  bench.add(`a common word (${common})`, search(common));
  bench.add(`the commonest word (w1)`, search('w1'));
  bench.add('a phrase ("w1 w2")', search('"w1 w2"'));
  bench.add('a prefix (ticket12345*)', search('ticket12345*'));
  bench.add(`a rare word in one fleet`, search(rare, { fleetId }));
  bench.add(`a common word in one fleet`, search(common, { fleetId }));
  bench.add(`a common word from one sender`, search(common, { fromAgentId: sender }));
  await bench.run();
  report(bench, '');
  store.close();
  scratch.dispose();
}

if (!process.argv.includes('--search-only')) {
  await sendCost();
  await sendOverStdio();
}
await searchCost();
