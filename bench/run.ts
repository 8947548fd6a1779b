/**
 * `npm run bench` (full) and `npm run bench -- --quick` (smaller counts, under a minute):
 * runs every measurement, prints the table and writes `bench/results.json`.
 * `--only <name,…>` runs some of them (intake, intake-breakdown, roles, workflow, cold-start, e2e, export, budget, budget-roles, budget-burst).
 * These are measurements, never pass/fail checks: the exit code is 0 whatever the ratios say.
 * The file records the machine and the kind of run beside the rows; `npm run bench:report` renders
 * it as docs/PERFORMANCE.md and the performance block of README.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, totalmem } from 'node:os';
import { join } from 'node:path';
import { callBudgetBench, callBudgetBurstBench, callBudgetRolesBench } from './call-budget';
import { coldStartBench } from './cold-start';
import { endToEndBench } from './end-to-end';
import { exportBench } from './export';
import { intakeBench, intakeBreakdown } from './intake';
import { BENCH_DIR, formatTable, mergeRows, type BenchContext, type Measurement, type Row } from './lib';
import type { BenchMachine, BenchResults } from './report';
import { rolesSnapshotBench } from './roles-snapshot';
import { workflowBench } from './workflow';

const MEASUREMENTS: Record<string, Measurement> = {
  intake: intakeBench,
  'intake-breakdown': intakeBreakdown,
  roles: rolesSnapshotBench,
  workflow: workflowBench,
  'cold-start': coldStartBench,
  e2e: endToEndBench,
  export: exportBench,
  budget: callBudgetBench,
  'budget-roles': callBudgetRolesBench,
  'budget-burst': callBudgetBurstBench,
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',') : Object.keys(MEASUREMENTS);
  const started = performance.now();
  const ranAt = new Date().toISOString();
  const ctx: BenchContext = { quick, log: (m) => process.stderr.write(`${m}\n`) };
  const rows: Row[] = [];
  for (const name of only) {
    const measure = MEASUREMENTS[name];
    if (!measure) throw new Error(`Unknown measurement ${name}; known: ${Object.keys(MEASUREMENTS).join(', ')}`);
    const t0 = performance.now();
    ctx.log(`▶ ${name}`);
    rows.push(...(await measure(ctx)));
    ctx.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const durationSeconds = Math.round((performance.now() - started) / 1000);
  const machine: BenchMachine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${platform()} ${arch()}`,
  };
  const mode = quick ? 'quick' : onlyAt >= 0 ? 'partial' : 'full';
  const machineText = `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}`;
  process.stdout.write(`\n${formatTable(rows)}\n\n${mode} run in ${durationSeconds} s on ${machineText}\n`);
  const path = join(BENCH_DIR, 'results.json');
  // A run of some measurements replaces their rows and keeps the others (and the notes that say when each was taken).
  const earlier = onlyAt >= 0 && existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as BenchResults) : undefined;
  const results: BenchResults = earlier
    ? { ...earlier, rows: mergeRows(earlier.rows, rows) }
    : { ranAt, mode, durationSeconds, machine, notes: [], rows };
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
  if (earlier) process.stdout.write(`rows merged into bench/results.json (its run of ${earlier.ranAt}); say in its notes when and how these were measured\n`);
  // Servers of the measurements are stopped; anything left (SDK sockets) must not keep us alive.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
