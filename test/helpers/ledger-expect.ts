// Checks, record by record, that a legacy ledger arrived in the database. It reads the ledger
// JSON on its own (not through src/store/legacy) so the import is checked against the file.
import { readFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { expect } from 'vitest';

type Json = Record<string, any>;

/** What SQLite's UTF-8 can hold of a JS string: unpaired surrogates become U+FFFD. */
const storable = (text: string): string => (text as unknown as { toWellFormed(): string }).toWellFormed();

export function expectLedgerImported(dbPath: string, ledgerPath: string): void {
  const ledger = JSON.parse(readFileSync(ledgerPath, 'utf8')) as Json;
  const db = new BetterSqlite3(dbPath, { readonly: true });
  try {
    const one = (sql: string, ...params: unknown[]) => db.prepare(sql).get(...params) as Json | undefined;

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
        attempts: a.started_at != null ? (a.retry_count ?? 0) + 1 : 0, supervisor_id: null, pid_start: null, profile: 'worker', token_hash: null,
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

    // The inbox view holds exactly what the old inboxes held (entries naming lost messages aside).
    for (const [agentId, ids] of Object.entries<string[]>(ledger.inboxes ?? {})) {
      const held = [...new Set(ids.filter((id) => ledger.messages?.[id] !== undefined))].sort();
      const shown = (db.prepare('SELECT message_id FROM inbox WHERE agent_id = ?').pluck().all(agentId) as string[]).sort();
      expect(shown, `inbox of ${agentId}`).toEqual(held);
    }
    const inboxAgents = new Set(Object.keys(ledger.inboxes ?? {}));
    const strays = db.prepare('SELECT DISTINCT agent_id FROM inbox').pluck().all() as string[];
    for (const agentId of strays) {
      if (!inboxAgents.has(agentId)) {
        expect(one('SELECT 1 AS hit FROM deliveries WHERE agent_id = ? AND acked = 0 AND message_seq IN (SELECT seq FROM messages WHERE id IN (SELECT value FROM json_each(?)))',
          agentId, JSON.stringify(messages.map(([id]) => id))), `${agentId} has no old inbox, so none of this ledger's messages may be pending for it`).toBeUndefined();
      }
    }

    for (const [agentId, c] of Object.entries<Json>(ledger.capabilities ?? {})) {
      expect(one('SELECT * FROM capabilities WHERE agent_id = ?', agentId), `capability ${agentId}`).toEqual({
        agent_id: agentId, fleet_id: c.fleet_id ?? null, role: c.role, model: c.model ?? null,
        context_window: c.context_window ?? null, registered_at: c.registered_at,
      });
      expect(db.prepare('SELECT skill FROM capability_skills WHERE agent_id = ? ORDER BY position').pluck().all(agentId)).toEqual(c.skills);
    }
    for (const [key, t] of Object.entries<Json>(ledger.templates ?? {})) {
      const name = t.name ?? key;
      const version = t.version ?? 1;
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
