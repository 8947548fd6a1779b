/**
 * `npm run bench:report`: renders `bench/results.json` (written by `npm run bench`) as
 * `docs/PERFORMANCE.md` — the machine the figures were measured on, then one table per
 * measurement with each figure, its baseline, their ratio and the goal.
 *
 * Nothing here knows a figure: every number in the page comes from the results file, so the page
 * is regenerated, never edited. Results written before the file recorded its machine (a bare array
 * of rows) render with the machine marked as not recorded.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR, PROJECT_ROOT, formatNumber, met, type Row } from './lib';

/** The machine a run measured on, as `npm run bench` records it. */
export interface BenchMachine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  /** Operating system and architecture (`linux x64`); absent in older results. */
  os?: string;
}

/** The contents of `bench/results.json`. */
export interface BenchResults {
  /** When the run started (ISO date or date-time). */
  ranAt: string | null;
  /** `full` (every measurement), `quick` (smaller counts) or `partial` (`--only`). */
  mode: 'full' | 'quick' | 'partial' | null;
  durationSeconds: number | null;
  machine: BenchMachine | null;
  /** What a reader must know about how these rows came together. */
  notes: string[];
  rows: Row[];
}

/** Thrown when the results file is not what `npm run bench` writes. */
export class BenchResultsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchResultsError';
  }
}

const isNumberOrNull = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v));

function parseRow(value: unknown, index: number): Row {
  const r = value as Partial<Record<keyof Row, unknown>> | null;
  if (
    !r ||
    typeof r.name !== 'string' ||
    typeof r.value !== 'number' ||
    !isNumberOrNull(r.baseline) ||
    !isNumberOrNull(r.ratio) ||
    !(r.goal === null || typeof r.goal === 'string') ||
    typeof r.unit !== 'string'
  ) {
    throw new BenchResultsError(`Row ${index} is not { name, value, baseline, ratio, goal, unit }`);
  }
  return { name: r.name, value: r.value, baseline: r.baseline as number | null, ratio: r.ratio as number | null, goal: r.goal as string | null, unit: r.unit };
}

/**
 * Reads the parsed JSON of `bench/results.json`: the current object form, or the older bare array
 * of rows.
 * @throws BenchResultsError when neither shape matches.
 */
export function parseResults(json: unknown): BenchResults {
  if (Array.isArray(json)) {
    return { ranAt: null, mode: null, durationSeconds: null, machine: null, notes: [], rows: json.map(parseRow) };
  }
  const o = json as Partial<Record<keyof BenchResults, unknown>> | null;
  if (!o || typeof o !== 'object' || !Array.isArray(o.rows)) throw new BenchResultsError('Expected an array of rows or an object with `rows`');
  const m = o.machine as Partial<BenchMachine> | null | undefined;
  const machine =
    m && typeof m.cpus === 'number' && typeof m.cpuModel === 'string' && typeof m.memoryGiB === 'number' && typeof m.node === 'string'
      ? { cpus: m.cpus, cpuModel: m.cpuModel, memoryGiB: m.memoryGiB, node: m.node, ...(typeof m.os === 'string' ? { os: m.os } : {}) }
      : null;
  const mode = o.mode === 'full' || o.mode === 'quick' || o.mode === 'partial' ? o.mode : null;
  return {
    ranAt: typeof o.ranAt === 'string' ? o.ranAt : null,
    mode,
    durationSeconds: typeof o.durationSeconds === 'number' ? o.durationSeconds : null,
    machine,
    notes: Array.isArray(o.notes) ? o.notes.filter((n): n is string => typeof n === 'string') : [],
    rows: o.rows.map(parseRow),
  };
}

/**
 * The measurement a row belongs to: the text before its first colon (`cold start: …`,
 * `workflow 1 h job: …`), else its first word (`intake …`, `export …`).
 */
export function groupOf(name: string): string {
  const colon = name.indexOf(':');
  if (colon > 0) return name.slice(0, colon).trim();
  return name.split(/\s+/)[0] ?? name;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');
const number = (n: number | null) => (n === null ? '—' : formatNumber(n));
const verdict = (r: Row) => {
  const ok = met(r);
  return ok === null ? '—' : ok ? 'yes' : '**no**';
};

function machineLine(results: BenchResults): string {
  const m = results.machine;
  const machine = m
    ? `${m.cpus} × ${m.cpuModel}, ${formatNumber(m.memoryGiB)} GiB memory, Node ${m.node}${m.os ? `, ${m.os}` : ''}`
    : 'not recorded (results written before `bench/results.json` kept its machine)';
  const when = results.ranAt ? ` on ${results.ranAt}` : '';
  const run = results.mode ? ` (${results.mode} run${results.durationSeconds !== null ? ` of ${Math.round(results.durationSeconds)} s` : ''})` : '';
  return `Measured by \`npm run bench\`${when}${run}. Machine: ${machine}.`;
}

/** The page `docs/PERFORMANCE.md`, from the results alone. */
export function renderPerformance(results: BenchResults): string {
  const out: string[] = [
    '# Performance',
    '',
    '<!-- Generated by `npm run bench:report` from `bench/results.json`. Do not edit: run the bench, then the report. -->',
    '',
    machineLine(results),
    '',
  ];
  for (const note of results.notes) out.push(`- ${note}`);
  if (results.notes.length > 0) out.push('');
  out.push(
    'Every figure is measured next to its baseline in the same run and read as a ratio (value ÷',
    'baseline), because the machines are shared and noisy. A goal is a condition on the ratio, or on',
    'the value where it starts with `value`. These are measurements, not tests: `npm test` does not',
    'run them and nothing fails on a ratio. How each one is measured is described at the top of its',
    'module in `bench/` (`intake.ts`, `roles-snapshot.ts`, `workflow.ts`, `cold-start.ts`,',
    '`end-to-end.ts`, `export.ts`); the analysis of goals missed is in [CHANGELOG.md](CHANGELOG.md).',
    '',
  );

  const withGoal = results.rows.filter((r) => r.goal !== null);
  const metCount = withGoal.filter((r) => met(r) === true).length;
  out.push('## Goals', '', `${metCount} of ${withGoal.length} goals met.`, '');
  if (withGoal.length > 0) {
    out.push('| measurement | goal | ratio | value | met? |', '|---|---|---|---|---|');
    for (const r of withGoal) out.push(`| ${cell(r.name)} | ${cell(r.goal!)} | ${number(r.ratio)} | ${number(r.value)} ${cell(r.unit)} | ${verdict(r)} |`);
    out.push('');
  }

  const groups = new Map<string, Row[]>();
  for (const r of results.rows) {
    const key = groupOf(r.name);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [group, rows] of groups) {
    out.push(`## ${group.charAt(0).toUpperCase()}${group.slice(1)}`, '', '| measurement | value | baseline | ratio | goal | unit | met? |', '|---|---|---|---|---|---|---|');
    for (const r of rows) {
      out.push(`| ${cell(r.name)} | ${number(r.value)} | ${number(r.baseline)} | ${number(r.ratio)} | ${cell(r.goal ?? '—')} | ${cell(r.unit)} | ${verdict(r)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** Reads `bench/results.json`, writes `docs/PERFORMANCE.md`; returns the path written. */
export function writePerformanceReport(resultsPath = join(BENCH_DIR, 'results.json'), target = join(PROJECT_ROOT, 'docs', 'PERFORMANCE.md')): string {
  const results = parseResults(JSON.parse(readFileSync(resultsPath, 'utf8')) as unknown);
  writeFileSync(target, renderPerformance(results));
  return target;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writePerformanceReport();
  process.stdout.write('wrote docs/PERFORMANCE.md\n');
}
