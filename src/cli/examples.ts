// The fleet templates shipped in examples/: one folder each, holding template.json (the format
// export_fleet_template writes and import_fleet_template reads) and a README.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../store/package-root.js';
import { UsageError } from './command.js';

export const EXAMPLES_DIR = join(packageRoot, 'examples');

export interface ExampleTemplate {
  schema: string;
  name: string;
  description?: string | null;
  agents: { role: string; prompt: string; agent?: string; profile?: string }[];
}

export interface Example { name: string; path: string; template: ExampleTemplate }

export function exampleNames(): string[] {
  if (!existsSync(EXAMPLES_DIR)) return [];
  return readdirSync(EXAMPLES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(EXAMPLES_DIR, entry.name, 'template.json')))
    .map((entry) => entry.name)
    .sort();
}

/** The example's template as shipped; its checks are import_fleet_template's, where a user's file would meet them too. */
export function loadExample(name: string): Example {
  const names = exampleNames();
  if (!names.includes(name)) {
    throw new UsageError(`--example must be one of ${names.join(', ') || '(none: this install has no examples/ folder)'}; got '${name}'.`);
  }
  const path = join(EXAMPLES_DIR, name, 'template.json');
  return { name, path, template: JSON.parse(readFileSync(path, 'utf8')) as ExampleTemplate };
}
