import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requireFreshBuild, requireFreshBundle, staleBuilds } from '../helpers/fresh-dist.js';
import { tempDir } from '../helpers/files.js';

let temp: ReturnType<typeof tempDir>;
beforeEach(() => {
  temp = tempDir();
  mkdirSync(join(temp.dir, 'src', 'cli'), { recursive: true });
  mkdirSync(join(temp.dir, 'dist', 'src', 'cli'), { recursive: true });
});
afterEach(() => temp.cleanup());

/** A file with a modification time `at` seconds into the epoch. */
function file(path: string, at: number): void {
  writeFileSync(join(temp.dir, path), '');
  utimesSync(join(temp.dir, path), at, at);
}

describe('tests that run dist/ refuse a stale build', () => {
  it('pass when every source is built after its last change', () => {
    file('src/cli/main.ts', 1_000);
    file('dist/src/cli/main.js', 2_000);
    file('src/types.d.ts', 3_000); // declarations build to nothing
    expect(staleBuilds(temp.dir)).toEqual([]);
    expect(() => requireFreshBuild(temp.dir)).not.toThrow();
  });

  it('fail, naming the file, when a source changed after the build or was never built', () => {
    file('src/cli/main.ts', 3_000);
    file('dist/src/cli/main.js', 2_000);
    file('src/config.ts', 1_000);
    expect(staleBuilds(temp.dir)).toEqual(expect.arrayContaining([
      { source: 'src/cli/main.ts', built: 'dist/src/cli/main.js' },
      { source: 'src/config.ts', built: 'dist/src/config.js' },
    ]));
    expect(() => requireFreshBuild(temp.dir)).toThrow(/^dist\/ is older than src\/: run `npm run build` \(dist\/src\/.* is missing or older than src\/.*, and 1 more\)\.$/);
  });
});

describe('tests that run the bundled CLI refuse a bundle older than dist/src', () => {
  it('pass when dist/bin/main.js was bundled after the last compile, fail when it is older or missing', () => {
    file('dist/src/cli/main.js', 2_000);
    expect(() => requireFreshBundle(temp.dir)).toThrow(/^dist\/bin\/ is older than dist\/src\/: run `npm run build`/);
    mkdirSync(join(temp.dir, 'dist', 'bin'));
    file('dist/bin/main.js', 1_000);
    expect(() => requireFreshBundle(temp.dir)).toThrow(/older than dist\/src/);
    file('dist/bin/main.js', 3_000);
    expect(() => requireFreshBundle(temp.dir)).not.toThrow();
  });
});
