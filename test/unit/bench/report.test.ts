import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BENCH_DIR, mergeRows } from '../../../bench/lib';
import {
  BenchResultsError,
  README_BLOCK_END,
  README_BLOCK_START,
  ReadmeBlockError,
  groupOf,
  parseResults,
  renderPerformance,
  renderReadmePerformance,
  replaceReadmeBlock,
  shortLabel,
  writePerformanceReport,
  type BenchResults,
} from '../../../bench/report';

/** A small run whose figures appear nowhere in the generator. */
function fixture(): BenchResults {
  return {
    ranAt: '2031-04-05T06:07:08.000Z',
    mode: 'quick',
    durationSeconds: 73,
    machine: { cpus: 3, cpuModel: 'Test CPU 9000', memoryGiB: 7.25, node: 'v22.99.1', os: 'linux arm64' },
    notes: ['Fixture note about the run.'],
    rows: [
      { name: 'intake POST /requests p50 latency vs floor', value: 41.7, baseline: 27.8, ratio: 1.5, goal: '≤ 1.25', unit: 'ms' },
      { name: 'cold start: audit-api bundle size', value: 123.4, baseline: null, ratio: null, goal: 'value ≤ 300', unit: 'KB' },
      { name: 'cold start: audit-api import vs hello-world', value: 611.3, baseline: 577.7, ratio: 1.058, goal: null, unit: 'ms' },
      { name: 'export CSV a|b vs bare Query', value: 8.765, baseline: 4.321, ratio: 2.028, goal: null, unit: 's' },
    ],
  };
}

describe('the performance report', () => {
  it('states the machine, the date and the kind of run', () => {
    // Prepare / Act
    const page = renderPerformance(fixture());
    // Assess
    expect(page).toContain('3 × Test CPU 9000, 7.25 GiB memory, Node v22.99.1, linux arm64');
    expect(page).toContain('on 2031-04-05T06:07:08.000Z (quick run of 73 s)');
    expect(page).toContain('- Fixture note about the run.');
  });

  it('shows every measured figure, its baseline and ratio in the table of its measurement', () => {
    const page = renderPerformance(fixture());
    expect(page).toContain('| intake POST /requests p50 latency vs floor | 41.7 | 27.8 | 1.5 | ≤ 1.25 | ms | **no** |');
    expect(page).toContain('| cold start: audit-api bundle size | 123.4 | — | — | value ≤ 300 | KB | yes |');
    expect(page).toContain('| cold start: audit-api import vs hello-world | 611.3 | 577.7 | 1.058 | — | ms | — |');
    expect(page).toMatch(/## Intake\n/);
    expect(page).toMatch(/## Cold start\n/);
    expect(page).toMatch(/## Export\n/);
  });

  it('counts the goals met and escapes pipes in names', () => {
    const page = renderPerformance(fixture());
    expect(page).toContain('1 of 2 goals met.');
    expect(page).toContain('export CSV a\\|b vs bare Query');
  });

  it('renders results written as a bare array of rows, saying the machine is not recorded', () => {
    const results = parseResults(fixture().rows);
    const page = renderPerformance(results);
    expect(page).toContain('Machine: not recorded');
    expect(page).toContain('| 41.7 | 27.8 |');
  });

  it('refuses a file that is not bench results', () => {
    expect(() => parseResults({ rows: [{ name: 'x' }] })).toThrow(BenchResultsError);
    expect(() => parseResults('nope')).toThrow(BenchResultsError);
  });

  it('groups rows by the text before the colon, else by the first word', () => {
    expect(groupOf('workflow 1 h job: Kore.ai calls vs naive')).toBe('workflow 1 h job');
    expect(groupOf('roles snapshot build+write, 50k users')).toBe('roles');
  });

  it('knows no figure of its own: the generator holds no number of the committed results', () => {
    const source = readFileSync(join(BENCH_DIR, 'report.ts'), 'utf8');
    const committed = parseResults(JSON.parse(readFileSync(join(BENCH_DIR, 'results.json'), 'utf8')) as unknown);
    const figures = committed.rows.flatMap((r) => [r.value, r.baseline, r.ratio]).filter((n): n is number => n !== null && Math.abs(n) >= 10);
    for (const n of figures) expect(source, `the generator mentions ${n}`).not.toMatch(new RegExp(`(?<![\\w.])${String(n).replace('.', '\\.')}(?![\\d])`));
  });

  it('renders the committed results as docs/PERFORMANCE.md holds them', () => {
    const committed = parseResults(JSON.parse(readFileSync(join(BENCH_DIR, 'results.json'), 'utf8')) as unknown);
    const page = readFileSync(join(BENCH_DIR, '..', 'docs', 'PERFORMANCE.md'), 'utf8');
    expect(page, 'docs/PERFORMANCE.md is stale: run npm run bench:report').toBe(renderPerformance(committed));
  });
});

/** The fixture with rows of the call budget: with and without a goal, met and missed. */
function budgetFixture(): BenchResults {
  const base = fixture();
  return {
    ...base,
    rows: [
      ...base.rows,
      { name: 'call budget: burst of 7, time to clear vs its floor (one call per batch, plus a window)', value: 12.345, baseline: 6.789, ratio: 1.818, goal: '≤ 1.5', unit: 's' },
      { name: 'call budget: burst of 7, Kore.ai calls per erasure', value: 0.042, baseline: null, ratio: null, goal: 'value ≤ 0.25', unit: 'calls' },
      { name: 'call budget: burst of 7, share verified (93 s compressed)', value: 0.321, baseline: null, ratio: null, goal: null, unit: 'share' },
      { name: 'call budget: refresh p95 wait (window 4321 ms)', value: 222.5, baseline: null, ratio: null, goal: 'value ≤ 4321', unit: 'ms' },
    ],
  };
}

describe('the README performance block', () => {
  it('counts the goals met over every measurement and links to the full page', () => {
    // Prepare / Act
    const block = renderReadmePerformance(budgetFixture());
    // Assess: the fixture's 1 of 2 goals, plus 2 of the call budget's 3 (calls per erasure, the wait)
    expect(block).toContain('3 of 5 goals met overall ([every figure, its machine and baseline](docs/PERFORMANCE.md)).');
  });

  it("shows the call budget's rows that have a goal, with short labels, units, floor, ratio and verdict", () => {
    const block = renderReadmePerformance(budgetFixture());
    expect(block).toContain('| burst of 7, time to clear vs its floor | 12.3 s | 6.789 s | 1.818 | ≤ 1.5 | **no** |');
    expect(block).toContain('| burst of 7, Kore.ai calls per erasure | 0.042 calls | — | — | value ≤ 0.25 | yes |');
    expect(block).toContain('| refresh p95 wait | 222.5 ms | — | — | value ≤ 4321 | yes |');
    expect(block).not.toContain('share verified');
    expect(block).not.toContain('intake POST');
    expect(block).not.toContain('cold start');
    expect(block.split('\n').filter((line) => line.startsWith('| ')).length).toBe(4);
  });

  it('is wrapped in its markers and leaves out the table when the call budget has no goal', () => {
    const block = renderReadmePerformance(fixture());
    expect(block.startsWith(`${README_BLOCK_START}\n`)).toBe(true);
    expect(block.endsWith(`\n${README_BLOCK_END}`)).toBe(true);
    expect(block).toContain('1 of 2 goals met overall');
    expect(block).not.toContain('| call budget |');
  });

  it('shortens a label by the group prefix and the trailing parenthetical only', () => {
    expect(shortLabel('call budget: a (b, c) burst (one (nested) note)')).toBe('a (b, c) burst');
    expect(shortLabel('call budget: 50 runs, rate-limit refusals')).toBe('50 runs, rate-limit refusals');
    expect(shortLabel('call budget: (only a parenthetical)')).toBe('(only a parenthetical)');
  });

  it('replaces only what lies between the markers', () => {
    const readme = `# Title\n\n## Performance\n\n${README_BLOCK_START}\nold figures\n${README_BLOCK_END}\n\n## Limits\n`;
    const next = replaceReadmeBlock(readme, `${README_BLOCK_START}\nnew\n${README_BLOCK_END}`);
    expect(next).toBe(`# Title\n\n## Performance\n\n${README_BLOCK_START}\nnew\n${README_BLOCK_END}\n\n## Limits\n`);
    expect(replaceReadmeBlock(next, `${README_BLOCK_START}\nnew\n${README_BLOCK_END}`)).toBe(next);
  });

  it('refuses a README without its markers, with them twice or out of order', () => {
    const block = `${README_BLOCK_START}\nx\n${README_BLOCK_END}`;
    expect(() => replaceReadmeBlock('# no block\n', block)).toThrow(ReadmeBlockError);
    expect(() => replaceReadmeBlock(`${README_BLOCK_END}\n${README_BLOCK_START}\n`, block)).toThrow(ReadmeBlockError);
    expect(() => replaceReadmeBlock(`${block}\n${block}\n`, block)).toThrow(ReadmeBlockError);
  });

  it('is written into the README by the report, beside the page, and nothing is written without its markers', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    try {
      const results = join(dir, 'results.json');
      const page = join(dir, 'PERFORMANCE.md');
      const readme = join(dir, 'README.md');
      writeFileSync(results, JSON.stringify(budgetFixture()));
      writeFileSync(readme, `# Desk\n\n${README_BLOCK_START}\nstale\n${README_BLOCK_END}\n\n## Limits\n`);
      // Act
      writePerformanceReport(results, page, readme);
      // Assess
      expect(readFileSync(page, 'utf8')).toBe(renderPerformance(budgetFixture()));
      expect(readFileSync(readme, 'utf8')).toBe(`# Desk\n\n${renderReadmePerformance(budgetFixture())}\n\n## Limits\n`);
      writeFileSync(readme, '# Desk without a block\n');
      rmSync(page);
      expect(() => writePerformanceReport(results, page, readme)).toThrow(ReadmeBlockError);
      expect(() => readFileSync(page, 'utf8')).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is in README.md exactly as the committed results render it', () => {
    const committed = parseResults(JSON.parse(readFileSync(join(BENCH_DIR, 'results.json'), 'utf8')) as unknown);
    const readme = readFileSync(join(BENCH_DIR, '..', 'README.md'), 'utf8');
    const block = renderReadmePerformance(committed);
    expect(readme, 'the README performance block is stale: run npm run bench:report').toContain(block);
    expect(replaceReadmeBlock(readme, block)).toBe(readme);
    expect(block).toMatch(/\| burst of \d+ verified requests, documented clock, time to clear vs its floor \|/);
    expect(block).toMatch(/\| \d+-user roles refresh alone, [^|]*vs its floor \|/);
  });
});

describe('a run of some measurements', () => {
  it('replaces the rows it measured again, keeps the others in their place and appends new ones', () => {
    const earlier = fixture().rows;
    const fresh = [
      { ...earlier[1]!, value: 99.9 },
      { name: 'call budget: a new row', value: 1, baseline: null, ratio: null, goal: null, unit: 's' },
    ];
    const merged = mergeRows(earlier, fresh);
    expect(merged.map((r) => r.name)).toEqual([...earlier.map((r) => r.name), 'call budget: a new row']);
    expect(merged[1]!.value).toBe(99.9);
    expect(merged[0]).toEqual(earlier[0]);
  });
});
