import { defineConfig } from 'vitest/config';

/**
 * One project per test level, so each can be run alone (`npm run test:unit`, …)
 * and `npm test` runs them all.
 */
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { test: { name: 'integration', include: ['test/integration/**/*.test.ts'], testTimeout: 30_000 } },
      { test: { name: 'infra', include: ['test/infra/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 } },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 } },
      { test: { name: 'browser', include: ['test/browser/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 } },
      // Soaks, crashes, bad input and attacks over real HTTP: minutes, not seconds, and printed figures.
      { test: { name: 'reliability', include: ['test/reliability/**/*.test.ts'], testTimeout: 420_000, hookTimeout: 120_000 } },
    ],
  },
});
