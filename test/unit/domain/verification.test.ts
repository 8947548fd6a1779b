import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertTransition, canTransition, nextStatuses } from '../../../functions/domain/lifecycle';
import {
  DEFAULT_VERIFICATION_POLICY,
  afterFailedReadBack,
  afterReadBack,
  describeVerification,
  isReadBackDue,
  readBackWindows,
  selectedForVerification,
  validVerificationPolicy,
  verificationAtCompletion,
  verificationNeedsSubjectId,
  type Verification,
} from '../../../functions/domain/verification';

const policy = { ...DEFAULT_VERIFICATION_POLICY, lagSeconds: 60, maxWaitSeconds: 3600 };
const T = new Date('2026-03-01T12:00:00.000Z');
const later = (s: number) => new Date(T.getTime() + s * 1000);
const pending: Verification = { stage: 'pending', attempt: 2, dueAt: T.toISOString() };
const recheck: Verification = { stage: 'recheck', attempt: 2, dueAt: T.toISOString() };
const found = (sessions: number, botIds: string[] = []) => ({ sessions, botIds, readBackSha256: 'ab'.repeat(32), window: { from: '2026-02-15T12:00:00.000Z', to: '2026-03-01T12:00:00.000Z' } });

describe('read-back outcomes', () => {
  it.each([
    { why: 'no session at the first read-back verifies', current: pending, read: found(0), stage: 'verified' },
    { why: 'no session at the re-check verifies', current: recheck, read: found(0), stage: 'verified' },
    { why: 'sessions at the first read-back only schedule a re-check', current: pending, read: found(3, ['st-b', 'st-a', 'st-a']), stage: 'recheck' },
    { why: 'sessions at the re-check stand as data-found', current: recheck, read: found(2, ['st-a']), stage: 'data-found' },
  ])('$why', ({ current, read, stage }) => {
    const next = afterReadBack(current, read, T, policy);
    expect(next.stage).toBe(stage);
    expect(next.attempt).toBe(2);
    expect(next.sessions).toBe(read.sessions);
    expect(next.botIds).toEqual([...new Set(read.botIds)].sort());
    if (stage === 'recheck') expect(next.dueAt).toBe(later(60).toISOString());
    else expect(next.at).toBe(T.toISOString());
  });

  it.each([
    { why: 'a missing scope ends not-verified at once', failure: 'scope-missing' as const, at: T, expected: 'scope-missing' },
    { why: 'a permanent platform error ends not-verified at once', failure: 'platform-error' as const, at: T, expected: 'platform-error' },
    { why: 'no turn of the budget waits for the next run', failure: 'no-turn' as const, at: later(3599), expected: undefined },
    { why: 'no turn until the longest wait gives up as budget-exhausted', failure: 'no-turn' as const, at: later(3600), expected: 'budget-exhausted' },
    { why: 'an unavailable platform waits for the next run', failure: 'platform-unavailable' as const, at: later(10), expected: undefined },
    { why: 'an unavailable platform past the longest wait is a platform error', failure: 'platform-unavailable' as const, at: later(4000), expected: 'platform-error' },
  ])('$why', ({ failure, at, expected }) => {
    const next = afterFailedReadBack(pending, failure, at, policy);
    if (expected === undefined) expect(next).toBeUndefined();
    else expect(next).toMatchObject({ stage: 'not-verified', reason: expected, attempt: 2 });
  });

  it('describes each outcome in plain words', () => {
    expect(describeVerification(undefined)).toBeUndefined();
    expect(describeVerification(pending)).toBe('verification pending');
    expect(describeVerification({ stage: 'verified', attempt: 1 })).toBe('verified');
    expect(describeVerification({ stage: 'data-found', attempt: 1, sessions: 3, botIds: ['st-a'] })).toBe('data found (3 sessions in 1 bot)');
    expect(describeVerification({ stage: 'not-verified', attempt: 1, reason: 'scope-missing' })).toBe('not verified: scope missing');
  });
});

describe('when a read-back is due and what it keeps', () => {
  it('is due from the completion plus the lag, in the waiting stages only', () => {
    const v = verificationAtCompletion(1, T, policy);
    expect(isReadBackDue(v, later(59))).toBe(false);
    expect(isReadBackDue(v, later(60))).toBe(true);
    expect(isReadBackDue({ ...v, stage: 'verified' }, later(600))).toBe(false);
    expect(isReadBackDue(undefined, later(600))).toBe(false);
  });

  it.each([
    { stage: 'pending', keeps: true },
    { stage: 'recheck', keeps: true },
    { stage: 'data-found', keeps: true },
    { stage: 'verified', keeps: false },
    { stage: 'not-verified', keeps: false },
  ] as const)('keeps the subject id while $stage: $keeps', ({ stage, keeps }) => {
    expect(verificationNeedsSubjectId({ stage, attempt: 1 })).toBe(keeps);
  });

  it('refuses settings out of range', () => {
    expect(() => validVerificationPolicy({ ...policy, lookBackDays: 0 })).toThrow(RangeError);
    expect(() => validVerificationPolicy({ ...policy, sampleShare: 1.5 })).toThrow(RangeError);
    expect(() => validVerificationPolicy({ ...policy, lagSeconds: -1 })).toThrow(RangeError);
    expect(validVerificationPolicy(policy)).toBe(policy);
  });
});

describe('read-back windows', () => {
  it('splits a long look-back into windows of at most 7 days, newest first, ending at the completion', () => {
    expect(readBackWindows('2026-03-01T12:00:00.000Z', 10)).toEqual([
      { from: '2026-02-22T12:00:00.000Z', to: '2026-03-01T12:00:00.000Z' },
      { from: '2026-02-19T12:00:00.000Z', to: '2026-02-22T12:00:00.000Z' },
    ]);
  });

  it('covers the whole look-back without gaps or overlaps, whatever its length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 366 }), (days) => {
        const windows = readBackWindows(T.toISOString(), days);
        expect(windows[0]!.to).toBe(T.toISOString());
        expect(Date.parse(windows.at(-1)!.from)).toBe(T.getTime() - days * 86_400_000);
        for (const [i, w] of windows.entries()) {
          expect(Date.parse(w.to) - Date.parse(w.from)).toBeLessThanOrEqual(7 * 86_400_000);
          expect(Date.parse(w.to)).toBeGreaterThan(Date.parse(w.from));
          if (i > 0) expect(w.to).toBe(windows[i - 1]!.from);
        }
        expect(windows).toHaveLength(Math.ceil(days / 7));
      }),
    );
  });
});

describe('sampling', () => {
  it('always verifies the canary, and every request at share 1, none at share 0', () => {
    expect(selectedForVerification('er-1', 'canary', 0)).toBe(true);
    expect(selectedForVerification('er-1', 'web', 1)).toBe(true);
    expect(selectedForVerification('er-1', 'web', 0)).toBe(false);
  });

  it('chooses the same requests every time, and about the share asked for', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.05, max: 0.95, noNaN: true }), (share) => {
        const ids = Array.from({ length: 2000 }, (_, i) => `er-${i}`);
        const chosen = ids.filter((id) => selectedForVerification(id, 'web', share));
        expect(ids.filter((id) => selectedForVerification(id, 'web', share))).toEqual(chosen);
        expect(Math.abs(chosen.length / ids.length - share)).toBeLessThan(0.06);
        // A larger share keeps every request a smaller one chose.
        for (const id of chosen) expect(selectedForVerification(id, 'ops', Math.min(1, share + 0.04))).toBe(true);
      }),
      { numRuns: 20 },
    );
  });
});

describe('retrying a completed erasure', () => {
  it.each([
    { stage: undefined, legal: false },
    { stage: 'pending', legal: false },
    { stage: 'verified', legal: false },
    { stage: 'not-verified', legal: false },
    { stage: 'data-found', legal: true },
  ])('COMPLETED → QUEUED with verification $stage: $legal', ({ stage, legal }) => {
    const facts = stage ? { verification: { stage } } : {};
    expect(canTransition('COMPLETED', 'QUEUED', facts)).toBe(legal);
    expect(nextStatuses('COMPLETED', facts)).toEqual(legal ? ['QUEUED'] : []);
    if (legal) expect(assertTransition('COMPLETED', 'QUEUED', facts)).toMatchObject({ event: 'RETRY_REQUESTED', newAttempt: true });
    else expect(() => assertTransition('COMPLETED', 'QUEUED', facts)).toThrow('A request in status COMPLETED cannot move to QUEUED');
  });
});
