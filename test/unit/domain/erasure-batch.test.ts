import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assignBatches,
  batchNumberOf,
  batchPolicy,
  DEFAULT_BATCH_POLICY,
  fillsBatch,
  isBatchClosed,
  WINDOW_CLOCK_TOLERANCE_MS,
  isClaimDead,
  isStatusFresh,
  memberStep,
  type BatchRecord,
} from '../../../functions/domain/erasure-batch';

const T0 = Date.parse('2026-03-10T09:00:00.000Z');
const policy = batchPolicy({ size: 3, gatherSeconds: 2 });

function batch(overrides: Partial<BatchRecord> = {}): BatchRecord {
  return { id: 'b', windowStart: T0, number: 1, botIds: [], members: ['a#1', 'b#1'], state: 'open', round: 1, ...overrides };
}

describe('batch policy', () => {
  it('defaults to batches of 50 users a DELETE with a 2-s gathering window; 1 sends every request alone', () => {
    expect(batchPolicy()).toEqual(DEFAULT_BATCH_POLICY);
    expect(DEFAULT_BATCH_POLICY).toMatchObject({ size: 50, gatherMs: 2000, claimStaleMs: 90_000 });
    expect(batchPolicy({ size: 1 }).size).toBe(1);
  });

  it.each([
    [{ size: 0 }],
    [{ size: 1.5 }],
    [{ size: 1001 }],
    [{ gatherSeconds: 0 }],
    [{ gatherSeconds: 61 }],
  ])('refuses %o', (options) => {
    expect(() => batchPolicy(options)).toThrow(RangeError);
  });

  it.each([
    [1, 50, 1, false],
    [50, 50, 1, true],
    [51, 50, 2, false],
    [3, 1, 3, true],
  ])('puts the %i-th joiner (size %i) in batch %i, filling it: %s', (n, size, number, fills) => {
    expect(batchNumberOf(n, size)).toBe(number);
    expect(fillsBatch(n, size)).toBe(fills);
  });
});

describe('isBatchClosed and isClaimDead', () => {
  it.each([
    ['within its window', T0 + 1999, ['a#1'], false],
    ['at the end of its window', T0 + 2000, ['a#1'], true],
    ['full before its window ends', T0 + 10, ['a#1', 'b#1', 'c#1'], true],
    ['seen from a clock moved back before its window', T0 - 60_000, ['a#1'], true],
    ['seen from a clock a moment behind the one that opened it', T0 - 40, ['a#1'], false],
    ['seen from a clock just past the tolerance behind', T0 - WINDOW_CLOCK_TOLERANCE_MS - 1, ['a#1'], true],
  ])('closes a batch %s: %s', (_, now, members, closed) => {
    expect(isBatchClosed({ windowStart: T0, members }, now, policy)).toBe(closed);
  });

  it.each([
    [T0 + 89_999, false],
    [T0 + 90_000, true],
    [T0 - 90_000, true],
    [T0 - 10_000, false],
  ])('counts a claim taken at T0 dead at %i: %s', (now, dead) => {
    expect(isClaimDead(T0, now, policy)).toBe(dead);
  });
});

describe('memberStep', () => {
  const sent = batch({ state: 'sent', included: ['a#1', 'b#1'], koreRequestId: 'eud-1', acceptedAt: '2026-03-10T09:00:03.000Z', claim: { by: 'a#1', atMs: T0 + 2000 } });
  it.each<[string, BatchRecord | undefined, string, number, ReturnType<typeof memberStep>]>([
    ['an unknown batch: rejoin', undefined, 'a#1', T0, { step: 'rejoin' }],
    ['a batch it is not in: rejoin', batch(), 'z#1', T0, { step: 'rejoin' }],
    ['an open batch in its window: wait for its end', batch(), 'a#1', T0 + 500, { step: 'wait', waitMs: 1500 }],
    ['an open batch past its window: claim', batch(), 'a#1', T0 + 2000, { step: 'claim' }],
    ['an open batch from a clock moved back: claim, never wait for it', batch(), 'a#1', T0 - 3_600_000, { step: 'claim' }],
    ['a batch asked to retry: claim', batch({ state: 'retry' }), 'b#1', T0 + 5000, { step: 'claim' }],
    ['a batch another member claimed: wait two seconds', batch({ state: 'claimed', claim: { by: 'a#1', atMs: T0 + 2000 } }), 'b#1', T0 + 2500, { step: 'wait', waitMs: 2000 }],
    ['its own claim from a run that ended before it sent: claim again', batch({ state: 'claimed', claim: { by: 'a#1', atMs: T0 + 2000 } }), 'a#1', T0 + 2500, { step: 'claim' }],
    ['a claim dead for 90 s that sent nothing: take it over', batch({ state: 'claimed', claim: { by: 'a#1', atMs: T0 } }), 'b#1', T0 + 90_000, { step: 'claim' }],
    ['a batch another member is sending: wait two seconds', batch({ state: 'sending', included: ['a#1', 'b#1'], claim: { by: 'a#1', atMs: T0 } }), 'b#1', T0 + 1000, { step: 'wait', waitMs: 2000 }],
    ['a batch left sending by a dead claimer: lost', batch({ state: 'sending', included: ['a#1', 'b#1'], claim: { by: 'a#1', atMs: T0 } }), 'b#1', T0 + 90_000, { step: 'lost' }],
    ['its own sending batch found by a later run: lost', batch({ state: 'sending', included: ['a#1', 'b#1'], claim: { by: 'a#1', atMs: T0 } }), 'a#1', T0 + 1000, { step: 'lost' }],
    ['a sending batch that left it out: rejoin', batch({ state: 'sending', included: ['a#1'], claim: { by: 'a#1', atMs: T0 } }), 'b#1', T0 + 1000, { step: 'rejoin' }],
    ['a sent batch: its job', sent, 'b#1', T0 + 5000, { step: 'sent', koreRequestId: 'eud-1', acceptedAt: '2026-03-10T09:00:03.000Z' }],
    ['a sent batch that left it out: rejoin', { ...sent, included: ['a#1'] }, 'b#1', T0 + 5000, { step: 'rejoin' }],
    ['a refused batch: refused (then sent alone)', batch({ state: 'refused', included: ['a#1', 'b#1'] }), 'a#1', T0, { step: 'refused' }],
    ['a failed batch: its failure', batch({ state: 'failed', included: ['a#1'], failure: { error: 'KoreAuthError', httpStatus: 401 } }), 'a#1', T0, { step: 'failed', failure: { error: 'KoreAuthError', httpStatus: 401 } }],
    ['a lost batch: lost', batch({ state: 'lost', included: ['a#1', 'b#1'] }), 'b#1', T0, { step: 'lost' }],
  ])('reads %s', (_, record, member, now, expected) => {
    expect(memberStep(record, member, now, policy)).toEqual(expected);
  });

  it('never waits longer than one gathering window, whatever the clock says', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10_000_000, max: 10_000_000 }), fc.constantFrom<BatchRecord['state']>('open', 'claimed', 'sending'), (offset, state) => {
        const step = memberStep(batch({ state, included: ['a#1', 'b#1'], claim: { by: 'b#1', atMs: T0 } }), 'a#1', T0 + offset, policy);
        if (step.step === 'wait') expect(step.waitMs).toBeGreaterThan(0), expect(step.waitMs).toBeLessThanOrEqual(policy.gatherMs);
      }),
    );
  });
});

describe('assignBatches', () => {
  const joins = fc.array(
    fc.record({ scopeKey: fc.constantFrom('*', 'st-1', 'st-1,st-2'), gapMs: fc.integer({ min: 0, max: 3000 }) }),
    { maxLength: 200 },
  );
  const timed = (list: Array<{ scopeKey: string; gapMs: number }>) => {
    let at = T0;
    return list.map(({ scopeKey, gapMs }) => ({ scopeKey, atMs: (at += gapMs) }));
  };

  it('never puts more requests in a batch than its size', () => {
    fc.assert(
      fc.property(joins, fc.integer({ min: 1, max: 7 }), (list, size) => {
        const counts = new Map<string, number>();
        for (const ref of assignBatches(timed(list), { size, gatherMs: 2000 })) {
          const key = `${ref.scopeKey}|${ref.windowStart}|${ref.number}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        for (const n of counts.values()) expect(n).toBeLessThanOrEqual(size);
      }),
    );
  });

  it('lands every request in exactly one batch of its own scope, opened at most one window before it joined', () => {
    fc.assert(
      fc.property(joins, fc.integer({ min: 1, max: 7 }), (list, size) => {
        const input = timed(list);
        const refs = assignBatches(input, { size, gatherMs: 2000 });
        expect(refs).toHaveLength(input.length);
        refs.forEach((ref, i) => {
          expect(ref.scopeKey).toBe(input[i]!.scopeKey);
          expect(input[i]!.atMs - ref.windowStart).toBeGreaterThanOrEqual(0);
          expect(input[i]!.atMs - ref.windowStart).toBeLessThan(2000);
        });
      }),
    );
  });

  it('fills batches in order: a window of n joins has ⌈n / size⌉ batches, all but the last full', () => {
    const refs = assignBatches(Array.from({ length: 7 }, (_, i) => ({ scopeKey: '*', atMs: T0 + i })), { size: 3, gatherMs: 2000 });
    expect(refs.map((r) => r.number)).toEqual([1, 1, 1, 2, 2, 2, 3]);
  });
});

describe('isStatusFresh', () => {
  it.each([
    ['taken after the previous round', T0 + 5000, T0 + 6000, T0 + 4000, true],
    ['taken before the previous round', T0 + 3000, T0 + 6000, T0 + 4000, false],
    ['taken at the previous round', T0 + 4000, T0 + 6000, T0 + 4000, false],
    ['from a clock moved back', T0 + 60_000, T0 + 6000, T0 + 4000, false],
  ])('serves a member an answer %s: %s', (_, checkedAt, now, since, fresh) => {
    expect(isStatusFresh(checkedAt, now, since)).toBe(fresh);
  });
});
