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

/**
 * Throws unless dist/bin/main.js (the bundle npm installs, built from dist/src by `npm run build`
 * after tsc) is at least as new as every file of dist/src.
 */
export function requireFreshBundle(root: string): void {
  const bundledAt = statSync(join(root, 'dist', 'bin', 'main.js'), { throwIfNoEntry: false })?.mtimeMs;
  let newest = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith('.js')) newest = Math.max(newest, statSync(join(dir, entry.name)).mtimeMs);
    }
  };
  walk(join(root, 'dist', 'src'));
  if (bundledAt === undefined || bundledAt < newest) {
    throw new Error('dist/bin/ is older than dist/src/: run `npm run build` (it bundles the CLI after compiling it).');
  }
}

/** vitest globalSetup: `npm test` builds first (pretest); a direct `npx vitest` after an edit stops here. */
export default function setup(): void {
  requireFreshBuild(packageRoot);
  requireFreshBundle(packageRoot);
}
