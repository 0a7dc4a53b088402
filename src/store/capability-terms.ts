// capability_terms (migrations 0002, 0009): each capability's role and skills as the terms
// route_work matches on (src/store/terms.ts), rewritten whenever the capability is.
import type BetterSqlite3 from 'better-sqlite3';
import { termsOf } from './terms.js';

export interface CapabilityTermStatements {
  /** Replaces the terms of one agent's capability. Call inside the write that replaces the capability. */
  replace(agentId: string, role: string, skills: readonly string[]): void;
}

/** The meshfleet_meta key a migration sets when the terms must be derived again (0009). */
export const DERIVE_TERMS_KEY = 'derive_capability_terms';

export function prepareCapabilityTermStatements(db: BetterSqlite3.Database): CapabilityTermStatements {
  // capability_terms_by_agent.
  const forget = db.prepare('DELETE FROM capability_terms WHERE agent_id = ?');
  // A skill listed twice, or a role word that is also a skill, yields a row twice; IGNORE keeps one.
  const insert = db.prepare('INSERT OR IGNORE INTO capability_terms (term, agent_id, field, source, part) VALUES (?, ?, ?, ?, ?)');
  const put = (agentId: string, field: 'role' | 'skill', source: string) => {
    for (const { term, part } of termsOf(source)) insert.run(term, agentId, field, source, part ? 1 : 0);
  };
  return {
    replace: (agentId, role, skills) => {
      forget.run(agentId);
      put(agentId, 'role', role);
      for (const skill of skills) put(agentId, 'skill', skill);
    },
  };
}

/**
 * Derives every capability's terms again when a migration asked for it (the DERIVE_TERMS_KEY
 * row), inside the migrator's transaction: no reader ever sees the table half filled.
 */
export function deriveCapabilityTermsIfAsked(db: BetterSqlite3.Database): boolean {
  const asked = db.prepare('SELECT 1 FROM meshfleet_meta WHERE key = ?').get(DERIVE_TERMS_KEY) !== undefined;
  if (!asked) return false;
  const statements = prepareCapabilityTermStatements(db);
  const skills = new Map<string, string[]>();
  for (const row of db.prepare('SELECT agent_id, skill FROM capability_skills ORDER BY agent_id, position').all() as { agent_id: string; skill: string }[]) {
    const list = skills.get(row.agent_id);
    if (list === undefined) skills.set(row.agent_id, [row.skill]);
    else list.push(row.skill);
  }
  for (const { agent_id, role } of db.prepare('SELECT agent_id, role FROM capabilities').all() as { agent_id: string; role: string }[]) {
    statements.replace(agent_id, role, skills.get(agent_id) ?? []);
  }
  db.prepare('DELETE FROM meshfleet_meta WHERE key = ?').run(DERIVE_TERMS_KEY);
  return true;
}
