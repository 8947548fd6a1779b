/**
 * The audit trail in DynamoDB: one `META` item per request (the projection, for listing) and one
 * append-only item per event (the source of truth), without transactions (dynalite has none).
 *
 * How the writes stay correct without transactions:
 * - An event is claimed by its sequence number: `Put EVT#<seq>` with `attribute_not_exists`.
 *   Two writers that read the same head race for the same key; the loser re-reads and calls
 *   `build` again with the fresh request, so a transition that became illegal is refused.
 * - The projection follows the events: after its event is in, a writer updates `META` on the
 *   condition `lastSeq < seq`, so a slower writer never rolls it back.
 * - A writer that dies between the two writes leaves the projection behind the chain. The
 *   projection-relevant part of each event's patch is kept on the event item (outside the hash),
 *   so the next writer (or `repairProjection`, run by the sweeper) replays what is missing.
 *
 * Longer than 300 lines on purpose: one adapter for one port (AuditStore) whose correctness argument above spans every write; split, the argument would be spread over files.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GENESIS_HASH, chainEvent, computeEventHash } from '../../domain/audit-chain';
import { ChainIntegrityError, ConcurrentUpdateError, RequestNotFoundError } from '../../domain/errors';
import type { AuditEvent, AuditEventInput, ErasureRequest, RequestStatus } from '../../domain/model';
import { systemClock, type AuditStore, type Clock, type ListByStatusQuery, type NewRequest, type Page, type RequestPatch } from '../../domain/ports';
import { InvalidCursorError, RequestAlreadyExistsError, conditionalWrite, storeCall } from './errors';
import { META_SK, MAX_EVENT_SEQ, eventSk, listKey, requestPk } from './keys';
import {
  BY_STATUS_INDEX,
  BY_STATUS_PARTITION_KEY,
  BY_STATUS_SORT_KEY,
  BY_SUBJECT_INDEX,
  BY_SUBJECT_PARTITION_KEY,
  PARTITION_KEY,
  SORT_KEY,
  TTL_ATTRIBUTE,
} from './table-schema';

/** The attribute of an event item holding its projection patch (not part of the hashed event). */
const PATCH_ATTRIBUTE = 'projectionPatch';

/** The fields a `RequestPatch` may change; anything else in a patch is ignored. */
const PATCH_FIELDS = ['attempt', 'koreRequestId', 'rejection', 'failureReason', 'needsReview', 'completedAt', 'verification', 'dueAt', 'extended', 'subjectCipher'] as const;
type PatchField = (typeof PATCH_FIELDS)[number];

/** Page size of `listByStatus` when none is asked for, and the largest one served. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export interface DynamoAuditStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock?: Clock;
  /** How many times an append is retried after losing a race for a sequence number (default 20). */
  maxAppendRetries?: number;
  /** The pause before retry `n` (0-based); default a few random milliseconds growing with `n`. */
  backoff?: (retry: number) => Promise<void>;
  /**
   * Record retention: every item of a request (META and events) gets the TTL attribute
   * `receivedAt + retentionDays + RETENTION_MARGIN_DAYS`, so a whole chain expires together, never
   * event by event. Absent: kept forever. dynalite ignores TTL; nothing depends on it.
   */
  retentionDays?: number;
}

/** Longest life of a request (one month, plus an extension of two) before its retention starts. */
export const RETENTION_MARGIN_DAYS = 92;

type Item = Record<string, unknown>;

/** The state an append starts from: the projection brought up to the chain head. */
interface ChainState {
  request: ErasureRequest;
  head: { seq: number; hash: string };
  /** Events in the chain that the stored projection has not applied yet (normally none). */
  lagging: { event: AuditEvent; patch: RequestPatch }[];
}

const defaultBackoff = (retry: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.floor(Math.random() * 5 * Math.min(retry + 1, 8)) + 1));

export class DynamoAuditStore implements AuditStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #clock: Clock;
  readonly #maxRetries: number;
  readonly #backoff: (retry: number) => Promise<void>;
  readonly #retentionDays: number | undefined;

  constructor(options: DynamoAuditStoreOptions) {
    if (!options.tableName) throw new TypeError('DynamoAuditStore needs a table name');
    this.#client = options.client;
    this.#table = options.tableName;
    this.#clock = options.clock ?? systemClock;
    this.#maxRetries = options.maxAppendRetries ?? 20;
    this.#backoff = options.backoff ?? defaultBackoff;
    this.#retentionDays = options.retentionDays;
  }

  /** The TTL (epoch seconds) of a request's items, or nothing when records are kept forever. */
  #expiry(receivedAt: string): Item {
    if (this.#retentionDays === undefined) return {};
    const seconds = Math.floor(Date.parse(receivedAt) / 1000) + (this.#retentionDays + RETENTION_MARGIN_DAYS) * 86_400;
    return { [TTL_ATTRIBUTE]: seconds };
  }

  /**
   * Writes the META item (refusing a taken id), then event 1, then points the projection at it.
   * @throws RequestAlreadyExistsError when the id is taken; StoreUnavailableError / StoreError when
   *   DynamoDB fails (a failure after the META write leaves a request without events, which
   *   `appendEvent` treats as not found).
   */
  async createRequest(request: NewRequest, firstEvent: AuditEventInput): Promise<{ request: ErasureRequest; event: AuditEvent }> {
    const { requestId } = request;
    const now = this.#clock.now().toISOString();
    const meta: ErasureRequest = { ...request, lastSeq: 0, lastHash: GENESIS_HASH, updatedAt: now };
    await conditionalWrite(
      'PutItem',
      () =>
        this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: {
              ...meta,
              [PARTITION_KEY]: requestPk(requestId),
              [SORT_KEY]: META_SK,
              [BY_STATUS_SORT_KEY]: listKey(request.receivedAt, requestId),
              ...this.#expiry(request.receivedAt),
            },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY },
          }),
        ),
      (cause) => new RequestAlreadyExistsError(requestId, { cause }),
    );
    const event = chainEvent(requestId, undefined, firstEvent);
    if (!(await this.#putEvent(event, {}, request.receivedAt))) {
      throw new ConcurrentUpdateError('Another writer took the first event of a new request');
    }
    await this.#project(requestId, event, {}, now);
    return { request: applyEvent(meta, event, {}, now), event };
  }

  /**
   * The request as its chain says it is: the projection, read consistently, with any events a
   * crashed writer left unprojected applied on the fly (read-only; the sweeper persists repairs).
   * Undefined when there is no such request.
   * @throws ChainIntegrityError when stored events do not chain onto the projection.
   */
  async getRequest(requestId: string): Promise<ErasureRequest | undefined> {
    try {
      return (await this.#readState(requestId, { allowEmpty: true })).request;
    } catch (error) {
      if (error instanceof RequestNotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * Appends the event `build` makes from the freshest request; see the module comment for how
   * races are settled. `build` may be called several times and must not have side effects.
   * @throws RequestNotFoundError when the request (or its first event) does not exist;
   *   ConcurrentUpdateError when every retry lost the race; ChainIntegrityError when the stored
   *   events behind the projection do not chain; whatever `build` throws (nothing is written then);
   *   StoreUnavailableError / StoreError when DynamoDB fails.
   */
  async appendEvent(
    requestId: string,
    build: (current: ErasureRequest) => { event: AuditEventInput; patch?: RequestPatch },
    options: { current?: ErasureRequest } = {},
  ): Promise<{ request: ErasureRequest; event: AuditEvent }> {
    // What the caller has just written saves the first read (GetItem + Query); the conditional
    // put of the next sequence number still refuses it if the chain has moved on meanwhile.
    const known = options.current?.requestId === requestId && options.current.lastSeq > 0 ? options.current : undefined;
    for (let retry = 0; ; retry++) {
      const state: ChainState =
        retry === 0 && known ? { request: structuredClone(known), head: { seq: known.lastSeq, hash: known.lastHash }, lagging: [] } : await this.#readState(requestId);
      if (state.lagging.length > 0) await this.#persistRepair(requestId, state);
      const { event: input, patch = {} } = build(structuredClone(state.request));
      if (state.head.seq >= MAX_EVENT_SEQ) throw new RangeError('The event chain of this request is full');
      const event = chainEvent(requestId, state.head, input);
      if (await this.#putEvent(event, patch, state.request.receivedAt)) {
        const now = this.#clock.now().toISOString();
        await this.#project(requestId, event, patch, now);
        return { request: applyEvent(state.request, event, patch, now), event };
      }
      if (retry >= this.#maxRetries) {
        throw new ConcurrentUpdateError(`Gave up appending after ${retry + 1} lost races`);
      }
      await this.#backoff(retry);
    }
  }

  /**
   * Brings the projection up to the chain head when a writer died between its event and its
   * projection update (the sweeper calls this). Returns the projection and whether it had lagged.
   * @throws RequestNotFoundError, ChainIntegrityError, StoreUnavailableError / StoreError.
   */
  async repairProjection(requestId: string): Promise<{ request: ErasureRequest; repaired: boolean }> {
    const state = await this.#readState(requestId, { allowEmpty: true });
    if (state.lagging.length === 0) return { request: state.request, repaired: false };
    await this.#persistRepair(requestId, state);
    return { request: state.request, repaired: true };
  }

  /**
   * Deletes the META item of a creation that never got its first event (the writer died between
   * the two puts): such a request has no audit record to keep, only an encrypted address that
   * nothing would ever erase. Refused (false) when event 1 exists or the projection has moved on.
   * Meant for the sweeper, long after the creation: a creation still in flight must not race it.
   * @throws StoreUnavailableError / StoreError.
   */
  async discardUnfinishedRequest(requestId: string): Promise<boolean> {
    const first = await storeCall('GetItem', () =>
      this.#client.send(new GetCommand({ TableName: this.#table, Key: { [PARTITION_KEY]: requestPk(requestId), [SORT_KEY]: eventSk(1) }, ConsistentRead: true })),
    );
    if (first.Item) return false;
    return conditionalWrite('DeleteItem', () =>
      this.#client.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { [PARTITION_KEY]: requestPk(requestId), [SORT_KEY]: META_SK },
          ConditionExpression: 'attribute_exists(#pk) AND #lastSeq = :zero',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#lastSeq': 'lastSeq' },
          ExpressionAttributeValues: { ':zero': 0 },
        }),
      ),
    );
  }

  /** Every event of a request in sequence order (consistent reads, all pages); [] when unknown. */
  async getTimeline(requestId: string): Promise<AuditEvent[]> {
    return (await this.#queryEvents(requestId, 1)).map(({ event }) => event);
  }

  /**
   * One page of the requests in a status, by `receivedAt` then id (stable across pages). `from`
   * and `to` are inclusive; `to` also takes a prefix such as a date (`2026-01-31` covers the day).
   * @throws InvalidCursorError when the cursor was not issued by this method for this query.
   */
  async listByStatus(query: ListByStatusQuery): Promise<Page<ErasureRequest>> {
    const asked = Number.isFinite(query.limit) ? Math.trunc(query.limit as number) : DEFAULT_PAGE_SIZE;
    const limit = Math.min(Math.max(asked, 1), MAX_PAGE_SIZE);
    const descending = query.descending ?? false;
    const lower = query.from;
    const upper = query.to === undefined ? undefined : `${query.to}\uffff`;
    let startKey: Item | undefined;
    if (query.cursor !== undefined) {
      const key = decodeCursor(query.cursor, query.status, descending);
      if ((lower !== undefined && key < lower) || (upper !== undefined && key > upper)) throw new InvalidCursorError();
      startKey = listingKey(query.status, key);
    }
    if (lower !== undefined && upper !== undefined && lower > upper) return { items: [] };

    const names: Record<string, string> = { '#s': BY_STATUS_PARTITION_KEY };
    const values: Item = { ':s': query.status };
    let condition = '#s = :s';
    if (lower !== undefined || upper !== undefined) names['#k'] = BY_STATUS_SORT_KEY;
    if (lower !== undefined && upper !== undefined) {
      condition += ' AND #k BETWEEN :lo AND :hi';
      Object.assign(values, { ':lo': lower, ':hi': upper });
    } else if (lower !== undefined) {
      condition += ' AND #k >= :lo';
      values[':lo'] = lower;
    } else if (upper !== undefined) {
      condition += ' AND #k <= :hi';
      values[':hi'] = upper;
    }

    // Ask for one more than a page: a cursor is only issued when another item really follows.
    const items: Item[] = [];
    do {
      const out = await storeCall('Query', () =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#table,
            IndexName: BY_STATUS_INDEX,
            KeyConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ScanIndexForward: !descending,
            Limit: limit + 1 - items.length,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (startKey && items.length <= limit);

    const page = items.slice(0, limit);
    const last = page.at(-1);
    const more = items.length > limit && last !== undefined;
    return {
      items: page.map(toRequest),
      ...(more ? { cursor: encodeCursor(query.status, String(last[BY_STATUS_SORT_KEY]), descending) } : {}),
    };
  }

  /** Every request of one subject (by HMAC), newest first. */
  async findBySubjectHash(subjectHash: string): Promise<ErasureRequest[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const out = await storeCall('Query', () =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#table,
            IndexName: BY_SUBJECT_INDEX,
            KeyConditionExpression: '#h = :h',
            ExpressionAttributeNames: { '#h': BY_SUBJECT_PARTITION_KEY },
            ExpressionAttributeValues: { ':h': subjectHash },
            ScanIndexForward: false,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return items.map(toRequest);
  }

  async #getMeta(requestId: string): Promise<Item | undefined> {
    const out = await storeCall('GetItem', () =>
      this.#client.send(new GetCommand({ TableName: this.#table, Key: { [PARTITION_KEY]: requestPk(requestId), [SORT_KEY]: META_SK }, ConsistentRead: true })),
    );
    return out.Item;
  }

  /**
   * The projection and the events after its `lastSeq` (normally none: one cheap query), checked to
   * chain onto the projection's `lastHash`.
   */
  async #readState(requestId: string, options: { allowEmpty?: boolean } = {}): Promise<ChainState> {
    const meta = await this.#getMeta(requestId);
    if (!meta) throw new RequestNotFoundError(requestId);
    let request = toRequest(meta);
    const lagging = await this.#queryEvents(requestId, request.lastSeq + 1);
    let head = { seq: request.lastSeq, hash: request.lastHash };
    for (const { event, patch } of lagging) {
      if (event.seq !== head.seq + 1 || event.prevHash !== head.hash || computeEventHash(event.prevHash, event) !== event.hash) {
        throw new ChainIntegrityError(`Event ${event.seq} does not chain onto the projection`);
      }
      head = { seq: event.seq, hash: event.hash };
      // A replayed event last changed the request when it happened, not when it is replayed.
      request = applyEvent(request, event, patch, event.at);
    }
    // A META without any event is a creation that never finished: nothing may be appended to it.
    if (head.seq === 0 && !options.allowEmpty) throw new RequestNotFoundError(requestId);
    return { request, head, lagging };
  }

  /** Writes the replayed projection; a newer projection already in place wins. */
  async #persistRepair(requestId: string, state: ChainState): Promise<void> {
    const last = state.lagging.at(-1);
    if (!last) return;
    const merged: RequestPatch = Object.assign({}, ...state.lagging.map((l) => l.patch));
    await this.#project(requestId, last.event, merged, last.event.at);
  }

  /** Events from `fromSeq` on, ascending, consistent, all pages; each with its stored patch. */
  async #queryEvents(requestId: string, fromSeq: number): Promise<{ event: AuditEvent; patch: RequestPatch }[]> {
    if (fromSeq > MAX_EVENT_SEQ) return [];
    const result: { event: AuditEvent; patch: RequestPatch }[] = [];
    let startKey: Item | undefined;
    do {
      const out = await storeCall('Query', () =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#table,
            KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
            ExpressionAttributeValues: { ':pk': requestPk(requestId), ':from': eventSk(fromSeq), ':to': eventSk(MAX_EVENT_SEQ) },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of out.Items ?? []) result.push(toEvent(item));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return result;
  }

  /** Claims the event's sequence number; false when another writer holds it already. */
  async #putEvent(event: AuditEvent, patch: RequestPatch, receivedAt: string): Promise<boolean> {
    const stored = storablePatch(patch);
    return conditionalWrite('PutItem', () =>
      this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...event,
            [PARTITION_KEY]: requestPk(event.requestId),
            [SORT_KEY]: eventSk(event.seq),
            ...(stored ? { [PATCH_ATTRIBUTE]: stored } : {}),
            ...this.#expiry(receivedAt),
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY },
        }),
      ),
    );
  }

  /**
   * Points the projection at `event` (status, lastSeq, lastHash, updatedAt, patch) unless it is
   * already at that event or later. Returns whether it was updated.
   */
  async #project(requestId: string, event: AuditEvent, patch: RequestPatch, now: string): Promise<boolean> {
    const names: Record<string, string> = { '#pk': PARTITION_KEY, '#status': 'status', '#lastSeq': 'lastSeq', '#lastHash': 'lastHash', '#updatedAt': 'updatedAt' };
    const values: Item = { ':status': event.status, ':seq': event.seq, ':hash': event.hash, ':now': now };
    const sets = ['#status = :status', '#lastSeq = :seq', '#lastHash = :hash', '#updatedAt = :now'];
    const removes: string[] = [];
    for (const field of PATCH_FIELDS) {
      const value = patch[field];
      if (value === undefined) continue;
      names[`#${field}`] = field;
      if (value === null) removes.push(`#${field}`);
      else {
        values[`:${field}`] = value;
        sets.push(`#${field} = :${field}`);
      }
    }
    return conditionalWrite('UpdateItem', () =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [PARTITION_KEY]: requestPk(requestId), [SORT_KEY]: META_SK },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_exists(#pk) AND #lastSeq < :seq',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }
}

/** The projection after `event` and its patch. */
function applyEvent(request: ErasureRequest, event: AuditEvent, patch: RequestPatch, now: string): ErasureRequest {
  const next: Record<string, unknown> = { ...request, status: event.status, lastSeq: event.seq, lastHash: event.hash, updatedAt: now };
  for (const field of PATCH_FIELDS) {
    const value = patch[field];
    if (value === undefined) continue;
    if (value === null) delete next[field];
    else next[field] = structuredClone(value);
  }
  return next as unknown as ErasureRequest;
}

/**
 * The part of a patch kept on the event item for replay. A new `subjectCipher` is left out: the
 * event item is kept forever and must not hold the subject id, even encrypted (its removal is kept).
 */
function storablePatch(patch: RequestPatch): RequestPatch | undefined {
  const stored: Record<string, unknown> = {};
  for (const field of PATCH_FIELDS) {
    const value = patch[field];
    if (value === undefined) continue;
    if (field === 'subjectCipher' && value !== null) continue;
    stored[field] = value;
  }
  return Object.keys(stored).length > 0 ? (stored as RequestPatch) : undefined;
}

const META_INTERNAL = new Set<string>([PARTITION_KEY, SORT_KEY, BY_STATUS_SORT_KEY, TTL_ATTRIBUTE]);
const EVENT_INTERNAL = new Set<string>([PARTITION_KEY, SORT_KEY, PATCH_ATTRIBUTE, TTL_ATTRIBUTE]);

function toRequest(item: Item): ErasureRequest {
  return Object.fromEntries(Object.entries(item).filter(([k]) => !META_INTERNAL.has(k))) as unknown as ErasureRequest;
}

function toEvent(item: Item): { event: AuditEvent; patch: RequestPatch } {
  const event = Object.fromEntries(Object.entries(item).filter(([k]) => !EVENT_INTERNAL.has(k))) as unknown as AuditEvent;
  const raw = item[PATCH_ATTRIBUTE];
  const patch: Partial<Record<PatchField, unknown>> = {};
  if (raw && typeof raw === 'object') {
    for (const field of PATCH_FIELDS) if (field in raw) patch[field] = (raw as Record<string, unknown>)[field];
  }
  return { event, patch: patch as RequestPatch };
}

function listingKey(status: RequestStatus, key: string): Item {
  const requestId = key.slice(key.lastIndexOf('#') + 1);
  return { [PARTITION_KEY]: requestPk(requestId), [SORT_KEY]: META_SK, [BY_STATUS_PARTITION_KEY]: status, [BY_STATUS_SORT_KEY]: key };
}

interface CursorBody {
  v: 1;
  s: string;
  k: string;
  d: boolean;
}

function encodeCursor(status: RequestStatus, key: string, descending: boolean): string {
  const body: CursorBody = { v: 1, s: status, k: key, d: descending };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

/**
 * The listKey a cursor continues after.
 * @throws InvalidCursorError unless the cursor is one `encodeCursor` made for this status and order.
 */
function decodeCursor(cursor: string, status: RequestStatus, descending: boolean): string {
  if (cursor.length === 0 || cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError();
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new InvalidCursorError({ cause: error });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidCursorError();
  const { v, s, k, d, ...rest } = body as Partial<CursorBody>;
  const wellFormed =
    v === 1 &&
    s === status &&
    d === descending &&
    Object.keys(rest).length === 0 &&
    typeof k === 'string' &&
    /^[^#\s]{1,64}#[^#\s]{1,200}$/.test(k);
  if (!wellFormed) throw new InvalidCursorError();
  return k as string;
}

