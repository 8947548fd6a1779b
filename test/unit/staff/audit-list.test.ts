import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REQUEST_STATUSES, type ErasureRequest, type RequestStatus } from '../../../functions/domain/model';
import { isOverdue } from '../../../functions/domain/deadlines';
import { listKey, type ListFilters } from '../../../functions/staff/audit-deps';
import { listRequests } from '../../../functions/staff/list-requests';
import { InvalidCursorError } from '../../../functions/domain/errors';
import { makeRequest, MutableClock, SUBJECT_KEY, subjectHashOf } from '../../support/staff-fakes';
import { InMemoryAuditStore } from '../../support/in-memory-audit-store';
import { apiEvent, createHarness, jsonOf, NOW } from '../../support/staff-harness';

function depsFor(store: InMemoryAuditStore) {
  return { store, clock: new MutableClock(new Date(NOW)), subjectHashKey: SUBJECT_KEY };
}

async function allPages(deps: ReturnType<typeof depsFor>, filters: ListFilters, limit: number): Promise<ErasureRequest[][]> {
  const pages: ErasureRequest[][] = [];
  let cursor: string | undefined;
  do {
    const page = await listRequests(deps, filters, { limit, cursor });
    pages.push(page.items);
    cursor = page.cursor;
    if (pages.length > 1000) throw new Error('runaway pagination');
  } while (cursor);
  return pages;
}

function expected(all: ErasureRequest[], f: ListFilters, now: Date): string[] {
  return all
    .filter((r) => !f.statuses || f.statuses.length === 0 || f.statuses.includes(r.status))
    .filter((r) => (!f.from || r.receivedAt >= f.from) && (!f.to || r.receivedAt <= f.to))
    .filter((r) => f.includeCanary || r.channel !== 'canary')
    .filter((r) => !f.overdue || isOverdue(r.dueAt, now, r.status))
    .sort((a, b) => (f.descending ? -1 : 1) * (listKey(a) < listKey(b) ? -1 : 1))
    .map((r) => r.requestId);
}

const day = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 3_600_000 * 7).toISOString();

const requestArb = fc.record({
  status: fc.constantFrom(...REQUEST_STATUSES),
  slot: fc.integer({ min: 0, max: 300 }),
  canary: fc.boolean(),
});

describe('listing requests', () => {
  it('pages through any filters in a stable order with no duplicates and no gaps, merging every status partition', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(requestArb, { maxLength: 60 }),
        fc.record({
          statuses: fc.option(fc.subarray([...REQUEST_STATUSES], { minLength: 1, maxLength: 4 }), { nil: undefined }),
          from: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
          span: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
          includeCanary: fc.boolean(),
          overdue: fc.boolean(),
          descending: fc.boolean(),
        }),
        fc.integer({ min: 1, max: 7 }),
        async (specs, f, limit) => {
          const store = new InMemoryAuditStore();
          const requests = specs.map((s, i) =>
            makeRequest({ requestId: `r${String(i).padStart(3, '0')}`, status: s.status, receivedAt: day(s.slot), channel: s.canary ? 'canary' : 'web' }),
          );
          store.seed(requests);
          const filters: ListFilters = {
            statuses: f.statuses,
            from: f.from === undefined ? undefined : day(f.from),
            to: f.from === undefined || f.span === undefined ? undefined : day(f.from + f.span),
            includeCanary: f.includeCanary,
            overdue: f.overdue,
            descending: f.descending,
          };
          const deps = depsFor(store);
          const pages = await allPages(deps, filters, limit);
          const ids = pages.flat().map((r) => r.requestId);
          expect(ids).toEqual(expected(requests, filters, deps.clock.now()));
          for (const page of pages.slice(0, -1)) expect(page.length).toBe(limit);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never repeats or loses a request that changes status between two pages', async () => {
    const store = new InMemoryAuditStore();
    const requests = Array.from({ length: 20 }, (_, i) => makeRequest({ requestId: `r${String(i).padStart(2, '0')}`, status: i % 2 ? 'FAILED' : 'COMPLETED', receivedAt: day(i) }));
    store.seed(requests);
    const deps = depsFor(store);
    const first = await listRequests(deps, {}, { limit: 8 });
    // r03 (already listed) and r15 (not yet) move to another partition.
    store.seed([{ ...store.requests.get('r03')!, status: 'QUEUED' }, { ...store.requests.get('r15')!, status: 'QUEUED' }]);
    const rest: ErasureRequest[] = [];
    let cursor = first.cursor;
    while (cursor) {
      const page = await listRequests(deps, {}, { limit: 8, cursor });
      rest.push(...page.items);
      cursor = page.cursor;
    }
    const ids = [...first.items, ...rest].map((r) => r.requestId);
    expect(ids).toEqual(requests.map((r) => r.requestId));
  });

  it('finds the requests of a subject by the hash of the normalised id, across pages', async () => {
    const store = new InMemoryAuditStore();
    const mine = subjectHashOf('Ana@Example.com');
    store.seed([
      makeRequest({ requestId: 'a1', subjectHash: mine, status: 'COMPLETED', receivedAt: day(1) }),
      makeRequest({ requestId: 'a2', subjectHash: mine, status: 'FAILED', receivedAt: day(2) }),
      makeRequest({ requestId: 'a3', subjectHash: mine, status: 'REJECTED', receivedAt: day(3) }),
      makeRequest({ requestId: 'b1', status: 'FAILED', receivedAt: day(2) }),
    ]);
    const deps = depsFor(store);
    const pages = await allPages(deps, { subject: '  ana@EXAMPLE.com ' }, 2);
    expect(pages.flat().map((r) => r.requestId)).toEqual(['a1', 'a2', 'a3']);
    const filtered = await listRequests(deps, { subject: 'ana@example.com', statuses: ['FAILED'] });
    expect(filtered.items.map((r) => r.requestId)).toEqual(['a2']);
  });

  it('reads only the status partitions it needs, never the whole table', async () => {
    const store = new InMemoryAuditStore();
    store.seed([makeRequest({ requestId: 'x', status: 'FAILED' })]);
    await listRequests(depsFor(store), { statuses: ['FAILED', 'TIMED_OUT'] });
    expect(new Set(store.listQueries.map((q) => q.status))).toEqual(new Set<RequestStatus>(['FAILED', 'TIMED_OUT']));
    store.listQueries.length = 0;
    await listRequests(depsFor(store), {});
    expect(new Set(store.listQueries.map((q) => q.status))).toEqual(new Set(REQUEST_STATUSES));
  });

  it.each([
    ['garbage', 'not a cursor!'],
    ['valid base64 of nonsense', Buffer.from('{"v":2}').toString('base64url')],
  ])('refuses a %s cursor with 400', async (_n, cursor) => {
    const deps = depsFor(new InMemoryAuditStore());
    await expect(listRequests(deps, {}, { cursor })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('refuses a cursor replayed against other filters', async () => {
    const store = new InMemoryAuditStore();
    store.seed(Array.from({ length: 5 }, (_, i) => makeRequest({ requestId: `r${i}`, status: 'FAILED', receivedAt: day(i) })));
    const deps = depsFor(store);
    const { cursor } = await listRequests(deps, { statuses: ['FAILED'] }, { limit: 2 });
    await expect(listRequests(deps, { statuses: ['COMPLETED'] }, { cursor })).rejects.toBeInstanceOf(InvalidCursorError);
  });
});

describe('GET /audit/requests', () => {
  it('filters by several statuses, period and overdue, and never echoes the subject or its hash', async () => {
    const h = await createHarness();
    const mine = subjectHashOf('bob@example.com');
    h.store.seed([
      makeRequest({ requestId: 'old-open', status: 'FAILED', receivedAt: '2026-01-02T00:00:00.000Z', dueAt: '2026-02-02T00:00:00.000Z', subjectHash: mine, subjectCipher: 'v1.secret' }),
      makeRequest({ requestId: 'new-open', status: 'IN_PROGRESS', receivedAt: '2026-02-25T00:00:00.000Z', dueAt: '2026-03-25T00:00:00.000Z' }),
      makeRequest({ requestId: 'done', status: 'COMPLETED', receivedAt: '2026-01-03T00:00:00.000Z', dueAt: '2026-02-03T00:00:00.000Z' }),
      makeRequest({ requestId: 'canary', status: 'FAILED', channel: 'canary', receivedAt: '2026-01-04T00:00:00.000Z' }),
    ]);
    const token = await h.tokens.valid('auditor');
    const ids = async (query: string) => {
      const result = await h.auditApi(apiEvent({ path: '/audit/requests', query, token }));
      expect(result.statusCode, result.body).toBe(200);
      expect(result.body).not.toContain('bob@example.com');
      expect(result.body).not.toContain(mine);
      expect(result.body).not.toContain('v1.secret');
      return jsonOf<{ items: { requestId: string }[] }>(result).items.map((i) => i.requestId);
    };
    expect(await ids('status=failed&status=completed')).toEqual(['old-open', 'done']);
    expect(await ids('status=FAILED,IN_PROGRESS')).toEqual(['old-open', 'new-open']);
    expect(await ids('from=2026-01-03&to=2026-02-25')).toEqual(['done', 'new-open']);
    expect(await ids('overdue=true')).toEqual(['old-open']);
    expect(await ids('includeCanary=true&status=FAILED')).toEqual(['old-open', 'canary']);
    expect(await ids('subject=Bob%40example.com')).toEqual(['old-open']);
    expect(await ids('order=desc&limit=2')).toEqual(['new-open', 'done']);
  });

  it.each([
    ['an unknown status', 'status=DONE', 'status/0'],
    ['a date without a time zone', 'from=2026-01-01T00:00:00', 'from'],
    ['a limit over 500', 'limit=501', 'limit'],
    ['from after to', 'from=2026-02-01&to=2026-01-01', 'from'],
  ])('answers 400 naming the field for %s', async (_n, query, field) => {
    const h = await createHarness();
    const result = await h.auditApi(apiEvent({ path: '/audit/requests', query, token: await h.tokens.valid('auditor') }));
    expect(result.statusCode).toBe(400);
    expect(jsonOf<{ errors: { field: string }[] }>(result).errors.map((e) => e.field)).toContain(field);
  });

  it('answers 404 for an unknown request id and for an id that cannot be one', async () => {
    const h = await createHarness();
    const token = await h.tokens.valid('auditor');
    for (const path of ['/audit/requests/nope', '/audit/requests/%3Cscript%3E']) {
      const result = await h.auditApi(apiEvent({ path, token }));
      expect(result.statusCode).toBe(404);
      expect(result.headers?.['content-type']).toMatch(/problem\+json/);
    }
  });
});
