// capability_terms (migration 0002): each capability's role and skills as the terms route_work
// matches on, rewritten whenever the capability is.
import type BetterSqlite3 from 'better-sqlite3';
import { termsOf } from './terms.js';

export interface CapabilityTermStatements {
  /** Replaces the terms of one agent's capability. Call inside the write that replaces the capability. */
  replace(agentId: string, role: string, skills: readonly string[]): void;
}

export function prepareCapabilityTermStatements(db: BetterSqlite3.Database): CapabilityTermStatements {
  // capability_terms_by_agent.
  const forget = db.prepare('DELETE FROM capability_terms WHERE agent_id = ?');
  // A one-word text (whole and word are one term) or a skill listed twice yields a row twice; IGNORE keeps one.
  const insert = db.prepare('INSERT OR IGNORE INTO capability_terms (term, agent_id, field, source) VALUES (?, ?, ?, ?)');
  return {
    replace: (agentId, role, skills) => {
      forget.run(agentId);
      for (const term of termsOf(role)) insert.run(term, agentId, 'role', role);
      for (const skill of skills) for (const term of termsOf(skill)) insert.run(term, agentId, 'skill', skill);
    },
  };
}
