/**
 * Auditor use cases over the AuditStore port: listing with filters and cursor pagination, one
 * request with its timeline and chain check, a streamed export of a period, and a report.
 *
 * Listing never scans: each status is its own partition of the byStatus GSI (`listByStatus`),
 * and a listing over several statuses merges those partitions in `listKey` order (k-way merge)
 * behind one opaque cursor. The store's byStatus order must therefore be `listKey` order
 * (`receivedAt`, then `requestId`).
 */
import { createHash } from 'node:crypto';
import * as z from '../domain/validation';
import { HttpProblem, problem } from '../adapters/http/shared/problem';
import { verifyChain, type ChainCheckpoint, type ChainProblem } from '../domain/audit-chain';
import { isDueWithin, isOverdue } from '../domain/deadlines';
import { RequestNotFoundError } from '../domain/errors';
import { isFinal } from '../domain/lifecycle';
import { ELIGIBILITY_RULES, REQUEST_STATUSES, type AuditEvent, type ErasureRequest, type RequestStatus } from '../domain/model';
import type { AuditStore, Clock, Page } from '../domain/ports';
import { detectSubjectKind, hashSubject, normaliseSubjectId } from '../domain/subject';
import type { CheckpointReader } from './checkpoints';

export interface AuditDeps {
  store: AuditStore;
  clock: Clock;
  /** The HMAC key of subject ids (the same the intake hashes with). */
  subjectHashKey: Uint8Array | string;
  /** The trusted signed checkpoints; without them the chain check is hash-only, and says so. */
  checkpoints?: CheckpointReader;
}

/** The sort key of listings: receipt time, then id (unique, so the order is total and stable). */
export function listKey(request: Pick<ErasureRequest, 'receivedAt' | 'requestId'>): string {
  return `${request.receivedAt}#${request.requestId}`;
}

export interface ListFilters {
  /** One or many statuses; none means every status. */
  statuses?: RequestStatus[];
  /** Inclusive ISO bounds on `receivedAt`. */
  from?: string;
  to?: string;
  /** A plain subject id (email or enterprise id): normalised and hashed before lookup, never echoed. */
  subject?: string;
  /** Only non-final requests past their deadline. */
  overdue?: boolean;
  /** Canary (synthetic) requests are left out unless true. */
  includeCanary?: boolean;
  /** Newest first. */
  descending?: boolean;
}

export interface PageRequest {
  limit?: number;
  cursor?: string;
}

export const MAX_PAGE_LIMIT = 500;
export const DEFAULT_PAGE_LIMIT = 50;

/** A request as staff see it: no subject hash, no encrypted subject id. */
export type RequestView = Omit<ErasureRequest, 'subjectCipher' | 'subjectHash'> & { overdue: boolean };

export function toView(request: ErasureRequest, now: Date): RequestView {
  const { subjectCipher: _c, subjectHash: _h, ...rest } = request;
  return { ...rest, overdue: isOverdue(request.dueAt, now, request.status) };
}

/** The cursor was altered or belongs to another listing. Maps to 400. */
function badCursor(): HttpProblem {
  return new HttpProblem(problem(400, 'invalid-cursor', 'The cursor is not valid for this listing', 'Start again without a cursor.', { errors: [{ field: 'cursor', message: 'not valid for this listing' }] }));
}

const partSchema = z.object({ s: z.enum(REQUEST_STATUSES), c: z.optional(z.string().check(z.maxLength(4096))), d: z.optional(z.literal(true)) });
const cursorSchema = z.object({
  v: z.literal(1),
  f: z.string().check(z.maxLength(64)),
  a: z.optional(z.string().check(z.maxLength(512))),
  p: z.optional(z.array(partSchema).check(z.maxLength(REQUEST_STATUSES.length))),
});
type CursorState = z.infer<typeof cursorSchema>;

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, fingerprint: string): CursorState {
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
function fingerprintOf(filters: ListFilters, subjectHash: string | undefined, statuses: readonly RequestStatus[]): string {
  const basis = JSON.stringify([statuses, filters.from ?? '', filters.to ?? '', subjectHash ?? '', !!filters.overdue, !!filters.includeCanary, !!filters.descending]);
  return createHash('sha256').update(basis).digest('base64url').slice(0, 22);
}

/** An extra, possibly asynchronous, condition on listed requests (e.g. "no running execution"). */
export type RequestPredicate = (request: ErasureRequest) => boolean | Promise<boolean>;

const MONTH_LOWER_BOUND_MS = 28 * 86_400_000;

interface PreparedListing {
  statuses: RequestStatus[];
  to?: string;
  subjectHash?: string;
  fingerprint: string;
  predicate: (r: ErasureRequest) => Promise<boolean>;
}

function prepare(deps: AuditDeps, filters: ListFilters, extra?: RequestPredicate): PreparedListing {
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

/**
 * One page of requests matching the filters, in `listKey` order (or reverse when `descending`).
 * Pages never overlap and leave no gaps, also while requests change status between pages.
 * @throws HttpProblem 400 for a cursor that was altered or belongs to other filters.
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

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Partition {
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
function createMerger(
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

export interface ChainStatus {
  /**
   * No inconsistency found by the checks that could run. Not a verdict on its own: read `verdict`
   * (a chain nobody compared with a checkpoint can be consistent and still rewritten).
   */
  ok: boolean;
  /**
   * `VERIFIED`: every event matches the earliest signed checkpoint covering it.
   * `PARTLY_VERIFIED`: the events up to `checkpoint.coveredSeq` do; later ones are hash-checked only.
   * `NOT_VERIFIED_AGAINST_CHECKPOINTS`: hashes consistent, but no checkpoint could be compared.
   * `BROKEN`: an event does not fit (see `firstBad`).
   */
  verdict: 'VERIFIED' | 'PARTLY_VERIFIED' | 'NOT_VERIFIED_AGAINST_CHECKPOINTS' | 'BROKEN';
  /** The verdict in plain words, as the console shows it. */
  summary: string;
  checked: number;
  headHash: string;
  firstBad?: { seq: number; index: number; problem: ChainProblem | 'PROJECTION_MISMATCH'; checkpointAt?: string };
  checkpoint: {
    /**
     * `compared`: signed heads of this chain were compared. `not-covered`: no trusted checkpoint
     * covers this chain yet. `not-configured`: no checkpoint store here. `unavailable`: the store or
     * the checkpoint key could not be read.
     */
    status: 'compared' | 'not-covered' | 'not-configured' | 'unavailable';
    /** Events 1…coveredSeq were compared with a signed checkpoint (0: none). */
    coveredSeq: number;
    /** Distinct signed heads of this chain compared. */
    compared: number;
    /** The earliest and latest checkpoint stating a head of this chain. */
    earliestAt?: string;
    latestAt?: string;
    /** Objects in the checkpoint store that were not trusted (planted, garbage, unlinked). */
    ignoredObjects: number;
  };
}

export interface RequestDetail {
  request: RequestView;
  timeline: AuditEvent[];
  chain: ChainStatus;
}

const NOT_COMPARED_BECAUSE: Record<'not-covered' | 'not-configured' | 'unavailable', string> = {
  'not-covered': 'no signed checkpoint covers this request yet',
  'not-configured': 'no checkpoint store is configured here',
  unavailable: 'the checkpoints could not be read',
};

/** The verdict and its words, from what the checks found. */
function chainVerdict(found: Omit<ChainStatus, 'verdict' | 'summary'>): Pick<ChainStatus, 'verdict' | 'summary'> {
  const cp = found.checkpoint;
  if (!found.ok) {
    const bad = found.firstBad!;
    const against = bad.checkpointAt ? ` (against the signed checkpoint of ${bad.checkpointAt})` : '';
    return { verdict: 'BROKEN', summary: `Chain broken at event #${bad.seq}: ${bad.problem}${against}.` };
  }
  if (cp.status !== 'compared' || cp.coveredSeq === 0) {
    const reason = NOT_COMPARED_BECAUSE[cp.status === 'compared' ? 'not-covered' : cp.status];
    return {
      verdict: 'NOT_VERIFIED_AGAINST_CHECKPOINTS',
      summary: `Not verified against checkpoints: ${reason}. The ${found.checked} event hashes are consistent, which a rewrite with recomputed hashes would also be.`,
    };
  }
  const span = cp.earliestAt === cp.latestAt ? `the signed checkpoint of ${cp.earliestAt}` : `signed checkpoints from ${cp.earliestAt} to ${cp.latestAt}`;
  if (cp.coveredSeq < found.checked) {
    const rest = cp.coveredSeq + 1 === found.checked ? `event #${found.checked}` : `events #${cp.coveredSeq + 1}–#${found.checked}`;
    return {
      verdict: 'PARTLY_VERIFIED',
      summary: `Events #1–#${cp.coveredSeq} verified against ${span}; ${rest} not verified against checkpoints yet (hashes consistent).`,
    };
  }
  return { verdict: 'VERIFIED', summary: `All ${found.checked} events verified against ${span}, each against the earliest checkpoint covering it.` };
}

/**
 * The request, its full timeline and the chain check: hashes recomputed, every event compared with
 * the earliest trusted checkpoint covering it (when a checkpoint reader is configured), and the
 * projection compared with the chain. Where no checkpoint could be compared the verdict says so.
 * @throws RequestNotFoundError for an unknown id.
 */
export async function getRequestDetail(deps: AuditDeps, requestId: string): Promise<RequestDetail> {
  const request = await deps.store.getRequest(requestId);
  if (!request) throw new RequestNotFoundError(requestId);
  const timeline = await deps.store.getTimeline(requestId);
  let checkpoint: ChainStatus['checkpoint'] = { status: 'not-configured', coveredSeq: 0, compared: 0, ignoredObjects: 0 };
  let signed: readonly ChainCheckpoint[] = [];
  if (deps.checkpoints) {
    try {
      const found = await deps.checkpoints.checkpointsFor(requestId);
      signed = found.heads;
      checkpoint = {
        status: signed.length > 0 ? 'compared' : 'not-covered',
        coveredSeq: 0,
        compared: signed.length,
        ...(signed.length > 0 ? { earliestAt: signed[0]!.at, latestAt: signed.at(-1)!.at } : {}),
        ignoredObjects: found.ignored.length,
      };
    } catch {
      checkpoint = { status: 'unavailable', coveredSeq: 0, compared: 0, ignoredObjects: 0 };
    }
  }
  const verification = verifyChain(requestId, timeline, signed);
  if (verification.ok && signed.length > 0) checkpoint = { ...checkpoint, coveredSeq: Math.max(...signed.map((c) => c.seq)) };
  let found: Omit<ChainStatus, 'verdict' | 'summary'> = { ...verification, checkpoint };
  if (found.ok && (request.lastSeq > timeline.length || (request.lastSeq > 0 && timeline[request.lastSeq - 1]!.hash !== request.lastHash))) {
    // The projection claims a head the chain does not have: events were removed or rewritten behind
    // its back. A projection that lags (an append in flight, read between its two writes) is fine.
    const seq = Math.min(request.lastSeq, timeline.length) + 1;
    found = { ...found, ok: false, firstBad: { seq, index: seq - 1, problem: 'PROJECTION_MISMATCH' } };
  }
  return { request: toView(request, deps.clock.now()), timeline, chain: { ...found, ...chainVerdict(found) } };
}

// ---------------------------------------------------------------------------------------------
// Export

export interface ExportPeriod {
  from?: string;
  to?: string;
  statuses?: RequestStatus[];
  includeCanary?: boolean;
}

export const EXPORT_COLUMNS = [
  'requestId',
  'status',
  'channel',
  'subjectKind',
  'scopeKey',
  'receivedAt',
  'dueAt',
  'overdue',
  'extendedAt',
  'extensionReason',
  'attempt',
  'koreRequestId',
  'rejectionRule',
  'rejectionBotIds',
  'rejectionSource',
  'failureReason',
  'completedAt',
  'updatedAt',
  'lastSeq',
  'lastHash',
] as const;

function exportRow(view: RequestView): Record<(typeof EXPORT_COLUMNS)[number], string | number | boolean | undefined> {
  return {
    requestId: view.requestId,
    status: view.status,
    channel: view.channel,
    subjectKind: view.subjectKind,
    scopeKey: view.scopeKey,
    receivedAt: view.receivedAt,
    dueAt: view.dueAt,
    overdue: view.overdue,
    extendedAt: view.extended?.at,
    extensionReason: view.extended?.reason,
    attempt: view.attempt,
    koreRequestId: view.koreRequestId,
    rejectionRule: view.rejection?.rule,
    rejectionBotIds: view.rejection?.botIds.join(' '),
    rejectionSource: view.rejection?.source,
    failureReason: view.failureReason,
    completedAt: view.completedAt,
    updatedAt: view.updatedAt,
    lastSeq: view.lastSeq,
    lastHash: view.lastHash,
  };
}

/**
 * One CSV cell: spreadsheet formulas neutralised (a leading `= + - @`, tab or CR gets a `'`
 * prefix so Excel/Sheets show text instead of evaluating it), then RFC 4180 quoting.
 */
export function csvCell(value: string | number | boolean | undefined | null): string {
  if (value === undefined || value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The records of a period as a stream of text chunks (one chunk per page of records): CSV with a
 * header row and CRLF line ends, or a JSON array. Memory stays flat for any number of records.
 * @throws HttpProblem 400 (lazily, on first read) for inconsistent filters.
 */
export async function* exportRequests(deps: AuditDeps, period: ExportPeriod, format: 'csv' | 'json'): AsyncGenerator<string> {
  const filters: ListFilters = { statuses: period.statuses, from: period.from, to: period.to, includeCanary: period.includeCanary };
  const now = deps.clock.now();
  if (format === 'csv') {
    yield `${EXPORT_COLUMNS.join(',')}\r\n`;
    for await (const items of iterateRequests(deps, filters)) {
      let chunk = '';
      for (const item of items) {
        const row = exportRow(toView(item, now));
        chunk += `${EXPORT_COLUMNS.map((c) => csvCell(row[c])).join(',')}\r\n`;
      }
      yield chunk;
    }
    return;
  }
  yield '[';
  let first = true;
  for await (const items of iterateRequests(deps, filters)) {
    let chunk = '';
    for (const item of items) {
      chunk += (first ? '\n' : ',\n') + JSON.stringify(toView(item, now));
      first = false;
    }
    yield chunk;
  }
  yield first ? ']' : '\n]\n';
}

// ---------------------------------------------------------------------------------------------
// Report

export interface AuditReport {
  generatedAt: string;
  period: { from?: string; to?: string };
  total: number;
  byStatus: Record<RequestStatus, number>;
  /** Every eligibility rule, plus `PLATFORM_RULES` when the platform itself refused. */
  byRejectionRule: Record<string, number>;
  /** Seconds from receipt to completion over COMPLETED requests (nearest-rank percentiles). */
  timeToCompletion: { count: number; medianSeconds: number | null; p95Seconds: number | null };
  deadlines: {
    /** Completed on or before the deadline. */
    met: number;
    /** Completed after the deadline. */
    completedLate: number;
    /** Not final and past the deadline now. */
    openOverdue: number;
    /** completedLate + openOverdue. */
    missed: number;
    /** Not final and due within the next 7 days (not yet overdue). */
    dueNext7Days: number;
  };
}

/**
 * The nearest-rank percentile of sorted values: the smallest value with at least `p`% of the
 * values at or below it. Undefined input → null.
 */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * Counts by status and rejection rule, time to completion, deadlines met and missed, and what is
 * due in the next 7 days, over the requests received in the period (all when open-ended).
 * Canary requests are left out. Reads page by page.
 */
export async function buildReport(deps: AuditDeps, period: { from?: string; to?: string } = {}): Promise<AuditReport> {
  const now = deps.clock.now();
  const byStatus = Object.fromEntries(REQUEST_STATUSES.map((s) => [s, 0])) as Record<RequestStatus, number>;
  const byRejectionRule: Record<string, number> = Object.fromEntries([...ELIGIBILITY_RULES, 'PLATFORM_RULES'].map((r) => [r, 0]));
  const durations: number[] = [];
  const deadlines = { met: 0, completedLate: 0, openOverdue: 0, missed: 0, dueNext7Days: 0 };
  let total = 0;
  for await (const items of iterateRequests(deps, { from: period.from, to: period.to })) {
    for (const r of items) {
      total++;
      byStatus[r.status]++;
      if (r.status === 'REJECTED' && r.rejection) byRejectionRule[r.rejection.rule] = (byRejectionRule[r.rejection.rule] ?? 0) + 1;
      if (r.status === 'COMPLETED' && r.completedAt) {
        durations.push((Date.parse(r.completedAt) - Date.parse(r.receivedAt)) / 1000);
        if (Date.parse(r.completedAt) <= Date.parse(r.dueAt)) deadlines.met++;
        else deadlines.completedLate++;
      }
      if (isOverdue(r.dueAt, now, r.status)) deadlines.openOverdue++;
      else if (!isFinal(r.status) && isDueWithin(r.dueAt, now, 7)) deadlines.dueNext7Days++;
    }
  }
  durations.sort((a, b) => a - b);
  deadlines.missed = deadlines.completedLate + deadlines.openOverdue;
  return {
    generatedAt: now.toISOString(),
    period,
    total,
    byStatus,
    byRejectionRule,
    timeToCompletion: { count: durations.length, medianSeconds: nearestRank(durations, 50), p95Seconds: nearestRank(durations, 95) },
    deadlines,
  };
}
