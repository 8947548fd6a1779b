import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoErasureBatchStore } from '../../../functions/adapters/dynamo/erasure-batch-store';
import { DynamoSharedJobStatus } from '../../../functions/adapters/dynamo/shared-job-status-store';
import { batchPolicy, memberStep, type ErasureBatchPolicy } from '../../../functions/domain/erasure-batch';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';

let db: DynaliteHandle;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

const T0 = Date.parse('2026-03-10T09:00:00.000Z');

async function storesAt(at: { ms: number }, policy: ErasureBatchPolicy = batchPolicy({ size: 5, gatherSeconds: 2 })) {
  const tableName = await db.createTable();
  const common = { client: db.client, tableName, policy, clock: { now: () => new Date(at.ms) } };
  return { batches: new DynamoErasureBatchStore(common), jobs: new DynamoSharedJobStatus(common), policy };
}

describe('DynamoErasureBatchStore', () => {
  it('puts 12 concurrent joiners of one scope and window into batches of at most 5, each joiner in exactly one', async () => {
    const at = { ms: T0 + 300 };
    const { batches } = await storesAt(at);

    const joined = await Promise.all(Array.from({ length: 12 }, (_, i) => batches.join('*', [], `req-${i}#1`)));

    const byBatch = new Map<string, string[]>();
    for (const j of joined) byBatch.set(j!.batch.id, (await batches.get(j!.batch.id))!.members);
    expect([...byBatch.values()].map((m) => m.length).sort()).toEqual([2, 5, 5]);
    expect([...byBatch.values()].flat().sort()).toEqual(Array.from({ length: 12 }, (_, i) => `req-${i}#1`).sort());
    expect(joined.filter((j) => j!.fills)).toHaveLength(2);
  });

  it('counts a joiner whose clock reads a moment before the window another just opened into that window', async () => {
    const tableName = await db.createTable();
    const policy = batchPolicy({ size: 5, gatherSeconds: 2 });
    const storeAt = (ms: number) => new DynamoErasureBatchStore({ client: db.client, tableName, policy, clock: { now: () => new Date(ms) } });
    const opener = await storeAt(T0 + 300).join('*', [], 'a#1');
    // Read its clock 40 ms earlier, and wrote after the opener.
    const behind = await storeAt(T0 + 260).join('*', [], 'b#1');

    expect(behind!.batch.id).toBe(opener!.batch.id);
    expect(behind!.batch.members).toEqual(['a#1', 'b#1']);
    expect(memberStep(behind!.batch, 'b#1', T0 + 260, policy)).toMatchObject({ step: 'wait' });
    // A clock moved back by a minute opens a window of its own, never one to wait for.
    const movedBack = await storeAt(T0 - 60_000).join('*', [], 'c#1');
    expect(movedBack!.batch.id).not.toBe(opener!.batch.id);
  });

  it('keeps scopes and windows apart', async () => {
    const at = { ms: T0 + 300 };
    const { batches } = await storesAt(at);
    const all = await batches.join('*', [], 'a#1');
    const some = await batches.join('st-1', ['st-1'], 'b#1');
    at.ms += 2000;
    const later = await batches.join('*', [], 'c#1');

    expect(new Set([all!.batch.id, some!.batch.id, later!.batch.id]).size).toBe(3);
    expect(some!.batch.botIds).toEqual(['st-1']);
  });

  it('lets exactly one of several members claim a closed batch, and sends a joiner that comes after the claim to a later batch', async () => {
    const at = { ms: T0 + 300 };
    const { batches } = await storesAt(at);
    const first = await batches.join('*', [], 'a#1');
    await batches.join('*', [], 'b#1');
    at.ms += 2000;

    const claims = await Promise.all(['a#1', 'b#1', 'a#1', 'b#1'].map((m) => batches.claim(first!.batch.id, m)));
    const winners = claims.filter((c) => c !== undefined);
    // A member's own claim may be claimed again (a run that ended before it sent), so the winner can appear twice.
    expect(new Set(winners.map((c) => c!.claim!.by)).size).toBe(1);

    at.ms = T0 + 300; // the clock moved back into the window: the batch stays claimed
    const late = await batches.join('*', [], 'c#1');
    expect(late!.batch.id).not.toBe(first!.batch.id);
  });

  it('lets a member take over a claim dead for 90 s that sent nothing, never one that is sending', async () => {
    const at = { ms: T0 + 300 };
    const { batches, policy } = await storesAt(at);
    const { batch } = (await batches.join('*', [], 'a#1'))!;
    await batches.join('*', [], 'b#1');
    at.ms += 2000;
    expect(await batches.claim(batch.id, 'a#1')).toBeDefined();

    at.ms += 30_000;
    expect(await batches.claim(batch.id, 'b#1')).toBeUndefined();
    at.ms += 60_000;
    const taken = await batches.claim(batch.id, 'b#1');
    expect(taken?.claim?.by).toBe('b#1');

    expect(await batches.markSending(batch.id, 'a#1', ['a#1'])).toBe(false);
    expect(await batches.markSending(batch.id, 'b#1', ['a#1', 'b#1'])).toBe(true);
    at.ms += 120_000;
    expect(await batches.claim(batch.id, 'a#1')).toBeUndefined();
    // A dead sender's batch is lost for every member it included.
    expect(memberStep(await batches.get(batch.id), 'a#1', at.ms, policy)).toEqual({ step: 'lost' });
    expect(await batches.markOutcome(batch.id, 'a#1', { state: 'lost' })).toBe(true);
    expect((await batches.get(batch.id))!.state).toBe('lost');
  });

  it('records the job of a sent batch for its members, and only the claimer records it', async () => {
    const at = { ms: T0 + 300 };
    const { batches, policy } = await storesAt(at);
    const { batch } = (await batches.join('*', [], 'a#1'))!;
    await batches.join('*', [], 'b#1');
    at.ms += 2000;
    await batches.claim(batch.id, 'a#1');
    await batches.markSending(batch.id, 'a#1', ['a#1', 'b#1']);

    expect(await batches.markOutcome(batch.id, 'b#1', { state: 'sent', koreRequestId: 'eud-1', acceptedAt: new Date(at.ms).toISOString() })).toBe(false);
    expect(await batches.markOutcome(batch.id, 'a#1', { state: 'sent', koreRequestId: 'eud-1', acceptedAt: new Date(at.ms).toISOString() })).toBe(true);
    expect(memberStep(await batches.get(batch.id), 'b#1', at.ms, policy)).toMatchObject({ step: 'sent', koreRequestId: 'eud-1' });
  });

  it('opens a batch asked to retry to whoever claims it next, members kept, in its next send round', async () => {
    const at = { ms: T0 + 300 };
    const { batches } = await storesAt(at);
    const { batch } = (await batches.join('*', [], 'a#1'))!;
    await batches.join('*', [], 'b#1');
    at.ms += 2000;
    await batches.claim(batch.id, 'a#1');
    await batches.markSending(batch.id, 'a#1', ['a#1', 'b#1']);
    expect(batch.round).toBe(1);
    await batches.markOutcome(batch.id, 'a#1', { state: 'retry' });

    const again = await batches.claim(batch.id, 'b#1');
    expect(again).toMatchObject({ state: 'claimed', members: ['a#1', 'b#1'], claim: { by: 'b#1' }, round: 2 });
    expect(again!.included).toBeUndefined();
    await batches.markSending(batch.id, 'b#1', ['a#1', 'b#1']);
    await batches.markOutcome(batch.id, 'b#1', { state: 'retry' });
    expect((await batches.get(batch.id))!.round).toBe(3);
  });
});

describe('DynamoSharedJobStatus', () => {
  it('lets one member at a time check a job, shares the answer and frees the check', async () => {
    const at = { ms: T0 };
    const { jobs } = await storesAt(at);

    const claims = await Promise.all(['a#1', 'b#1', 'c#1'].map((m) => jobs.claimCheck('eud-9', m)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    const holder = ['a#1', 'b#1', 'c#1'][claims.indexOf(true)]!;
    await jobs.publish('eud-9', { checkedAtMs: at.ms, statuses: { h1: 'SUCCESS', h2: 'in-progress' }, responseSha256: 'abc', users: 2 });

    expect(await jobs.read('eud-9')).toEqual({ checkedAtMs: at.ms, statuses: { h1: 'SUCCESS', h2: 'in-progress' }, responseSha256: 'abc', users: 2 });
    expect(await jobs.claimCheck('eud-9', holder === 'a#1' ? 'b#1' : 'a#1')).toBe(true);
  });

  it('lets another member take a check held past its 20 s, or one from a clock moved back', async () => {
    const at = { ms: T0 };
    const { jobs } = await storesAt(at);
    expect(await jobs.claimCheck('eud-9', 'a#1')).toBe(true);
    at.ms += 10_000;
    expect(await jobs.claimCheck('eud-9', 'b#1')).toBe(false);
    at.ms += 10_000;
    expect(await jobs.claimCheck('eud-9', 'b#1')).toBe(true);

    at.ms -= 60_000;
    expect(await jobs.claimCheck('eud-9', 'c#1')).toBe(true);
    await jobs.release('eud-9', 'c#1');
    expect(await jobs.claimCheck('eud-9', 'a#1')).toBe(true);
  });
});
