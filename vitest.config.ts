import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real control plane suites need scripts/tools.sh k8s: `npm run test:k8s` runs them.
    exclude: [...configDefaults.exclude, 'test/k8s/**'],
    // Vector suites spawn the real CLI once per vector; the machine may be slow and shared.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
