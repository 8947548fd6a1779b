/**
 * What every `AuditStore` promises (functions/domain/ports.ts), as one suite run against each
 * store: the DynamoDB store over dynalite (the truth) and the in-memory store of the unit tests,
 * so the fake cannot drift from what it stands in for.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../functions/domain/audit-chain';
import { ConcurrentUpdateError, IllegalTransitionError, InvalidCursorError, RequestAlreadyExistsError, RequestNotFoundError } from '../../functions/domain/errors';
import { assertTransition } from '../../functions/domain/lifecycle';
import type { AuditEventInput, ErasureRequest, RequestStatus } from '../../functions/domain/model';
import type { AuditStore, Clock, ListByStatusQuery, NewRequest, RequestPatch } from '../../functions/domain/ports';

export interface AuditStoreUnderTest {
  store: AuditStore;
  /** Puts a projection whose creation never finished (no event 1), as a writer that died leaves it. */
  plantUnfinished(request: ErasureRequest): Promise<void>;
}

/** A clock the suite sets; the store under test must take `updatedAt` from it. */
export class ContractClock implements Clock {
  at = new Date('2026-03-12T08:00:00.000Z');
  now(): Date {
    return new Date(this.at);
  }
}

type Build = (current: ErasureRequest) => { event: AuditEventInput; patch?: RequestPatch };

const subject = () => randomUUID().replaceAll('-', '').repeat(2);

function newRequest(overrides: Partial<NewRequest> = {}): NewRequest {
  const receivedAt = overrides.receivedAt ?? '2026-03-10T09:15:00.000Z';
  return {
    requestId: `req-${randomUUID()}`,
    status: 'RECEIVED',
    channel: 'web',
    subjectHash: subject(),
    subjectKind: 'email',
    scope: { botIds: [] },
    scopeKey: '*',
    receivedAt,
    dueAt: '2026-04-10T09:15:00.000Z',
    attempt: 0,
    subjectCipher: 'cipher:abc',
    ...overrides,
  };
}

const received = (r: Pick<NewRequest, 'receivedAt' | 'status'>): AuditEventInput => ({
  type: 'REQUEST_RECEIVED',
  at: r.receivedAt,
  actor: 'subject',
  attempt: 0,
  status: r.status,
  details: { channel: 'web' },
});

/** A lifecycle move to `to`, refused (IllegalTransitionError) when illegal, as the use cases do. */
function move(to: RequestStatus, patch: RequestPatch = {}): Build {
  return (current) => {
    const step = assertTransition(current.status, to);
    const attempt = step.newAttempt ? current.attempt + 1 : current.attempt;
    return {
      event: { type: step.event, at: '2026-03-11T10:00:00.000Z', actor: 'system:test', attempt, status: to, details: {} },
      patch: { ...(step.newAttempt ? { attempt } : {}), ...patch },
    };
  };
}

/** An event that changes no status. */
const note = (n: number): Build => (current) => ({
  event: { type: 'NOTICE_SENT', at: '2026-03-11T11:00:00.000Z', actor: 'system:test', attempt: current.attempt, status: current.status, details: { n } },
});

export function auditStoreContract(name: string, make: (clock: ContractClock) => Promise<AuditStoreUnderTest>): void {
  describe(`${name} keeps the AuditStore contract`, () => {
    let clock: ContractClock;
    let store: AuditStore;
    let plantUnfinished: AuditStoreUnderTest['plantUnfinished'];

    beforeEach(async () => {
      clock = new ContractClock();
      ({ store, plantUnfinished } = await make(clock));
    });

    async function create(overrides: Partial<NewRequest> = {}): Promise<ErasureRequest> {
      const input = newRequest(overrides);
      return (await store.createRequest(input, received(input))).request;
    }

    async function listAll(query: Omit<ListByStatusQuery, 'cursor'>): Promise<{ ids: string[]; pages: number[] }> {
      const ids: string[] = [];
      const pages: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listByStatus({ ...query, cursor });
        ids.push(...page.items.map((r) => r.requestId));
        pages.push(page.items.length);
        cursor = page.cursor;
      } while (cursor);
      return { ids, pages };
    }

    describe('createRequest', () => {
      it('writes the request with event 1 chained from genesis, its status from that event and updatedAt from the clock', async () => {
        const input = newRequest({ status: 'RECEIVED' });
        const { request, event } = await store.createRequest(input, { ...received(input), status: 'AWAITING_VERIFICATION' });

        expect(event).toMatchObject({ requestId: input.requestId, seq: 1, type: 'REQUEST_RECEIVED', status: 'AWAITING_VERIFICATION' });
        expect(request).toMatchObject({ ...input, status: 'AWAITING_VERIFICATION', lastSeq: 1, lastHash: event.hash, updatedAt: clock.at.toISOString() });
        expect(await store.getRequest(input.requestId)).toEqual(request);
        expect(verifyChain(input.requestId, await store.getTimeline(input.requestId))).toMatchObject({ ok: true, checked: 1, headHash: event.hash });
      });

      it('refuses a taken id with RequestAlreadyExistsError and leaves the first request as it was', async () => {
        const first = await create();
        const impostor = newRequest({ requestId: first.requestId, subjectHash: subject() });

        await expect(store.createRequest(impostor, received(impostor))).rejects.toBeInstanceOf(RequestAlreadyExistsError);
        expect(await store.getRequest(first.requestId)).toEqual(first);
        expect(await store.getTimeline(first.requestId)).toHaveLength(1);
      });
    });

    describe('getRequest and getTimeline', () => {
      it('answer undefined and no events for an unknown request', async () => {
        expect(await store.getRequest('req-unknown')).toBeUndefined();
        expect(await store.getTimeline('req-unknown')).toEqual([]);
      });

      it('hand out copies: changing what was read changes nothing stored', async () => {
        const request = await create();
        const read = (await store.getRequest(request.requestId))!;
        read.status = 'COMPLETED';
        read.scope.botIds.push('st-x');
        const timeline = await store.getTimeline(request.requestId);
        timeline[0]!.details = { forged: true };

        expect(await store.getRequest(request.requestId)).toEqual(request);
        expect((await store.getTimeline(request.requestId))[0]!.details).toEqual({ channel: 'web' });
      });
    });

    describe('appendEvent', () => {
      it('chains each event onto the last and moves the projection with it, updatedAt from the clock', async () => {
        const request = await create();
        clock.at = new Date('2026-03-12T09:30:00.000Z');
        const second = await store.appendEvent(request.requestId, move('AWAITING_VERIFICATION'));
        const third = await store.appendEvent(request.requestId, note(3));

        expect(second.event).toMatchObject({ seq: 2, prevHash: request.lastHash, status: 'AWAITING_VERIFICATION' });
        expect(third.event).toMatchObject({ seq: 3, prevHash: second.event.hash, status: 'AWAITING_VERIFICATION' });
        expect(third.request).toMatchObject({ status: 'AWAITING_VERIFICATION', lastSeq: 3, lastHash: third.event.hash, updatedAt: '2026-03-12T09:30:00.000Z' });
        expect(await store.getRequest(request.requestId)).toEqual(third.request);
        const timeline = await store.getTimeline(request.requestId);
        expect(timeline.map((e) => e.seq)).toEqual([1, 2, 3]);
        expect(timeline.at(-1)).toEqual(third.event);
        expect(verifyChain(request.requestId, timeline)).toMatchObject({ ok: true, checked: 3 });
      });

      it('applies a patch: a value sets a field, null removes it, undefined leaves it, fields outside the patch set stay', async () => {
        const request = await create();
        await store.appendEvent(request.requestId, (current) => ({
          ...note(2)(current),
          patch: { failureReason: 'USER_ERASURE_FAILED', needsReview: 'WORD', koreRequestId: 'eud-1' },
        }));
        const { request: after } = await store.appendEvent(request.requestId, (current) => ({
          ...note(3)(current),
          patch: { failureReason: null, needsReview: undefined, subjectCipher: null, status: 'COMPLETED', receivedAt: '1999-01-01' } as RequestPatch,
        }));

        expect(after).toMatchObject({ needsReview: 'WORD', koreRequestId: 'eud-1', status: 'RECEIVED', receivedAt: request.receivedAt });
        expect(after).not.toHaveProperty('failureReason');
        expect(after).not.toHaveProperty('subjectCipher');
        expect(await store.getRequest(request.requestId)).toEqual(after);
      });

      it('starts an attempt through the patch: attempt, and the new attempt in the event', async () => {
        const request = await create();
        for (const to of ['AWAITING_VERIFICATION', 'VERIFIED'] as const) await store.appendEvent(request.requestId, move(to));
        const { request: queued, event } = await store.appendEvent(request.requestId, move('QUEUED'));

        expect(queued).toMatchObject({ status: 'QUEUED', attempt: 1 });
        expect(event).toMatchObject({ type: 'ERASURE_QUEUED', attempt: 1 });
      });

      it('hands build a copy of the freshest request: what build changes is not stored', async () => {
        const request = await create();
        await store.appendEvent(request.requestId, (current) => {
          current.status = 'COMPLETED';
          current.scope.botIds.push('st-x');
          return note(2)({ ...current, status: 'RECEIVED' });
        });

        expect(await store.getRequest(request.requestId)).toMatchObject({ status: 'RECEIVED', scope: { botIds: [] }, lastSeq: 2 });
      });

      it('writes nothing when build refuses, and lets its error through', async () => {
        const request = await create();

        await expect(store.appendEvent(request.requestId, move('COMPLETED'))).rejects.toBeInstanceOf(IllegalTransitionError);
        expect(await store.getRequest(request.requestId)).toEqual(request);
        expect(await store.getTimeline(request.requestId)).toHaveLength(1);
      });

      it('refuses an unknown request with RequestNotFoundError without calling build', async () => {
        let built = 0;
        await expect(store.appendEvent('req-unknown', (c) => (built++, note(1)(c)))).rejects.toBeInstanceOf(RequestNotFoundError);
        expect(built).toBe(0);
      });

      it('gives concurrent appenders one sequence number each, in one unbroken chain', async () => {
        const request = await create();
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.appendEvent(request.requestId, note(i))));

        expect(results.map((r) => r.event.seq).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
        const timeline = await store.getTimeline(request.requestId);
        expect(verifyChain(request.requestId, timeline)).toMatchObject({ ok: true, checked: 9 });
        expect((await store.getRequest(request.requestId))!.lastSeq).toBe(9);
      });

      it('rebuilds a loser of the race on the fresh request, so of two racing transitions only one is legal', async () => {
        const request = await create();
        await store.appendEvent(request.requestId, move('AWAITING_VERIFICATION'));
        const seen: RequestStatus[] = [];
        const race = (to: RequestStatus): Build => (current) => (seen.push(current.status), move(to)(current));

        const outcomes = await Promise.allSettled([store.appendEvent(request.requestId, race('VERIFIED')), store.appendEvent(request.requestId, race('EXPIRED'))]);

        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
        expect(refused.reason).toBeInstanceOf(IllegalTransitionError);
        expect(seen.filter((s) => s !== 'AWAITING_VERIFICATION').length).toBeGreaterThan(0);
        expect(await store.getTimeline(request.requestId)).toHaveLength(3);
      });

      it('builds on options.current without losing an event another writer appended since', async () => {
        const request = await create();
        await store.appendEvent(request.requestId, note(2));
        const builtOn: number[] = [];
        const { event } = await store.appendEvent(request.requestId, (current) => (builtOn.push(current.lastSeq), note(3)(current)), { current: request });

        expect(event.seq).toBe(3);
        expect(builtOn.at(-1)).toBe(2);
        expect(verifyChain(request.requestId, await store.getTimeline(request.requestId))).toMatchObject({ ok: true, checked: 3 });
      });

      it('gives up with ConcurrentUpdateError only when every try lost, never writing twice', async () => {
        const request = await create();
        const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.appendEvent(request.requestId, note(i))));
        const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');

        for (const f of failed) expect(f.reason).toBeInstanceOf(ConcurrentUpdateError);
        const timeline = await store.getTimeline(request.requestId);
        expect(timeline).toHaveLength(1 + outcomes.length - failed.length);
        expect(verifyChain(request.requestId, timeline).ok).toBe(true);
      });
    });

    describe('a creation that never finished', () => {
      it('reads as its projection, takes no event, is not repaired, and is the only kind that can be discarded', async () => {
        const input = newRequest();
        const unfinished: ErasureRequest = { ...input, lastSeq: 0, lastHash: '0'.repeat(64), updatedAt: input.receivedAt };
        await plantUnfinished(unfinished);

        expect(await store.getRequest(input.requestId)).toMatchObject({ requestId: input.requestId, lastSeq: 0 });
        await expect(store.appendEvent(input.requestId, note(1))).rejects.toBeInstanceOf(RequestNotFoundError);
        expect(await store.repairProjection(input.requestId)).toMatchObject({ repaired: false, request: { lastSeq: 0 } });
        expect(await store.discardUnfinishedRequest(input.requestId)).toBe(true);
        expect(await store.getRequest(input.requestId)).toBeUndefined();
        expect(await store.discardUnfinishedRequest(input.requestId)).toBe(false);
      });

      it('discarding refuses a request that has events, and an unknown one', async () => {
        const request = await create();

        expect(await store.discardUnfinishedRequest(request.requestId)).toBe(false);
        expect(await store.getRequest(request.requestId)).toEqual(request);
        expect(await store.discardUnfinishedRequest('req-unknown')).toBe(false);
      });
    });

    describe('repairProjection', () => {
      it('leaves a projection at the chain head as it is', async () => {
        const request = await create();
        const { request: head } = await store.appendEvent(request.requestId, note(2));

        expect(await store.repairProjection(request.requestId)).toEqual({ request: head, repaired: false });
      });

      it('refuses an unknown request with RequestNotFoundError', async () => {
        await expect(store.repairProjection('req-unknown')).rejects.toBeInstanceOf(RequestNotFoundError);
      });
    });

    describe('listByStatus', () => {
      /** Six RECEIVED requests over five days (two sharing a time), one that moved on. */
      async function seedListing(): Promise<string[]> {
        const days = ['01', '02', '03', '03', '04', '05'];
        const ids = days.map((day, i) => `req-${day}-${String.fromCharCode(97 + i)}-${randomUUID().slice(0, 6)}`);
        for (const [i, day] of days.entries()) await create({ requestId: ids[i]!, receivedAt: `2026-03-${day}T10:00:00.000Z` });
        const moved = await create({ receivedAt: '2026-03-02T12:00:00.000Z' });
        await store.appendEvent(moved.requestId, move('AWAITING_VERIFICATION'));
        return ids;
      }

      it('lists one status oldest first by receivedAt then id, in pages whose cursor appears only when more follow', async () => {
        const ids = await seedListing();

        expect(await listAll({ status: 'RECEIVED', limit: 4 })).toEqual({ ids, pages: [4, 2] });
        expect(await listAll({ status: 'RECEIVED', limit: 3 })).toEqual({ ids, pages: [3, 3] });
        expect(await listAll({ status: 'RECEIVED', limit: 6 })).toEqual({ ids, pages: [6] });
        expect((await listAll({ status: 'AWAITING_VERIFICATION' })).ids).toHaveLength(1);
        expect(await store.listByStatus({ status: 'COMPLETED' })).toEqual({ items: [] });
      });

      it('lists newest first when descending, page by page', async () => {
        const ids = await seedListing();

        expect(await listAll({ status: 'RECEIVED', limit: 4, descending: true })).toEqual({ ids: [...ids].reverse(), pages: [4, 2] });
      });

      it('keeps to inclusive bounds on receivedAt, `to` also as a day, and answers nothing for from after to', async () => {
        const ids = await seedListing();

        expect((await listAll({ status: 'RECEIVED', from: '2026-03-02T10:00:00.000Z', to: '2026-03-04T10:00:00.000Z', limit: 2 })).ids).toEqual(ids.slice(1, 5));
        expect((await listAll({ status: 'RECEIVED', to: '2026-03-03', limit: 2, descending: true })).ids).toEqual(ids.slice(0, 4).reverse());
        expect((await listAll({ status: 'RECEIVED', from: '2026-03-04' })).ids).toEqual(ids.slice(4));
        expect(await store.listByStatus({ status: 'RECEIVED', from: '2026-03-05', to: '2026-03-01' })).toEqual({ items: [] });
      });

      it('serves at least one item and whole numbers of them, 50 when no limit is asked', async () => {
        const ids = await seedListing();

        expect((await store.listByStatus({ status: 'RECEIVED', limit: 0 })).items.map((r) => r.requestId)).toEqual(ids.slice(0, 1));
        expect((await store.listByStatus({ status: 'RECEIVED', limit: 2.9 })).items).toHaveLength(2);
        expect((await store.listByStatus({ status: 'RECEIVED', limit: Number.NaN })).items).toHaveLength(ids.length);
        for (let i = 0; i < 45; i++) await create({ receivedAt: `2026-03-06T10:00:${String(i).padStart(2, '0')}.000Z` });
        const page = await store.listByStatus({ status: 'RECEIVED' });
        expect(page.items).toHaveLength(50);
        expect(page.cursor).toBeDefined();
      });

      it('moves a request from one status listing to the other with its event', async () => {
        const request = await create();
        await store.appendEvent(request.requestId, move('AWAITING_VERIFICATION'));

        expect((await store.listByStatus({ status: 'RECEIVED' })).items).toEqual([]);
        expect((await store.listByStatus({ status: 'AWAITING_VERIFICATION' })).items.map((r) => r.requestId)).toEqual([request.requestId]);
      });

      it('refuses a cursor it issued for another status, another order or outside the bounds', async () => {
        await seedListing();
        const { cursor } = await store.listByStatus({ status: 'RECEIVED', limit: 2 });
        expect(cursor).toBeDefined();

        await expect(store.listByStatus({ status: 'AWAITING_VERIFICATION', cursor })).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(store.listByStatus({ status: 'RECEIVED', cursor, descending: true })).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(store.listByStatus({ status: 'RECEIVED', cursor, from: '2026-03-04' })).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(store.listByStatus({ status: 'RECEIVED', cursor, to: '2026-03-01T09' })).rejects.toBeInstanceOf(InvalidCursorError);
        expect((await store.listByStatus({ status: 'RECEIVED', cursor, limit: 2 })).items).toHaveLength(2);
      });

      const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
      it.each([
        ['empty', ''],
        ['not base64url', 'not a cursor!'],
        ['base64 of text', b64('hello world')],
        ['base64 of an array', b64('[1,2]')],
        ['base64 of null', b64('null')],
        ['a bare key', b64('2026-03-01T10:00:00.000Z#req-1')],
        ['a DynamoDB key', b64(JSON.stringify({ pk: 'REQ#req-1', sk: 'META' }))],
        ['too long', 'A'.repeat(2000)],
      ])('refuses a garbled cursor (%s) with InvalidCursorError', async (_name, cursor) => {
        await create();
        await expect(store.listByStatus({ status: 'RECEIVED', cursor })).rejects.toBeInstanceOf(InvalidCursorError);
      });
    });

    describe('findBySubjectHash', () => {
      it('finds every request of one subject, newest first, and nothing for another', async () => {
        const hash = subject();
        const older = await create({ subjectHash: hash, receivedAt: '2026-02-01T10:00:00.000Z' });
        const newer = await create({ subjectHash: hash, receivedAt: '2026-03-01T10:00:00.000Z', scopeKey: 'st-1' });
        await store.appendEvent(older.requestId, move('AWAITING_VERIFICATION'));
        await create();

        expect((await store.findBySubjectHash(hash)).map((r) => [r.requestId, r.status])).toEqual([
          [newer.requestId, 'RECEIVED'],
          [older.requestId, 'AWAITING_VERIFICATION'],
        ]);
        expect(await store.findBySubjectHash(subject())).toEqual([]);
      });
    });
  });
}
