import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding package.json and migrations/. Found by walking up, because this module
 * runs from src/ under vitest and from dist/src/ when built.
 */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'migrations'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('meshfleet: cannot find its package folder (package.json beside migrations/)');
    dir = parent;
  }
  return dir;
})();
