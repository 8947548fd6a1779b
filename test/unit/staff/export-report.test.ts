import { describe, expect, it } from 'vitest';
import type { ErasureRequest } from '../../../functions/domain/model';
import { buildReport, nearestRank } from '../../../functions/staff/build-report';
import { csvCell, EXPORT_COLUMNS, exportRequests } from '../../../functions/staff/export-requests';
import { listRequests } from '../../../functions/staff/list-requests';
import { makeRequest, MutableClock, SUBJECT_KEY } from '../../support/staff-fakes';
import { InMemoryAuditStore } from '../../support/in-memory-audit-store';
import { apiEvent, createHarness, jsonOf, NOW } from '../../support/staff-harness';

function depsFor(store: InMemoryAuditStore, now = NOW) {
  return { store, clock: new MutableClock(new Date(now)), subjectHashKey: SUBJECT_KEY };
}

/** A minimal RFC 4180 parser (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const c of chunks) out += c;
  return out;
}

function dataSet(n: number, offset = 0): ErasureRequest[] {
  const statuses = ['COMPLETED', 'FAILED', 'REJECTED', 'IN_PROGRESS', 'CANCELLED'] as const;
  return Array.from({ length: n }, (_, i) =>
    makeRequest({
      requestId: `r${String(i + offset).padStart(6, '0')}`,
      status: statuses[i % statuses.length]!,
      channel: i % 11 === 0 ? 'canary' : 'web',
      receivedAt: new Date(Date.UTC(2026, 0, 1) + (i % 50) * 86_400_000 + i).toISOString(),
      dueAt: '2026-04-01T00:00:00.000Z',
      subjectHash: 'f'.repeat(64),
    }),
  );
}

describe('exporting a period', () => {
  it.each(['csv', 'json'] as const)('yields exactly the requests the list shows for the period (%s)', async (format) => {
    const store = new InMemoryAuditStore();
    store.seed(dataSet(1300));
    const deps = depsFor(store);
    const period = { from: '2026-01-10T00:00:00.000Z', to: '2026-02-05T23:59:59.999Z' };
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listRequests(deps, period, { limit: 97, cursor });
      listed.push(...page.items.map((r) => r.requestId));
      cursor = page.cursor;
    } while (cursor);
    const body = await text(exportRequests(deps, period, format));
    const exported = format === 'csv' ? parseCsv(body).slice(1).map((row) => row[0]) : (JSON.parse(body) as { requestId: string }[]).map((r) => r.requestId);
    expect(listed.length).toBeGreaterThan(500);
    expect(exported).toEqual(listed);
    if (format === 'csv') {
      const rows = parseCsv(body);
      expect(rows[0]).toEqual([...EXPORT_COLUMNS]);
      for (const row of rows) expect(row).toHaveLength(EXPORT_COLUMNS.length);
    }
  });

  it('exports an empty period as a header row or an empty JSON array', async () => {
    const deps = depsFor(new InMemoryAuditStore());
    expect(await text(exportRequests(deps, {}, 'csv'))).toBe(`${EXPORT_COLUMNS.join(',')}\r\n`);
    expect(JSON.parse(await text(exportRequests(deps, {}, 'json')))).toEqual([]);
  });

  it.each([
    ['=HYPERLINK("http://evil")', `"'=HYPERLINK(""http://evil"")"`],
    ['+1+2', "'+1+2"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
    ['\rcmd', `"'\rcmd"`],
    ['plain, with comma', '"plain, with comma"'],
    ['line\nbreak', '"line\nbreak"'],
    ['say "hi"', '"say ""hi"""'],
    ['ordinary', 'ordinary'],
  ])('neutralises and quotes the cell %j', (input, output) => {
    expect(csvCell(input)).toBe(output);
  });

  it('neutralises a formula planted in a stored field of an exported row', async () => {
    const store = new InMemoryAuditStore();
    store.seed([makeRequest({ requestId: 'evil', status: 'FAILED', failureReason: '=cmd|\' /C calc\'!A0', extended: { at: NOW, reason: '@SUM(1,2)', by: 'staff:x' } })]);
    const rows = parseCsv(await text(exportRequests(depsFor(store), {}, 'csv')));
    const row = Object.fromEntries(EXPORT_COLUMNS.map((c, i) => [c, rows[1]![i]]));
    expect(row.failureReason).toBe("'=cmd|' /C calc'!A0");
    expect(row.extensionReason).toBe("'@SUM(1,2)");
  });

  it('streams 100,000 records page by page without holding them all', async () => {
    const store = new InMemoryAuditStore();
    store.recordQueries = false;
    store.seed(dataSet(100_000));
    const deps = depsFor(store);
    const chunks = exportRequests(deps, { includeCanary: true }, 'csv');
    const before = process.memoryUsage().heapUsed;
    let rows = 0;
    let largestChunk = 0;
    let peak = before;
    let callsAfterFirstChunk: number | undefined;
    for await (const chunk of chunks) {
      callsAfterFirstChunk ??= store.listCalls;
      rows += chunk.split('\r\n').length - 1;
      largestChunk = Math.max(largestChunk, chunk.length);
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    expect(rows).toBe(100_001);
    // The exporter reads bounded pages lazily: the first chunk came after at most one page per partition.
    expect(store.maxListLimit).toBeLessThanOrEqual(500);
    expect(callsAfterFirstChunk).toBeLessThanOrEqual(12);
    expect(largestChunk).toBeLessThan(500 * 400);
    console.info(`export of 100,000 records: peak heap delta ${((peak - before) / 1e6).toFixed(1)} MB, largest chunk ${(largestChunk / 1e3).toFixed(0)} kB`);
  }, 60_000);

  it('GET /audit/export streams the same body the buffered handler returns', async () => {
    const h = await createHarness();
    h.store.seed(dataSet(40));
    const token = await h.tokens.valid('auditor');
    const event = apiEvent({ path: '/audit/export', query: 'format=json&from=2026-01-01&to=2026-01-20', token });
    const buffered = await h.auditApi(event);
    const streamed = await h.auditApi.streamExport(event);
    expect(buffered.statusCode).toBe(200);
    expect(streamed.statusCode).toBe(200);
    expect(await text(streamed.body)).toBe(buffered.body);
    expect(buffered.headers?.['content-disposition']).toContain('attachment');
    const bad = await h.auditApi.streamExport(apiEvent({ path: '/audit/export', query: 'format=xml', token }));
    expect(bad.statusCode).toBe(400);
  });
});

describe('the buffered export', () => {
  it('answers 413 instead of a body Lambda could not return, while the stream has no limit', async () => {
    const h = await createHarness();
    h.store.seed(dataSet(200));
    const { createAuditApi } = await import('../../../functions/adapters/http/staff/audit-api');
    const api = createAuditApi({ ...h.deps, auth: h.tokens.auth, maxBufferedExportBytes: 10_000 });
    const event = apiEvent({ path: '/audit/export', query: 'format=csv&includeCanary=true', token: await h.tokens.valid('auditor') });
    const buffered = await api(event);
    expect(buffered.statusCode).toBe(413);
    expect(jsonOf(buffered).detail).toMatch(/Narrow the period/);
    const streamed = await api.streamExport(event);
    expect((await text(streamed.body)).split('\r\n')).toHaveLength(202);
  });
});

describe('the report', () => {
  const at = (d: string) => `${d}T00:00:00.000Z`;
  const rows: (Partial<ErasureRequest> & { requestId: string })[] = [
    // completed in 1, 2, 3, 4 and 40 days; the last after its deadline
    { requestId: 'c1', status: 'COMPLETED', receivedAt: at('2026-01-01'), dueAt: at('2026-02-01'), completedAt: at('2026-01-02') },
    { requestId: 'c2', status: 'COMPLETED', receivedAt: at('2026-01-01'), dueAt: at('2026-02-01'), completedAt: at('2026-01-03') },
    { requestId: 'c3', status: 'COMPLETED', receivedAt: at('2026-01-01'), dueAt: at('2026-02-01'), completedAt: at('2026-01-04') },
    { requestId: 'c4', status: 'COMPLETED', receivedAt: at('2026-01-01'), dueAt: at('2026-02-01'), completedAt: at('2026-01-05') },
    { requestId: 'c5', status: 'COMPLETED', receivedAt: at('2026-01-01'), dueAt: at('2026-02-01'), completedAt: at('2026-02-10') },
    { requestId: 'r1', status: 'REJECTED', receivedAt: at('2026-02-20'), dueAt: at('2026-03-20'), rejection: { rule: 'BOT_OWNER', botIds: ['st-1'], source: 'snapshot' } },
    { requestId: 'r2', status: 'REJECTED', receivedAt: at('2026-02-21'), dueAt: at('2026-03-21'), rejection: { rule: 'BOT_OWNER', botIds: [], source: 'snapshot' } },
    { requestId: 'r3', status: 'REJECTED', receivedAt: at('2026-02-22'), dueAt: at('2026-03-22'), rejection: { rule: 'ACCOUNT_OWNER', botIds: [], source: 'snapshot' } },
    // open and overdue (now = 2026-03-01T12:00Z)
    { requestId: 'f1', status: 'FAILED', receivedAt: at('2026-01-15'), dueAt: at('2026-02-15') },
    // open, due in 5 days
    { requestId: 'p1', status: 'IN_PROGRESS', receivedAt: at('2026-02-06'), dueAt: at('2026-03-06') },
    // open, due in 25 days
    { requestId: 'p2', status: 'QUEUED', receivedAt: at('2026-02-26'), dueAt: at('2026-03-26') },
    // ended without erasure: neither met nor missed
    { requestId: 'x1', status: 'CANCELLED', receivedAt: at('2026-01-01'), dueAt: at('2026-02-01') },
    // canaries never count
    { requestId: 'k1', status: 'FAILED', channel: 'canary', receivedAt: at('2026-01-01'), dueAt: at('2026-02-01') },
    { requestId: 'k2', status: 'COMPLETED', channel: 'canary', receivedAt: at('2026-01-01'), dueAt: at('2026-02-01'), completedAt: at('2026-03-01') },
  ];

  it('computes counts, completion times and deadlines on a hand-made data set', async () => {
    const store = new InMemoryAuditStore();
    store.seed(rows.map(makeRequest));
    const report = await buildReport(depsFor(store));
    expect(report.total).toBe(12);
    expect(report.byStatus).toMatchObject({ COMPLETED: 5, REJECTED: 3, FAILED: 1, IN_PROGRESS: 1, QUEUED: 1, CANCELLED: 1, RECEIVED: 0 });
    expect(report.byRejectionRule).toMatchObject({ BOT_OWNER: 2, ACCOUNT_OWNER: 1, BOT_CO_DEVELOPER: 0, ACCOUNT_MEMBER: 0 });
    expect(report.timeToCompletion).toEqual({ count: 5, medianSeconds: 3 * 86400, p95Seconds: 40 * 86400 });
    expect(report.deadlines).toEqual({ met: 4, completedLate: 1, openOverdue: 1, missed: 2, dueNext7Days: 1 });
  });

  it.each([
    ['January only', { from: '2026-01-01T00:00:00.000Z', to: '2026-01-31T23:59:59.999Z' }, 7, { met: 4, completedLate: 1, openOverdue: 1, missed: 2, dueNext7Days: 0 }],
    ['February only', { from: '2026-02-01T00:00:00.000Z', to: '2026-02-28T23:59:59.999Z' }, 5, { met: 0, completedLate: 0, openOverdue: 0, missed: 0, dueNext7Days: 1 }],
  ])('limits the report to requests received in the period: %s', async (_n, period, total, deadlines) => {
    const store = new InMemoryAuditStore();
    store.seed(rows.map(makeRequest));
    const report = await buildReport(depsFor(store), period);
    expect(report.total).toBe(total);
    expect(report.deadlines).toEqual(deadlines);
  });

  it.each([
    [[], 50, null],
    [[7], 50, 7],
    [[1, 2], 50, 1],
    [[1, 2, 3], 50, 2],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 95, 19],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21], 95, 20],
  ])('takes the nearest-rank percentile of %j at p%i', (values, p, expected) => {
    expect(nearestRank(values, p)).toBe(expected);
  });

  it('GET /audit/report answers the same figures', async () => {
    const h = await createHarness();
    h.store.seed(rows.map(makeRequest));
    const result = await h.auditApi(apiEvent({ path: '/audit/report', token: await h.tokens.valid('auditor') }));
    expect(result.statusCode).toBe(200);
    expect(jsonOf<{ total: number; deadlines: { missed: number } }>(result)).toMatchObject({ total: 12, deadlines: { missed: 2 } });
  });
});
