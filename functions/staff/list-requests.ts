/**
 * Use case: auditors (and ops) list requests with filters and cursor pagination, over the
 * AuditStore port. The other auditor actions are beside it: `get-request-detail.ts`,
 * `export-requests.ts`, `build-report.ts`; `listing.ts` holds the cursor and the merge.
 *
 * Listing never scans: each status is its own partition of the byStatus GSI (`listByStatus`),
 * and a listing over several statuses merges those partitions in `listKey` order (k-way merge)
 * behind one opaque cursor. The store's byStatus order must therefore be `listKey` order
 * (`receivedAt`, then `requestId`).
 */
import { type ErasureRequest } from '../domain/model';
import type { Page } from '../domain/ports';
import * as z from '../domain/validation';
import { AuditDeps, listKey, ListFilters, PageRequest, MAX_PAGE_LIMIT, DEFAULT_PAGE_LIMIT, RequestPredicate } from './audit-deps';
import { badCursor, encodeCursor, decodeCursor, prepare, compare, createMerger } from './listing';

/**
 * One page of requests matching the filters, in `listKey` order (or reverse when `descending`).
 * Pages never overlap and leave no gaps, also while requests change status between pages.
 * @throws InvalidCursorError for a cursor that was altered or belongs to other filters.
 */
export async function listRequests(deps: AuditDeps, filters: ListFilters, page: PageRequest = {}, extra?: RequestPredicate): Promise<Page<ErasureRequest>> {
  const limit = Math.min(Math.max(page.limit ?? DEFAULT_PAGE_LIMIT, 1), MAX_PAGE_LIMIT);
  const { statuses, to, subjectHash, predicate, fingerprint } = prepare(deps, filters, extra);
  const state = page.cursor ? decodeCursor(page.cursor, fingerprint) : undefined;

  if (subjectHash !== undefined) {
    const dir = filters.descending ? -1 : 1;
    const all = (await deps.store.findBySubjectHash(subjectHash))
      .filter((r) => statuses.includes(r.status))
      .filter((r) => (!filters.from || r.receivedAt >= filters.from) && (!to || r.receivedAt <= to))
      .sort((a, b) => dir * compare(listKey(a), listKey(b)));
    const items: ErasureRequest[] = [];
    let last: string | undefined = state?.a;
    let index = 0;
    for (; index < all.length && items.length < limit; index++) {
      const r = all[index]!;
      const key = listKey(r);
      if (last !== undefined && dir * compare(key, last) <= 0) continue;
      last = key;
      if (await predicate(r)) items.push(r);
    }
    return index < all.length ? { items, cursor: encodeCursor({ v: 1, f: fingerprint, a: last }) } : { items };
  }

  if (state?.p && state.p.some((p) => !statuses.includes(p.s))) throw badCursor();
  const merger = createMerger(deps.store, statuses, { from: filters.from, to, descending: !!filters.descending }, predicate, state);
  const items = await merger.next(limit);
  const resume = merger.state();
  return resume ? { items, cursor: encodeCursor({ v: 1, f: fingerprint, ...resume }) } : { items };
}

/**
 * Every request matching the filters, page by page, from one live merge (no cursor round trips):
 * memory stays flat however many there are.
 */
export async function* iterateRequests(deps: AuditDeps, filters: ListFilters, pageSize = MAX_PAGE_LIMIT): AsyncGenerator<ErasureRequest[]> {
  if (filters.subject !== undefined) {
    let cursor: string | undefined;
    do {
      const page = await listRequests(deps, filters, { limit: pageSize, cursor });
      if (page.items.length > 0) yield page.items;
      cursor = page.cursor;
    } while (cursor);
    return;
  }
  const { statuses, to, predicate } = prepare(deps, filters);
  const merger = createMerger(deps.store, statuses, { from: filters.from, to, descending: !!filters.descending }, predicate, undefined);
  for (;;) {
    const items = await merger.next(pageSize);
    if (items.length > 0) yield items;
    if (merger.done()) return;
  }
}

// ---------------------------------------------------------------------------------------------
// One request: its timeline and chain check
