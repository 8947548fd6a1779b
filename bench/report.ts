/**
 * `npm run bench:report`: renders `bench/results.json` (written by `npm run bench`) as
 * `docs/PERFORMANCE.md` — the machine the figures were measured on, then one table per
 * measurement with each figure, its baseline, their ratio and the goal — and as the short
 * performance block of `README.md` (goals met, the call budget's rows), between its markers.
 *
 * Nothing here knows a figure: every number in the page comes from the results file, so the page
 * is regenerated, never edited. Results written before the file recorded its machine (a bare array
 * of rows) render with the machine marked as not recorded.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
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

/** The markers around the generated block of `README.md`; everything between them is rewritten. */
export const README_BLOCK_START = '<!-- performance:start (npm run bench:report) -->';
export const README_BLOCK_END = '<!-- performance:end -->';

/** The measurement whose rows the README shows: the one Kore.ai call budget under load. */
const README_GROUP = 'call budget';

/**
 * A row's short label for the README: its name without the group prefix (`call budget: `) and
 * without a trailing parenthetical (how it was measured, which docs/PERFORMANCE.md keeps).
 */
export function shortLabel(name: string): string {
  let label = name.startsWith(`${README_GROUP}:`) ? name.slice(README_GROUP.length + 1).trim() : name;
  if (label.endsWith(')')) {
    let depth = 0;
    for (let i = label.length - 1; i >= 0; i--) {
      if (label[i] === ')') depth++;
      else if (label[i] === '(' && --depth === 0) {
        if (i > 0) label = label.slice(0, i).trimEnd();
        break;
      }
    }
  }
  return label;
}

const withUnit = (n: number | null, unit: string) => (n === null ? '—' : `${formatNumber(n)} ${cell(unit)}`);

/**
 * The README's performance block, from the results alone: how many goals are met overall (with
 * a link to every figure), then the call budget's rows that have a goal. The markers included.
 */
export function renderReadmePerformance(results: BenchResults): string {
  const withGoal = results.rows.filter((r) => r.goal !== null);
  const metCount = withGoal.filter((r) => met(r) === true).length;
  const budget = withGoal.filter((r) => groupOf(r.name) === README_GROUP);
  const out = [
    README_BLOCK_START,
    `${metCount} of ${withGoal.length} goals met overall ([every figure, its machine and baseline](docs/PERFORMANCE.md)).`,
  ];
  if (budget.length > 0) {
    out.push('', '| call budget | value | floor | ratio | goal | met? |', '|---|---|---|---|---|---|');
    for (const r of budget) {
      out.push(`| ${cell(shortLabel(r.name))} | ${withUnit(r.value, r.unit)} | ${withUnit(r.baseline, r.unit)} | ${number(r.ratio)} | ${cell(r.goal!)} | ${verdict(r)} |`);
    }
  }
  out.push(README_BLOCK_END);
  return out.join('\n');
}

/** Thrown when `README.md` lacks the markers of its performance block (or holds them twice or out of order). */
export class ReadmeBlockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadmeBlockError';
  }
}

/**
 * `readme` with the block between its performance markers (markers included) replaced by `block`.
 * @throws ReadmeBlockError when the markers are missing, doubled or out of order.
 */
export function replaceReadmeBlock(readme: string, block: string): string {
  const start = readme.indexOf(README_BLOCK_START);
  const end = readme.indexOf(README_BLOCK_END);
  if (start < 0 || end < 0 || end < start) throw new ReadmeBlockError('README.md has no performance block: add the start and end markers');
  if (readme.indexOf(README_BLOCK_START, start + 1) >= 0 || readme.indexOf(README_BLOCK_END, end + 1) >= 0) {
    throw new ReadmeBlockError('README.md holds the performance markers more than once');
  }
  return readme.slice(0, start) + block + readme.slice(end + README_BLOCK_END.length);
}

/**
 * Reads `bench/results.json`, writes `docs/PERFORMANCE.md` and the performance block of
 * `README.md`; returns the paths written.
 * @throws ReadmeBlockError when the README lacks the block's markers (nothing is written then).
 */
export function writePerformanceReport(
  resultsPath = join(BENCH_DIR, 'results.json'),
  target = join(PROJECT_ROOT, 'docs', 'PERFORMANCE.md'),
  readmePath = join(PROJECT_ROOT, 'README.md'),
): string[] {
  const results = parseResults(JSON.parse(readFileSync(resultsPath, 'utf8')) as unknown);
  const readme = replaceReadmeBlock(readFileSync(readmePath, 'utf8'), renderReadmePerformance(results));
  writeFileSync(target, renderPerformance(results));
  writeFileSync(readmePath, readme);
  return [target, readmePath];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const written = writePerformanceReport();
  process.stdout.write(`wrote ${written.map((path) => relative(PROJECT_ROOT, path)).join(', ')}\n`);
}
