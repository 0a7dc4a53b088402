import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

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

/** The flat `key: value` lines between leading --- fences. */
function frontmatter(text: string): Record<string, string> {
  const match = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  if (match === null) return {};
  const fields: Record<string, string> = {};
  for (const line of match[1]!.split(/\r?\n/)) {
    const kv = /^([A-Za-z_][\w-]*):\s*(.*)$/.exec(line);
    if (kv !== null) fields[kv[1]!] = kv[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return fields;
}
