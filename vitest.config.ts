import { defineConfig } from 'vitest/config';

// Sized for a loaded 2-core machine: tests start real processes and write real files. A test
// that waits on a condition (test/helpers/mesh.ts `eventually`, 10 s by default) must give up,
// with its own assertion, well before the test itself times out.
export default defineConfig({
  test: {
    dir: 'test',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // Child-process tests run the built dist/: refuse to run against a stale one.
    globalSetup: ['test/helpers/fresh-dist.ts'],
  },
});
