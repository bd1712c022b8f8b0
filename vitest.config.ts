import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Vector suites spawn the real CLI once per vector; the machine may be slow and shared.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
