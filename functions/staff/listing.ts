/** How listings page: the opaque cursor (bound to its filters by a fingerprint) and the k-way merge of the byStatus partitions in `listKey` order. */
import { InvalidCursorError } from '../domain/errors';
import { createHash } from 'node:crypto';
import { isOverdue } from '../domain/deadlines';
import { isFinal } from '../domain/lifecycle';
import { REQUEST_STATUSES, type ErasureRequest, type RequestStatus } from '../domain/model';
import type { AuditStore } from '../domain/ports';
import { detectSubjectKind, hashSubject, normaliseSubjectId } from '../domain/subject';
import * as z from '../domain/validation';
import { AuditDeps, listKey, ListFilters, MAX_PAGE_LIMIT, RequestPredicate } from './audit-deps';

/** The cursor was altered or belongs to another listing. Maps to 400. */
export function badCursor(): InvalidCursorError {
  return new InvalidCursorError();
}

export const partSchema = z.object({ s: z.enum(REQUEST_STATUSES), c: z.optional(z.string().check(z.maxLength(4096))), d: z.optional(z.literal(true)) });

export const cursorSchema = z.object({
  v: z.literal(1),
  f: z.string().check(z.maxLength(64)),
  a: z.optional(z.string().check(z.maxLength(512))),
  p: z.optional(z.array(partSchema).check(z.maxLength(REQUEST_STATUSES.length))),
});

export type CursorState = z.infer<typeof cursorSchema>;

export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, fingerprint: string): CursorState {
  if (cursor.length > 16384 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw badCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  const result = cursorSchema.safeParse(parsed);
  if (!result.success || result.data.f !== fingerprint) throw badCursor();
  return result.data;
}

/** A fingerprint of the filters so a cursor cannot be replayed against another listing. */
export function fingerprintOf(filters: ListFilters, subjectHash: string | undefined, statuses: readonly RequestStatus[]): string {
  const basis = JSON.stringify([statuses, filters.from ?? '', filters.to ?? '', subjectHash ?? '', !!filters.overdue, !!filters.includeCanary, !!filters.descending]);
  return createHash('sha256').update(basis).digest('base64url').slice(0, 22);
}

export const MONTH_LOWER_BOUND_MS = 28 * 86_400_000;

export interface PreparedListing {
  statuses: RequestStatus[];
  to?: string;
  subjectHash?: string;
  fingerprint: string;
  predicate: (r: ErasureRequest) => Promise<boolean>;
}

export function prepare(deps: AuditDeps, filters: ListFilters, extra?: RequestPredicate): PreparedListing {
  const now = deps.clock.now();
  let statuses = filters.statuses && filters.statuses.length > 0 ? [...new Set(filters.statuses)] : [...REQUEST_STATUSES];
  statuses.sort((a, b) => REQUEST_STATUSES.indexOf(a) - REQUEST_STATUSES.indexOf(b));
  let to = filters.to;
  if (filters.overdue) {
    statuses = statuses.filter((s) => !isFinal(s));
    // dueAt ≥ receivedAt + one month ≥ 28 days: younger requests cannot be overdue.
    const bound = new Date(now.getTime() - MONTH_LOWER_BOUND_MS).toISOString();
    if (!to || bound < to) to = bound;
  }
  const predicate = async (r: ErasureRequest): Promise<boolean> => {
    if (!filters.includeCanary && r.channel === 'canary') return false;
    if (filters.overdue && !isOverdue(r.dueAt, now, r.status)) return false;
    return extra ? extra(r) : true;
  };
  const subjectHash = filters.subject === undefined ? undefined : hashSubject(normaliseSubjectId(filters.subject, detectSubjectKind(filters.subject)), deps.subjectHashKey);
  return { statuses, to, subjectHash, predicate, fingerprint: fingerprintOf(filters, subjectHash, statuses) };
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface Partition {
  status: RequestStatus;
  /** The store cursor this buffer was fetched with (undefined: the start). */
  fetchedWith?: string;
  items: ErasureRequest[];
  /** Index of the buffer's head. */
  head: number;
  /** The store cursor of the page after this buffer. */
  next?: string;
  /** Nothing more to fetch after `next`. */
  exhausted: boolean;
}

/**
 * A k-way merge of status partitions in `listKey` order. Kept alive it streams (export, report);
 * its `state()` resumes it in a later call (cursor pages).
 */
export function createMerger(
  store: AuditStore,
  statuses: readonly RequestStatus[],
  range: { from?: string; to?: string; descending: boolean },
  predicate: (r: ErasureRequest) => Promise<boolean>,
  state: CursorState | undefined,
) {
  const dir = range.descending ? -1 : 1;
  let after = state?.a;
  const beyond = (r: ErasureRequest) => after === undefined || dir * compare(listKey(r), after) > 0;

  const fetchInto = async (part: Partition, cursor: string | undefined, fetchSize: number): Promise<void> => {
    const result = await store.listByStatus({ status: part.status, from: range.from, to: range.to, limit: fetchSize, cursor, descending: range.descending });
    part.fetchedWith = cursor;
    part.items = result.items.filter(beyond);
    part.head = 0;
    part.next = result.cursor;
    part.exhausted = result.cursor === undefined;
  };

  const parts: Partition[] = [];
  for (const status of statuses) {
    const saved = state?.p?.find((p) => p.s === status);
    if (state?.p && !saved) continue; // absent from a cursor: that partition was finished
    if (saved?.d) continue;
    parts.push({ status, items: [], head: 0, exhausted: false, fetchedWith: saved?.c });
  }
  let started = false;

  return {
    async next(limit: number): Promise<ErasureRequest[]> {
      const fetchSize = Math.min(Math.max(limit, 25), MAX_PAGE_LIMIT);
      if (!started) {
        started = true;
        await Promise.all(parts.map((p) => fetchInto(p, p.fetchedWith, fetchSize)));
      }
      const items: ErasureRequest[] = [];
      for (;;) {
        // Every live partition needs a head before the smallest can be chosen.
        for (const part of parts) {
          while (part.head >= part.items.length && !part.exhausted) await fetchInto(part, part.next, fetchSize);
        }
        let best: Partition | undefined;
        let bestKey = '';
        for (const part of parts) {
          const head = part.items[part.head];
          if (!head) continue;
          const key = listKey(head);
          if (!best || dir * compare(key, bestKey) < 0) {
            best = part;
            bestKey = key;
          }
        }
        if (!best || items.length >= limit) break;
        const item = best.items[best.head]!;
        best.head++;
        after = bestKey;
        if (await predicate(item)) items.push(item);
      }
      return items;
    },
    /** Where to resume, or undefined when every partition is done. */
    state(): Omit<CursorState, 'v' | 'f'> | undefined {
      if (parts.every((p) => p.head >= p.items.length && p.exhausted)) return undefined;
      // Every partition resumes from the start of the page it was last read from, dropping what is
      // not beyond `after`: a request that moved into an already exhausted partition is still found.
      const p = parts.map((part) => ({ s: part.status, ...(part.fetchedWith !== undefined ? { c: part.fetchedWith } : {}) }));
      return { ...(after !== undefined ? { a: after } : {}), p };
    },
    done(): boolean {
      return parts.every((p) => p.head >= p.items.length && p.exhausted);
    },
  };
}
