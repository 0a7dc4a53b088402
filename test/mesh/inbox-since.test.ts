// get_inbox with `since`: exactly the pending messages sent strictly after it, in send order,
// however long the inbox and however the senders' clocks disagree.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFleet } from '../../src/mesh/fleets.js';
import { ackMessage, getInbox, sendMessage } from '../../src/mesh/messages.js';
import { INBOX_SQL } from '../../src/store/inbox-query.js';
import { openStore, type Store } from '../../src/store/open.js';
import { rawDatabase } from '../helpers/database.js';
import { tempDir } from '../helpers/files.js';
import { startHarness } from '../helpers/mesh.js';

let store: Store;
let dbPath: string;
let cleanup: () => void;
let fleetId: string, sender: string, reader: string;

beforeEach(() => {
  const temp = tempDir();
  cleanup = temp.cleanup;
  dbPath = join(temp.dir, 'mesh.db');
  store = openStore(dbPath);
  const { fleet, agents } = createFleet(store, [{ role: 'sender', prompt: 'p' }, { role: 'reader', prompt: 'p' }]);
  ({ id: fleetId } = fleet);
  [sender, reader] = agents.map((a) => a.id) as [string, string];
});
afterEach(() => {
  store.close();
  cleanup();
});

/** Sends one message stamped `sentAt`, as a process whose clock reads that would. */
const sendAt = (sentAt: number, payload = String(sentAt)) =>
  sendMessage(store, { fleetId, fromAgentId: sender, toAgentId: reader, type: 'result', payload }, sentAt).messageId;

/** A small deterministic generator, so a failure repeats. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

describe('get_inbox since', () => {
  it('returns exactly the messages sent strictly after it, in send order, when clocks run out of order', () => {
    // 2,000 sends whose clocks wander up to 50 ms either way, with a few far behind or ahead:
    // more than one round of the query's budget, so both of its plans answer some of the cases.
    const next = random(13);
    const sent: { id: string; sentAt: number }[] = [];
    for (let i = 0; i < 2_000; i++) {
      const skew = next() < 0.01 ? (next() < 0.5 ? -100_000 : 100_000) : Math.floor(next() * 100) - 50;
      const sentAt = 1_000_000 + i * 10 + skew;
      sent.push({ id: sendAt(sentAt), sentAt });
    }
    const acked = new Set(sent.filter(() => next() < 0.2).map(({ id }) => id));
    for (const id of acked) ackMessage(store, reader, id);
    const pending = sent.filter(({ id }) => !acked.has(id));

    const times = [Number.MIN_SAFE_INTEGER, 0, 900_000, ...[0.1, 0.5, 0.9, 0.999].map((q) => 1_000_000 + Math.floor(q * 20_000)),
      ...sent.filter(() => next() < 0.01).map((m) => m.sentAt), 1_020_000, 1_200_000, Date.now()];
    for (const since of times) {
      const after = pending.filter((m) => m.sentAt > since).map((m) => m.id);
      for (const limit of [1, 10, 300, 1_000, 10_000]) {
        const page = getInbox(store, reader, { sinceMs: since, limit });
        expect(page.messages.map((m) => m.id), `since ${since}, limit ${limit}`).toEqual(after.slice(0, limit));
        expect(page.hasMore, `since ${since}, limit ${limit}`).toBe(after.length > limit);
      }
    }
  });

  it('keeps a message with a later seq but an earlier clock out, and one with an earlier seq but a later clock in', () => {
    const late = sendAt(5_000, 'clock ahead');
    sendAt(1_000, 'clock behind');
    const onTime = sendAt(3_001, 'on time');
    expect(getInbox(store, reader, { sinceMs: 3_000 }).messages.map((m) => m.id)).toEqual([late, onTime]);
    expect(getInbox(store, reader, { sinceMs: 3_000, limit: 1 })).toMatchObject({ messages: [{ id: late }], hasMore: true });
    expect(getInbox(store, reader, { sinceMs: 5_000 }).messages).toEqual([]);
  });

  it('finds deliveries written without sent_at, as a legacy import or older code writes them', () => {
    const message = sendAt(2_000);
    const db = rawDatabase(dbPath);
    db.exec(`INSERT INTO messages (id, fleet_id, from_agent_id, to_agent_id, type, payload, sent_at)
             VALUES ('old-writer', '${fleetId}', '${sender}', '${reader}', 'status', 'x', 3000);
             INSERT INTO deliveries (message_seq, agent_id) VALUES ((SELECT seq FROM messages WHERE id = 'old-writer'), '${reader}');`);
    expect(db.values('SELECT sent_at FROM deliveries ORDER BY message_seq')).toEqual([2_000, 3_000]);
    expect(getInbox(store, reader, { sinceMs: 1_999 }).messages.map((m) => m.id)).toEqual([message, 'old-writer']);
    expect(getInbox(store, reader, { sinceMs: 2_000 }).messages.map((m) => m.id)).toEqual(['old-writer']);
  });

  it('answers since=now on 50,000 pending messages with an empty page, through index ranges only', () => {
    const now = Date.now();
    store.write(() => {
      for (let i = 0; i < 50_000; i++) {
        const sentAt = now - 100_000 + i;
        const messageSeq = store.hot.insertMessage({
          id: `m${i}`, fleetId, fromAgentId: sender, toAgentId: reader, type: 'status', payload: 'x'.repeat(200), correlationId: null, sentAt,
        });
        store.hot.insertDelivery({ messageSeq, agentId: reader, acked: false, readAt: null, ackedAt: null, sentAt });
      }
    });
    expect(getInbox(store, reader, { sinceMs: now })).toEqual({ messages: [], hasMore: false });
    expect(getInbox(store, reader, { sinceMs: now - 100_000 + 49_994 }).messages.map((m) => m.id)).toEqual(['m49995', 'm49996', 'm49997', 'm49998', 'm49999']);
    expect(getInbox(store, reader, { sinceMs: 0, limit: 10 })).toMatchObject({ hasMore: true, messages: Array.from({ length: 10 }, (_, i) => ({ id: `m${i}` })) });

    // What SQLite runs: every statement is a range of one of the two pending indexes; the only
    // sort is byTime's, which runs after countSince has bounded its rows by the round's budget.
    const plan = (sql: string) => rawDatabase(dbPath).rows<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ...Array(sql.split('?').length - 1).fill(1))
      .map((row) => row.detail).join('\n');
    expect(plan(INBOX_SQL.countSince)).toMatch(/SEARCH deliveries USING COVERING INDEX deliveries_pending_by_time \(agent_id=\? AND sent_at>\?\)/);
    expect(plan(INBOX_SQL.byTime)).toMatch(/SEARCH d USING INDEX deliveries_pending_by_time \(agent_id=\? AND sent_at>\?\)/);
    expect(plan(INBOX_SQL.nthPending)).toMatch(/SEARCH deliveries USING COVERING INDEX deliveries_pending \(agent_id=\? AND message_seq>\?\)/);
    expect(plan(INBOX_SQL.bySeq)).toMatch(/SEARCH d USING INDEX deliveries_pending \(agent_id=\? AND message_seq>\? AND message_seq<\?\)/);
    expect(plan(INBOX_SQL.inSeqOrder)).toMatch(/SEARCH d USING INDEX deliveries_pending \(agent_id=\? AND message_seq>\?\)/);
    for (const sql of Object.values(INBOX_SQL)) expect(plan(sql)).not.toMatch(/\bSCAN (d|deliveries|m|messages)\b/);
    for (const sql of [INBOX_SQL.countSince, INBOX_SQL.nthPending, INBOX_SQL.bySeq, INBOX_SQL.inSeqOrder]) expect(plan(sql)).not.toMatch(/TEMP B-TREE/);
  });
});

describe('over MCP', () => {
  it('get_inbox since pages with limit and has_more; wait_for_messages still returns the whole inbox', async () => {
    const h = await startHarness();
    try {
      const { fleet_id: fleet, agent_ids: [from, to] } = await h.ok('spawn_fleet', { agents: [{ role: 'a', prompt: 'p' }, { role: 'b', prompt: 'p' }] });
      const send = (payload: string) => h.ok('send_message', { fleet_id: fleet, from_agent_id: from, to_agent_id: to, type: 'result', payload });
      await send('before');
      const { messages: [before] } = await h.ok('get_inbox', { agent_id: to });
      await eventuallyLater(before.timestamp);
      for (const payload of ['one', 'two', 'three']) await send(payload);
      const first = await h.ok('get_inbox', { agent_id: to, since: before.timestamp, limit: 2 });
      expect(first.messages.map((m: { payload: string }) => m.payload)).toEqual(['one', 'two']);
      expect(first.has_more).toBe(true);
      const all = await h.ok('get_inbox', { agent_id: to, since: before.timestamp });
      expect(all.messages.map((m: { payload: string }) => m.payload)).toEqual(['one', 'two', 'three']);
      expect(all.has_more).toBe(false);
      expect(await h.ok('get_inbox', { agent_id: to, since: Date.now() + 60_000 })).toEqual({ messages: [], has_more: false });
      // wait_for_messages takes no since: it wakes on any pending message and returns them all.
      const waited = await h.ok('wait_for_messages', { agent_id: to, timeout_ms: 5_000 });
      expect(waited.timed_out).toBe(false);
      expect(waited.messages.map((m: { payload: string }) => m.payload)).toEqual(['before', 'one', 'two', 'three']);
    } finally {
      await h.close();
    }
  });
});

/** Resolves once the clock has passed `ms`, so later sends are stamped strictly after it. */
async function eventuallyLater(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((resolve) => setTimeout(resolve, 1));
}
