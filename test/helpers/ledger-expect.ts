// Checks, record by record, that a legacy ledger arrived in the database. It reads the ledger
// JSON on its own (not through src/store/legacy) so the import is checked against the file: fields
// the import copies are compared with the file's, and what it derives (attempts, deliveries,
// template versions) with values written by hand in ledger-derived.ts.
import { readFileSync } from 'node:fs';
import { basename, dirname, relative } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { expect } from 'vitest';
import { FIXTURES, SHARED_LEDGERS } from './files.js';
import { DERIVED, type DerivedExpectations } from './ledger-derived.js';

type Json = Record<string, any>;

/** What SQLite's UTF-8 can hold of a JS string: unpaired surrogates become U+FFFD. */
const storable = (text: string): string => (text as unknown as { toWellFormed(): string }).toWellFormed();

/** The hand-written expectations of a fixture or shared ledger. */
function derivedFor(ledgerPath: string): DerivedExpectations {
  const folder = dirname(ledgerPath);
  const key = relative(folder, FIXTURES) === '' ? `fixtures/${basename(ledgerPath)}`
    : relative(folder, SHARED_LEDGERS) === '' ? `shared/${basename(ledgerPath)}` : ledgerPath;
  const derived = DERIVED[key];
  if (derived === undefined) throw new Error(`No hand-written expectations for ${key}: add them to test/helpers/ledger-derived.ts.`);
  return derived;
}

/** A delivery row as DerivedExpectations words it. */
const deliveryLine = (d: Json): string =>
  `${d.agent_id} ${d.acked === 1 ? 'acked' : 'pending'}${d.acked_at === null ? '' : ` at ${d.acked_at}`}${d.read_at === null ? '' : `, read ${d.read_at}`}`;

export function expectLedgerImported(dbPath: string, ledgerPath: string, derived: DerivedExpectations = derivedFor(ledgerPath)): void {
  const ledger = JSON.parse(readFileSync(ledgerPath, 'utf8')) as Json;
  const db = new BetterSqlite3(dbPath, { readonly: true });
  try {
    const one = (sql: string, ...params: unknown[]) => db.prepare(sql).get(...params) as Json | undefined;
    // The hand-written tables must name every record they speak of, no more and no fewer.
    expect(Object.keys(derived.attempts).sort(), 'agents with hand-written attempts').toEqual(Object.keys(ledger.agents).sort());
    expect(Object.keys(derived.deliveries).sort(), 'messages with hand-written deliveries').toEqual(Object.keys(ledger.messages ?? {}).sort());
    expect(Object.keys(derived.templates).sort(), 'templates with a hand-written name@version').toEqual(Object.keys(ledger.templates ?? {}).sort());

    for (const [id, f] of Object.entries<Json>(ledger.fleets)) {
      expect(one('SELECT * FROM fleets WHERE id = ?', id), `fleet ${id}`).toEqual({
        id, status: f.status, created_at: f.created_at, completed_at: f.completed_at ?? null, timeout_ms: f.timeout_ms ?? null,
      });
    }
    for (const [id, a] of Object.entries<Json>(ledger.agents)) {
      expect(one('SELECT * FROM agents WHERE id = ?', id), `agent ${id}`).toEqual({
        id, fleet_id: a.fleet_id, role: a.role, prompt: a.prompt, agent_file: a.agent_file ?? null, status: a.status,
        pid: a.pid ?? null, retry_count: a.retry_count ?? 0, output: a.output ?? null, error: a.error ?? null,
        created_at: null, started_at: a.started_at ?? null, completed_at: a.completed_at ?? null,
        attempts: derived.attempts[id], supervisor_id: null, pid_start: null, profile: 'worker', token_hash: null,
        workspace_repo: null, workspace_path: null, workspace_branch: null, workspace_base: null, workspace_state: null,
      });
    }
    const messages = Object.entries<Json>(ledger.messages ?? {});
    for (const [id, m] of messages) {
      const row = one('SELECT * FROM messages WHERE id = ?', id);
      expect(row, `message ${id}`).toMatchObject({
        fleet_id: m.fleet_id, from_agent_id: m.from_agent_id, to_agent_id: m.to_agent_id, type: m.type,
        correlation_id: m.correlation_id ?? null, sent_at: m.timestamp,
      });
      expect(Buffer.from(row!.payload as string, 'utf8').equals(Buffer.from(storable(m.payload), 'utf8')), `payload bytes of ${id}`).toBe(true);
    }
    // Send order is ledger order.
    const order = db.prepare('SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?)) ORDER BY seq').pluck()
      .all(JSON.stringify(messages.map(([id]) => id)));
    expect(order).toEqual(messages.map(([id]) => id));

    const deliveriesOf = db.prepare(`SELECT d.agent_id, d.acked, d.read_at, d.acked_at FROM deliveries AS d
      JOIN messages AS m ON m.seq = d.message_seq WHERE m.id = ? ORDER BY d.agent_id`);
    for (const [id] of messages) {
      expect((deliveriesOf.all(id) as Json[]).map(deliveryLine).sort(), `deliveries of ${id}`).toEqual([...derived.deliveries[id]!].sort());
    }
    // The inbox view (what `select * from inbox` shows a person) holds exactly the pending ones.
    const pending = Object.entries(derived.deliveries).flatMap(([id, lines]) => lines
      .map((line) => /^(\S+) pending\b/.exec(line)?.[1]).filter((agentId) => agentId !== undefined).map((agentId) => `${agentId} ${id}`));
    const shown = db.prepare('SELECT agent_id, message_id FROM inbox WHERE message_id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(messages.map(([id]) => id))) as Json[];
    expect(shown.map((row) => `${row.agent_id} ${row.message_id}`).sort(), 'the inbox view').toEqual(pending.sort());

    for (const [agentId, c] of Object.entries<Json>(ledger.capabilities ?? {})) {
      expect(one('SELECT * FROM capabilities WHERE agent_id = ?', agentId), `capability ${agentId}`).toEqual({
        agent_id: agentId, fleet_id: c.fleet_id ?? null, role: c.role, model: c.model ?? null,
        context_window: c.context_window ?? null, registered_at: c.registered_at,
      });
      expect(db.prepare('SELECT skill FROM capability_skills WHERE agent_id = ? ORDER BY position').pluck().all(agentId)).toEqual(c.skills);
    }
    for (const [key, t] of Object.entries<Json>(ledger.templates ?? {})) {
      const [name, versionText] = derived.templates[key]!.split('@');
      const version = Number(versionText);
      expect(one('SELECT * FROM templates WHERE name = ? AND version = ?', name, version), `template ${key}`).toEqual({
        name, version, description: t.description ?? null, created_at: t.created_at ?? null,
      });
      const seats = db.prepare('SELECT role, prompt, agent FROM template_agents WHERE template_name = ? AND template_version = ? ORDER BY position')
        .all(name, version);
      expect(seats).toEqual(t.agents.map((s: Json) => ({ role: s.role, prompt: s.prompt, agent: s.agent ?? null })));
    }
    for (const r of Object.values<Json>(ledger.receipts ?? {})) {
      expect(one('SELECT recorded_at, note FROM receipts WHERE message_id = ? AND agent_id = ? AND action = ?', r.message_id, r.agent_id, r.action))
        .toEqual({ recorded_at: r.timestamp, note: r.note ?? null });
    }
    for (const [key, body] of Object.entries(ledger.ratifications ?? {})) {
      const row = one("SELECT body FROM legacy_extras WHERE kind = 'ratification' AND record_key = ?", key);
      expect(JSON.parse(row!.body as string)).toEqual(body);
    }
  } finally {
    db.close();
  }
}
