import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { registerCapability } from '../mesh/capabilities.js';
import type { Agent } from '../mesh/fleets.js';
import { MAX_MODEL_CHARS, MAX_SKILLS, MAX_TERM_CHARS } from '../mesh/limits.js';
import type { Store } from '../store/open.js';
import { keywords } from '../store/terms.js';

export interface PremadeAgent {
  filename: string;
  name: string;
  description: string | null;
  mode: string | null;
  path: string;
}

/**
 * Agent definition files: .opencode/agents/*.md under the project, then under the user's
 * config (~/.config/opencode/agents). A project file shadows a user file of the same name.
 */
export function listPremadeAgents(projectDir: string, homeDir: string): PremadeAgent[] {
  const found = new Map<string, PremadeAgent>();
  for (const dir of [join(projectDir, '.opencode', 'agents'), join(homeDir, '.config', 'opencode', 'agents')]) {
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.md')).sort();
    } catch {
      continue;
    }
    for (const filename of files) {
      const name = basename(filename, '.md');
      if (found.has(name)) continue;
      const path = join(dir, filename);
      const meta = frontmatter(readFileSync(path, 'utf8'));
      found.set(name, { filename, name, description: meta.description ?? null, mode: meta.mode ?? null, path });
    }
  }
  return [...found.values()];
}

/**
 * The `key: value` lines between leading --- fences; a key followed by `- item` lines, or a
 * value like [a, b], becomes a comma-separated list.
 */
function frontmatter(text: string): Record<string, string> {
  const match = text.match(/^---\r?\n([\s\S]*?)\r?\n---/);
  if (match === null) return {};
  const fields: Record<string, string> = {};
  let listKey: string | null = null;
  for (const line of match[1]!.split(/\r?\n/)) {
    const item = line.match(/^\s+-\s*(.+)$/);
    if (item !== null && listKey !== null) {
      fields[listKey] = [fields[listKey], unquote(item[1]!)].filter(Boolean).join(', ');
      continue;
    }
    const kv = line.match(/^([A-Za-z_][\w-]*):\s*(.*)$/);
    if (kv === null) continue;
    const value = unquote(kv[2]!);
    fields[kv[1]!] = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1).split(',').map((v) => unquote(v.trim())).join(', ') : value;
    listKey = value === '' ? kv[1]! : null;
  }
  return fields;
}

const unquote = (text: string): string => text.trim().replace(/^(['"])(.*)\1$/, '$2');

/** The premade agent of that stem, if a definition file exists. */
export function findPremadeAgent(projectDir: string, homeDir: string, stem: string): (PremadeAgent & { skills: string[]; model: string | null }) | undefined {
  const found = listPremadeAgents(projectDir, homeDir).find((a) => a.name === stem);
  if (found === undefined) return undefined;
  const meta = frontmatter(readFileSync(found.path, 'utf8'));
  // Skills as declared; without a skills list, the words of the description stand in. Kept
  // within register_capability's limits: a file's excess must not fail the spawn that reads it.
  const skills = (meta.skills ? meta.skills.split(',').map((s) => s.trim()).filter(Boolean) : keywords(meta.description ?? '').slice(0, 12))
    .filter((s) => s.length <= MAX_TERM_CHARS).slice(0, MAX_SKILLS);
  const model = meta.model && meta.model.length <= MAX_MODEL_CHARS ? meta.model : null;
  return { ...found, skills, model };
}

/** Registers, for each agent started from a premade definition, the capabilities it declares. */
export function registerPremadeCapabilities(store: Store, agents: readonly Agent[], projectDir: string, homeDir: string): void {
  for (const agent of agents) {
    if (agent.agentFile === null) continue;
    const premade = findPremadeAgent(projectDir, homeDir, agent.agentFile);
    if (premade === undefined) continue;
    registerCapability(store, { agentId: agent.id, fleetId: agent.fleetId, role: agent.role, skills: premade.skills, model: premade.model });
  }
}
