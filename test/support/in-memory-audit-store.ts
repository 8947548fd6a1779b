/**
 * The one in-memory `AuditStore` of the tests, with the DynamoDB store's semantics (checked by the
 * same contract suite, `audit-store-contract.ts`):
 * - events are claimed by sequence number: an appender that lost the race re-reads and calls
 *   `build` again with the fresh request (which may refuse by throwing); after
 *   `maxAppendRetries` lost races the append fails with `ConcurrentUpdateError`;
 * - a request whose creation never finished (a projection without event 1, planted with `seed`)
 *   is readable but takes no event, and only it can be discarded;
 * - the projection's `updatedAt` is the store's clock, patches change only the patchable fields;
 * - listings by status in `receivedAt#requestId` order, inclusive bounds (`to` also as a prefix),
 *   page size 50 by default and 1..1000, opaque cursors refused (`InvalidCursorError`) for another
 *   status, another order, outside the bounds, or garbled.
 * Every call yields to the event loop (and an append yields between its read and its write), so
 * concurrent use cases really interleave. Test-only extras: `seed`, `advance`, `failNext` (a
 * simulated outage) and a record of the listing queries.
 */
import { chainEvent } from '../../functions/domain/audit-chain';
import { ConcurrentUpdateError, InvalidCursorError, RequestAlreadyExistsError, RequestNotFoundError } from '../../functions/domain/errors';
import type { AuditEvent, AuditEventInput, ErasureRequest, RequestStatus } from '../../functions/domain/model';
import { systemClock, type AuditStore, type Clock, type ListByStatusQuery, type NewRequest, type Page, type RequestPatch } from '../../functions/domain/ports';

/** As the DynamoDB store: the page size when none is asked for, and the largest one served. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** The fields a `RequestPatch` may change (as the DynamoDB store); anything else is ignored. */
const PATCH_FIELDS = ['attempt', 'koreRequestId', 'rejection', 'failureReason', 'needsReview', 'completedAt', 'verification', 'dueAt', 'extended', 'subjectCipher'] as const;

type Build = (current: ErasureRequest) => { event: AuditEventInput; patch?: RequestPatch };

export interface InMemoryAuditStoreOptions {
  /** Sets `updatedAt` of the projection, as the DynamoDB store's clock does (default: the system clock). */
  clock?: Clock;
  /** Lost races an append survives before `ConcurrentUpdateError` (default 20, as the DynamoDB store). */
  maxAppendRetries?: number;
}

/** Lets other pending work run, as a network round trip would. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const clone = <T>(value: T): T => structuredClone(value);
const listKeyOf = (r: Pick<ErasureRequest, 'receivedAt' | 'requestId'>) => `${r.receivedAt}#${r.requestId}`;

/** A map that tells its owner when it changes (tests edit `requests` directly to plant states). */
class WatchedMap<K, V> extends Map<K, V> {
  onChange: () => void = () => undefined;
  override set(key: K, value: V): this {
    super.set(key, value);
    this.onChange?.();
    return this;
  }
  override delete(key: K): boolean {
    this.onChange?.();
    return super.delete(key);
  }
  override clear(): void {
    this.onChange?.();
    super.clear();
  }
}

export class InMemoryAuditStore implements AuditStore {
  /** The projections by request id (META items); tests may plant or edit them. */
  readonly requests = new WatchedMap<string, ErasureRequest>();
  /** The event chains by request id; tests may tamper with them. */
  readonly events = new Map<string, AuditEvent[]>();
  /** Set to make the next calls of an operation fail (a simulated outage). */
  failNext: { createRequest?: number; appendEvent?: number } = {};
  /** Every listByStatus query, for assertions on how the use cases read. */
  readonly listQueries: ListByStatusQuery[] = [];
  /** Turn off to count queries without keeping them (large data sets). */
  recordQueries = true;
  listCalls = 0;
  maxListLimit = 0;

  readonly #clock: Clock;
  readonly #maxRetries: number;
  #index: Map<RequestStatus, ErasureRequest[]> | undefined;

  constructor(options: InMemoryAuditStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#maxRetries = options.maxAppendRetries ?? 20;
    this.requests.onChange = () => (this.#index = undefined);
  }

  /**
   * Puts projections as they are, without events (listing tests with many records). A seeded
   * request with `lastSeq: 0` is a creation that never finished, as in DynamoDB.
   */
  seed(requests: Iterable<ErasureRequest>): void {
    for (const r of requests) this.requests.set(r.requestId, { ...r });
  }

  async createRequest(request: NewRequest, firstEvent: AuditEventInput): Promise<{ request: ErasureRequest; event: AuditEvent }> {
    await tick();
    if (this.failNext.createRequest) {
      this.failNext.createRequest--;
      throw new Error('simulated store outage');
    }
    if (this.requests.has(request.requestId)) throw new RequestAlreadyExistsError(request.requestId);
    const event = chainEvent(request.requestId, undefined, firstEvent);
    const stored: ErasureRequest = { ...clone(request), status: event.status, lastSeq: event.seq, lastHash: event.hash, updatedAt: this.#clock.now().toISOString() };
    this.events.set(request.requestId, [event]);
    this.requests.set(request.requestId, stored);
    return { request: clone(stored), event: clone(event) };
  }

  async getRequest(requestId: string): Promise<ErasureRequest | undefined> {
    await tick();
    const r = this.requests.get(requestId);
    return r && clone(r);
  }

  async appendEvent(requestId: string, build: Build, options: { current?: ErasureRequest } = {}): Promise<{ request: ErasureRequest; event: AuditEvent }> {
    const known = options.current?.requestId === requestId && options.current.lastSeq > 0 ? options.current : undefined;
    for (let retry = 0; ; retry++) {
      await tick();
      const current = retry === 0 && known ? clone(known) : this.#readForAppend(requestId);
      const { event: input, patch = {} } = build(clone(current));
      // Other writers run between the read and the conditional write, as over the network.
      await tick();
      if (this.failNext.appendEvent) {
        this.failNext.appendEvent--;
        throw new Error('simulated store outage');
      }
      const chain = this.events.get(requestId) ?? [];
      if (!chain.some((e) => e.seq === current.lastSeq + 1)) {
        const event = chainEvent(requestId, { seq: current.lastSeq, hash: current.lastHash }, input);
        chain.push(event);
        this.events.set(requestId, chain);
        const next = applyPatch({ ...this.requests.get(requestId)!, status: event.status, lastSeq: event.seq, lastHash: event.hash, updatedAt: this.#clock.now().toISOString() }, patch);
        this.requests.set(requestId, next);
        return { request: clone(next), event: clone(event) };
      }
      // attribute_not_exists on the next EVT# failed: another writer got there first.
      if (retry >= this.#maxRetries) throw new ConcurrentUpdateError(`Gave up appending after ${retry + 1} lost races`);
    }
  }

  async getTimeline(requestId: string): Promise<AuditEvent[]> {
    await tick();
    return clone(this.events.get(requestId) ?? []);
  }

  /** In memory the projection is written with its event: it never lags. */
  async repairProjection(requestId: string): Promise<{ request: ErasureRequest; repaired: boolean }> {
    const request = await this.getRequest(requestId);
    if (!request) throw new RequestNotFoundError(requestId);
    return { request, repaired: false };
  }

  async discardUnfinishedRequest(requestId: string): Promise<boolean> {
    await tick();
    const request = this.requests.get(requestId);
    if (!request || (this.events.get(requestId) ?? []).length > 0 || request.lastSeq !== 0) return false;
    this.requests.delete(requestId);
    return true;
  }

  async listByStatus(query: ListByStatusQuery): Promise<Page<ErasureRequest>> {
    await tick();
    this.listCalls++;
    if (this.recordQueries) this.listQueries.push({ ...query });
    const asked = Number.isFinite(query.limit) ? Math.trunc(query.limit as number) : DEFAULT_PAGE_SIZE;
    const limit = Math.min(Math.max(asked, 1), MAX_PAGE_SIZE);
    this.maxListLimit = Math.max(this.maxListLimit, limit);
    const descending = query.descending ?? false;
    const lower = query.from;
    const upper = query.to === undefined ? undefined : `${query.to}\uffff`;
    let after: string | undefined;
    if (query.cursor !== undefined) {
      after = decodeCursor(query.cursor, query.status, descending);
      if ((lower !== undefined && after < lower) || (upper !== undefined && after > upper)) throw new InvalidCursorError();
    }
    if (lower !== undefined && upper !== undefined && lower > upper) return { items: [] };

    const all = this.#sortedFor(query.status);
    // Keys are `receivedAt#requestId`: range bounds are key bounds, `first..last` inclusive.
    const first = lower === undefined ? 0 : lowerBound(all, lower);
    const last = (upper === undefined ? all.length : upperBound(all, upper)) - 1;
    const items: ErasureRequest[] = [];
    let i: number;
    if (!descending) {
      for (i = Math.max(first, after === undefined ? 0 : upperBound(all, after)); i <= last && items.length < limit; i++) items.push(all[i]!);
    } else {
      for (i = Math.min(last, after === undefined ? all.length - 1 : lowerBound(all, after) - 1); i >= first && items.length < limit; i--) items.push(all[i]!);
    }
    const more = descending ? i >= first : i <= last;
    const tail = items.at(-1);
    // Fresh objects, as from the wire; a cursor only when another item really follows.
    return { items: items.map(clone), ...(more && tail ? { cursor: encodeCursor(query.status, listKeyOf(tail), descending) } : {}) };
  }

  async findBySubjectHash(subjectHash: string): Promise<ErasureRequest[]> {
    await tick();
    return [...this.requests.values()]
      .filter((r) => r.subjectHash === subjectHash)
      .sort((a, b) => (listKeyOf(a) < listKeyOf(b) ? 1 : -1))
      .map(clone);
  }

  /** Appends with the request's current attempt, for arranging a request's later life (the workflow's part). */
  async advance(requestId: string, input: Omit<AuditEventInput, 'attempt' | 'at'> & { at?: string }, patch?: RequestPatch) {
    return this.appendEvent(requestId, (current) => ({ event: { ...input, at: input.at ?? this.#clock.now().toISOString(), attempt: current.attempt }, patch }));
  }

  /** The projection an append starts from; a creation that never finished takes no event. */
  #readForAppend(requestId: string): ErasureRequest {
    const request = this.requests.get(requestId);
    if (!request || request.lastSeq === 0) throw new RequestNotFoundError(requestId);
    return clone(request);
  }

  #sortedFor(status: RequestStatus): ErasureRequest[] {
    if (!this.#index) {
      const index = new Map<RequestStatus, ErasureRequest[]>();
      for (const r of this.requests.values()) {
        const list = index.get(r.status);
        if (list) list.push(r);
        else index.set(r.status, [r]);
      }
      for (const list of index.values()) list.sort((a, b) => (listKeyOf(a) < listKeyOf(b) ? -1 : 1));
      this.#index = index;
    }
    return this.#index.get(status) ?? [];
  }
}

function applyPatch(request: ErasureRequest, patch: RequestPatch): ErasureRequest {
  const next: Record<string, unknown> = { ...request };
  for (const field of PATCH_FIELDS) {
    const value = patch[field];
    if (value === undefined) continue;
    if (value === null) delete next[field];
    else next[field] = clone(value);
  }
  return next as unknown as ErasureRequest;
}

/** The first index whose key is >= `key`. */
function lowerBound(all: ErasureRequest[], key: string): number {
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (listKeyOf(all[mid]!) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index whose key is > `key`. */
function upperBound(all: ErasureRequest[], key: string): number {
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (listKeyOf(all[mid]!) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function encodeCursor(status: RequestStatus, key: string, descending: boolean): string {
  return Buffer.from(JSON.stringify({ mem: 1, s: status, k: key, d: descending }), 'utf8').toString('base64url');
}

/** The key a cursor continues after. @throws InvalidCursorError unless this store issued it for this status and order. */
function decodeCursor(cursor: string, status: RequestStatus, descending: boolean): string {
  if (cursor.length === 0 || cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError();
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new InvalidCursorError({ cause: error });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidCursorError();
  const { mem, s, k, d, ...rest } = body as Record<string, unknown>;
  const wellFormed = mem === 1 && s === status && d === descending && Object.keys(rest).length === 0 && typeof k === 'string' && /^[^#\s]{1,64}#[^#\s]{1,200}$/.test(k);
  if (!wellFormed) throw new InvalidCursorError();
  return k as string;
}
