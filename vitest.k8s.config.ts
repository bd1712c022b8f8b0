import { defineConfig } from 'vitest/config';

// The real control plane suites (test/k8s/): one control plane per file, started in beforeAll,
// which takes tens of seconds on a busy machine. Run with `npm run test:k8s`.
export default defineConfig({
  test: {
    include: ['test/k8s/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Each file starts its own control plane: one at a time is all a small machine can take.
    fileParallelism: false,
    // The components die with the process that spawned them (parent-death signal), so that
    // process must live as long as the file: a forked worker, not a worker thread.
    pool: 'forks',
  },
});
