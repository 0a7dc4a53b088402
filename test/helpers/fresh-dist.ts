import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../../src/store/package-root.js';

/**
 * Sources whose built file in dist/ is missing or older than they are. Tests that start the CLI,
 * the test agent or a child store run dist/, so a stale build would test yesterday's code.
 */
export function staleBuilds(root: string): { source: string; built: string }[] {
  const stale: { source: string; built: string }[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const source = relative(root, path);
        const built = join('dist', source.replace(/\.ts$/, '.js'));
        const builtAt = statSync(join(root, built), { throwIfNoEntry: false })?.mtimeMs;
        if (builtAt === undefined || builtAt < statSync(path).mtimeMs) stale.push({ source, built });
      }
    }
  };
  walk(join(root, 'src'));
  return stale;
}

/** Throws, naming a stale file, unless every source under root/src is built in root/dist. */
export function requireFreshBuild(root: string): void {
  const stale = staleBuilds(root);
  if (stale.length === 0) return;
  const [first] = stale;
  throw new Error(`dist/ is older than src/: run \`npm run build\` (${first!.built} is missing or older than ${first!.source}`
    + `${stale.length > 1 ? `, and ${stale.length - 1} more` : ''}).`);
}

/** vitest globalSetup: `npm test` builds first (pretest); a direct `npx vitest` after an edit stops here. */
export default function setup(): void {
  requireFreshBuild(packageRoot);
}
