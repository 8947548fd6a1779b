/**
 * Shared helpers of the benchmarks: the result row, percentiles, child processes, the table.
 *
 * Every figure is measured next to its baseline in the same run and reported as a ratio
 * (value / baseline). Goals are compared with the ratio (or the value where the row says so);
 * nothing here passes or fails a build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { OutgoingMail } from '../functions/domain/ports';
import type { OutboxMailer } from '../infra/local/outbox';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = join(BENCH_DIR, '..');

/** One line of `bench/results.json`. `goal` is a condition on the ratio (or on the value when it starts with `value`). */
export interface Row {
  name: string;
  value: number;
  baseline: number | null;
  ratio: number | null;
  goal: string | null;
  unit: string;
}

export interface BenchContext {
  quick: boolean;
  log(message: string): void;
}

export type Measurement = (ctx: BenchContext) => Promise<Row[]>;

/** A row whose ratio is value / baseline (rounded for reading). */
export function row(name: string, value: number, baseline: number | null, unit: string, goal: string | null = null): Row {
  const ratio = baseline === null || baseline === 0 ? null : round(value / baseline, 3);
  return { name, value: round(value, 3), baseline: baseline === null ? null : round(baseline, 3), ratio, goal, unit };
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Whether a row meets its goal: `≤ x` / `≥ x` on the ratio, `value ≤ x` / `value ≥ x` on the value. */
export function met(r: Row): boolean | null {
  if (!r.goal) return null;
  const m = /^(value\s*)?(≤|≥|<=|>=)\s*([\d.]+)/.exec(r.goal);
  if (!m) return null;
  const subject = m[1] ? r.value : r.ratio;
  if (subject === null) return null;
  const bound = Number(m[3]);
  return m[2] === '≤' || m[2] === '<=' ? subject <= bound : subject >= bound;
}

/** Nearest-rank percentile of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/**
 * Starts a TypeScript child (`tsx`) that prints one JSON line when ready; resolves with that
 * line and the process (stop it with `stopChild`).
 */
export async function startChild<T>(script: string, args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; ready: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(BENCH_DIR, script), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<T>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
    lines.once('line', (line) => {
      try {
        resolve(JSON.parse(line) as T);
      } catch (error) {
        reject(error as Error);
      }
    });
  });
  return { child, ready: ready };
}

/** Asks a child started by `startChild` for one JSON answer: writes a line, reads a line. */
export async function askChild<T>(child: ChildProcess, command: Record<string, unknown>): Promise<T> {
  const lines = createInterface({ input: child.stdout! });
  const answer = new Promise<T>((resolve, reject) => {
    lines.once('line', (line) => {
      lines.close();
      try {
        resolve(JSON.parse(line) as T);
      } catch (error) {
        reject(error as Error);
      }
    });
  });
  child.stdin!.write(`${JSON.stringify(command)}\n`);
  return answer;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** The results table as printed by `npm run bench`. */
export function formatTable(rows: readonly Row[]): string {
  const header = ['name', 'value', 'baseline', 'ratio', 'goal', 'unit', 'met?'];
  const cells = rows.map((r) => {
    const ok = met(r);
    return [r.name, formatNumber(r.value), r.baseline === null ? '—' : formatNumber(r.baseline), r.ratio === null ? '—' : formatNumber(r.ratio), r.goal ?? '—', r.unit, ok === null ? '—' : ok ? 'yes' : 'NO'];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

/** A figure rounded for reading: whole numbers from 1,000, one decimal from 10, else up to three decimals. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return String(Math.round(n));
  if (Math.abs(n) >= 10) return n.toFixed(1);
  if (Math.abs(n) >= 0.01 || n === 0) return n.toFixed(3).replace(/\.?0+$/, '') || '0';
  return n.toPrecision(2);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Address → its verification link, captured as the outbox receives each mail, so a benchmark
 * neither reads the outbox back nor needs the submission to name its request (it does not).
 */
export function captureVerificationLinks(mailer: OutboxMailer): Map<string, string> {
  const links = new Map<string, string>();
  const send = mailer.send.bind(mailer);
  mailer.send = async (mail: OutgoingMail) => {
    const link = mail.kind === 'verification' ? /https?:\/\/\S+\/verify\?token=[\w.-]+/.exec(mail.text)?.[0] : undefined;
    if (link) links.set(mail.to, link);
    return send(mail);
  };
  return links;
}

/** The confirmation page's button: POSTs the emailed link's token to /verify (redirect not followed). */
export function confirm(link: string): Promise<Response> {
  const url = new URL(link);
  return fetch(`${url.origin}/verify`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: url.searchParams.get('token') ?? '' }).toString(),
  });
}

/** `earlier` with each row of `fresh` in place of the row of the same name; new names after them. */
export function mergeRows(earlier: readonly Row[], fresh: readonly Row[]): Row[] {
  const byName = new Map(fresh.map((r) => [r.name, r]));
  const merged = earlier.map((r) => byName.get(r.name) ?? r);
  const known = new Set(earlier.map((r) => r.name));
  return [...merged, ...fresh.filter((r) => !known.has(r.name))];
}
