import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{core,router,retrieval,deploy,models,benchmarks,evals,bin,scripts}/**/*.test.ts'],
    // Servers bind real loopback ports; two cores cannot run many suites at once without skewing timing-based engines.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './bin/vitest-summary-reporter.ts'],
    // Processes the tests spawn through bin/switchyard.js run the current TypeScript sources, never a stale dist/.
    env: { SWITCHYARD_FROM_SOURCE: '1' },
  },
});
