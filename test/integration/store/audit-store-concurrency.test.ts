import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditStore } from '../../../functions/adapters/dynamo/audit-store';
import { verifyChain } from '../../../functions/domain/audit-chain';
import { ConcurrentUpdateError, IllegalTransitionError } from '../../../functions/domain/errors';
import type { ErasureRequest } from '../../../functions/domain/model';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';
import { gate, interceptingClient, isEventPut, isMetaUpdate, newRequest, note, receivedEvent, transition } from './fixtures';

let db: DynaliteHandle;
const newStore = (options: { client?: DynaliteHandle['client']; maxAppendRetries?: number } = {}) =>
  new DynamoAuditStore({ client: options.client ?? db.client, tableName: db.tableName, maxAppendRetries: options.maxAppendRetries });

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

async function createdRequest(path: Parameters<typeof transition>[0][] = []): Promise<string> {
  const store = newStore();
  const input = newRequest();
  await store.createRequest(input, receivedEvent(input));
  for (const to of path) await store.appendEvent(input.requestId, transition(to));
  return input.requestId;
}

describe('DynamoAuditStore under concurrent writers', () => {
  it.each([{ writers: 2 }, { writers: 10 }])('lands every event of $writers concurrent appenders on consecutive sequence numbers', async ({ writers }) => {
    const requestId = await createdRequest();

    const results = await Promise.all(Array.from({ length: writers }, (_, i) => newStore().appendEvent(requestId, note({ writer: i }))));

    const timeline = await newStore().getTimeline(requestId);
    expect(timeline.map((e) => e.seq)).toEqual(Array.from({ length: writers + 1 }, (_, i) => i + 1));
    expect(timeline.slice(1).map((e) => e.details.writer).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: writers }, (_, i) => i));
    expect(new Set(results.map((r) => r.event.seq)).size).toBe(writers);
    expect(verifyChain(requestId, timeline).ok).toBe(true);
    expect(await newStore().getRequest(requestId)).toMatchObject({ lastSeq: writers + 1, lastHash: timeline.at(-1)!.hash });
  });

  it('lets exactly one of two simultaneous retries of a failed request through', async () => {
    const requestId = await createdRequest(['VERIFIED', 'QUEUED', 'FAILED']);

    const outcomes = await Promise.allSettled([
      newStore().appendEvent(requestId, transition('QUEUED', { actor: 'staff:alice' })),
      newStore().appendEvent(requestId, transition('QUEUED', { actor: 'staff:bob' })),
    ]);

    const fulfilled = outcomes.filter((o) => o.status === 'fulfilled');
    const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toBeInstanceOf(IllegalTransitionError);
    expect(rejected[0]!.reason).toMatchObject({ from: 'QUEUED', to: 'QUEUED' });
    const timeline = await newStore().getTimeline(requestId);
    expect(timeline.filter((e) => e.type === 'RETRY_REQUESTED')).toHaveLength(1);
    expect(await newStore().getRequest(requestId)).toMatchObject({ status: 'QUEUED', attempt: 2, lastSeq: 5 });
    expect(verifyChain(requestId, timeline).ok).toBe(true);
  });

  it('calls build again with the fresh request after losing the race for a sequence number', async () => {
    const requestId = await createdRequest();
    let competitorDone = false;
    const racing = newStore({
      client: interceptingClient(db.client, async (command) => {
        if (isEventPut(command) && !competitorDone) {
          competitorDone = true;
          await newStore().appendEvent(requestId, transition('AWAITING_VERIFICATION'));
        }
      }),
    });
    const seen: ErasureRequest[] = [];

    const result = await racing.appendEvent(requestId, (current) => {
      seen.push(current);
      return note({ by: 'racer' })(current);
    });

    expect(seen.map((r) => [r.status, r.lastSeq])).toEqual([
      ['RECEIVED', 1],
      ['AWAITING_VERIFICATION', 2],
    ]);
    expect(result.event).toMatchObject({ seq: 3, status: 'AWAITING_VERIFICATION' });
    expect(verifyChain(requestId, await newStore().getTimeline(requestId)).ok).toBe(true);
  });

  it('gives up with ConcurrentUpdateError when every retry loses', async () => {
    const requestId = await createdRequest();
    const loser = newStore({
      maxAppendRetries: 2,
      client: interceptingClient(db.client, async (command) => {
        if (isEventPut(command)) await newStore().appendEvent(requestId, note({ by: 'winner' }));
      }),
    });

    await expect(loser.appendEvent(requestId, note({ by: 'loser' }))).rejects.toBeInstanceOf(ConcurrentUpdateError);

    const timeline = await newStore().getTimeline(requestId);
    expect(timeline.map((e) => e.details.by)).toEqual([undefined, 'winner', 'winner', 'winner']);
    expect(verifyChain(requestId, timeline).ok).toBe(true);
  });

  it('never rolls the projection back when a slower writer updates it last', async () => {
    const requestId = await createdRequest(['VERIFIED', 'QUEUED']);
    const held = gate();
    const reachedUpdate = gate();
    const slow = newStore({
      client: interceptingClient(db.client, async (command) => {
        if (isMetaUpdate(command)) {
          reachedUpdate.open();
          await held.opened;
        }
      }),
    });

    const slowAppend = slow.appendEvent(requestId, transition('SUBMITTED', { patch: { koreRequestId: 'eud-slow' } }));
    await reachedUpdate.opened;
    const fast = await newStore().appendEvent(requestId, transition('IN_PROGRESS'));
    held.open();
    const slowResult = await slowAppend;

    expect(slowResult.event.seq).toBe(4);
    expect(fast.event.seq).toBe(5);
    // The fast writer replayed the slow writer's patch, so nothing of it is lost either.
    expect(await newStore().getRequest(requestId)).toMatchObject({ status: 'IN_PROGRESS', lastSeq: 5, koreRequestId: 'eud-slow', lastHash: fast.event.hash });
  });

  it('keeps a verifiable chain and an up-to-date projection for any mix of concurrent bursts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }), async (bursts) => {
        const requestId = await createdRequest();
        for (const size of bursts) {
          await Promise.all(Array.from({ length: size }, (_, i) => newStore().appendEvent(requestId, note({ i }))));
        }
        const timeline = await newStore().getTimeline(requestId);
        const total = 1 + bursts.reduce((a, b) => a + b, 0);
        expect(timeline).toHaveLength(total);
        expect(verifyChain(requestId, timeline).ok).toBe(true);
        expect(await newStore().getRequest(requestId)).toMatchObject({ lastSeq: total, lastHash: timeline.at(-1)!.hash });
      }),
      { numRuns: 6 },
    );
  });
});
