import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The order `npm test` runs its files in, for three workers on the two cores CI has: much of the
 * suite waits on timers (workflow waits, polls, sweeper passes), so a third lane fills cores the
 * other two leave idle.
 *
 * Most files are light; two are soaks that keep a local runtime busy for minutes and use more
 * than a core between them. Run side by side, the soaks slow each other down; each beside light
 * files, they hide most of the rest of the suite. So the queue starts with one soak, then light
 * files worth about as long as that soak takes, then the other soak, then the rest, longest
 * first. A worker takes the next file as it frees up, so the second soak starts about when the
 * first one ends. The estimates only order the queue; no test reads them.
 */

/** Seconds a file takes alone on a 2-core machine, roughly; files not listed count as light. */
const ESTIMATED_SECONDS: Record<string, number> = {
  'test/reliability/fault-soak.test.ts': 110,
  'test/reliability/crash-soak.test.ts': 130,
  'test/e2e/workflow-error-branches.test.ts': 80,
  'test/reliability/audit-tamper.test.ts': 70,
  'test/e2e/alarm-semantics.test.ts': 45,
  'test/e2e/crash-recovery.test.ts': 45,
  'test/reliability/bad-input.test.ts': 40,
  'test/e2e/call-budget.test.ts': 40,
  'test/e2e/workflow.test.ts': 35,
  'test/reliability/attacks.test.ts': 30,
  'test/e2e/verified-erasure.test.ts': 30,
  'test/infra/typecheck.test.ts': 30,
  'test/e2e/batched-erasure.test.ts': 30,
  'test/e2e/ops.test.ts': 25,
  'test/browser/console.test.ts': 25,
  'test/reliability/personal-data-in-logs.test.ts': 25,
  'test/infra/cfn-lint.test.ts': 20,
};
/** What a light file costs with its worker's start-up. */
const LIGHT_SECONDS = 4;
const SOAK = /-soak\.test\.ts$/;
const WORKERS = 3;

class LaneSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const path = (spec: TestSpecification) => relative(root, spec.moduleId).split('\\').join('/');
    const seconds = (spec: TestSpecification) => ESTIMATED_SECONDS[path(spec)] ?? LIGHT_SECONDS;
    const byLength = (a: TestSpecification, b: TestSpecification) => seconds(b) - seconds(a) || path(a).localeCompare(path(b));
    const soaks = files.filter((f) => SOAK.test(path(f))).sort(byLength);
    const light = files.filter((f) => !SOAK.test(path(f))).sort(byLength);

    const queue: TestSpecification[] = [];
    for (const [i, soak] of soaks.entries()) {
      queue.push(soak);
      if (i === soaks.length - 1) break;
      // Light work worth as long as this soak, for the other workers, before the next soak.
      for (let budget = seconds(soak) * (WORKERS - 1); budget > 0 && light.length > 0; ) budget -= seconds(queue[queue.push(light.shift()!) - 1]!);
    }
    return [...queue, ...light];
  }
}

/**
 * One project per test level, so each can be run alone (`npm run test:unit`, …)
 * and `npm test` runs them all.
 */
export default defineConfig({
  test: {
    // Three workers on CI's two cores, fed so that the two soaks each run beside light files.
    maxWorkers: WORKERS,
    sequence: { sequencer: LaneSequencer },
    // Unit, integration and infra files share their worker's modules (isolate: false): none of
    // them patches globals, and a fresh process per file cost more than its tests.
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000, isolate: false } },
      { test: { name: 'integration', include: ['test/integration/**/*.test.ts'], testTimeout: 30_000, isolate: false } },
      { test: { name: 'infra', include: ['test/infra/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000, isolate: false } },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 } },
      { test: { name: 'browser', include: ['test/browser/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 } },
      // Soaks, crashes, bad input and attacks over real HTTP: minutes, not seconds, and printed figures.
      { test: { name: 'reliability', include: ['test/reliability/**/*.test.ts'], testTimeout: 420_000, hookTimeout: 120_000 } },
    ],
  },
});
