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
      // The 200-request crash soak (five SIGKILLs). Not in `npm test`: it fails intermittently on an
      // open defect (a projection left behind its chain after a kill is, rarely, not repaired;
      // see the README's Reliability section). Run it with `npm run test:crash-soak`.
      { test: { name: 'soak', include: ['test/reliability/**/*.soak.ts'], testTimeout: 420_000, hookTimeout: 120_000 } },
    ],
  },
});
