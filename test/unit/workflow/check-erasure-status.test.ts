/**
 * CheckStatus branch by branch: which outcome each answer of the platform means, the move to
 * IN_PROGRESS, the deadline, and the requests it refuses to touch. (Budget waits:
 * call-budget-waits.test.ts; unknown status words: lost-answers-and-unknown-statuses.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { KoreRetryableError } from '../../../functions/domain/kore';
import { checkErasureStatus } from '../../../functions/workflow/check-erasure-status';
import { MutableClock } from '../../support/staff-fakes';
import { arrange, NOW, statusAnswer, taskDeps } from './task-fixtures';

const poll = { startedAt: NOW, deadline: '2026-03-01T12:10:00.000Z', count: 2, waitSeconds: 10, outcome: 'RUNNING' as const };

describe('checkErasureStatus', () => {
  it.each([
    // from, user statuses, minutes after the start, outcome, status recorded
    ['SUBMITTED', ['in-progress'], 1, 'RUNNING', 'IN_PROGRESS'],
    ['IN_PROGRESS', ['in-progress'], 1, 'RUNNING', 'IN_PROGRESS'],
    ['SUBMITTED', ['SUCCESS'], 1, 'SUCCESS', 'SUBMITTED'],
    ['IN_PROGRESS', ['SUCCESS', 'success'], 1, 'SUCCESS', 'IN_PROGRESS'],
    ['IN_PROGRESS', ['SUCCESS', 'FAILED'], 1, 'FAILED', 'IN_PROGRESS'],
    ['IN_PROGRESS', ['in-progress'], 10, 'TIMED_OUT', 'IN_PROGRESS'],
    ['IN_PROGRESS', [], 1, 'RUNNING', 'IN_PROGRESS'],
  ] as const)('on a %s request answered %j after %i min: outcome %s, recorded as %s', async (from, statuses, minutes, outcome, recorded) => {
    const { store, requestId, since } = await arrange(from);
    const clock = new MutableClock(new Date(Date.parse(NOW) + minutes * 60_000));
    const asked: string[] = [];

    const state = await checkErasureStatus(taskDeps(store, { getEraseStatus: async (id) => (asked.push(id), statusAnswer(...statuses)) }, { clock }), { requestId, attempt: 1, poll });

    expect(asked).toEqual(['eud-7']);
    expect(state.poll).toMatchObject({ count: 3, outcome, startedAt: NOW, deadline: poll.deadline });
    expect(state.poll!.responseSha256).toMatch(/^[0-9a-f]{64}$/);
    const [event, ...more] = await since();
    expect(more).toEqual([]);
    expect(event).toMatchObject({ type: 'STATUS_CHECKED', status: recorded, details: { koreRequestId: 'eud-7', poll: 3, outcome, responseSha256: state.poll!.responseSha256 } });
  });

  it('waits longer as the job ages, up to the policy maximum', async () => {
    const waits: number[] = [];
    for (const minutes of [0, 2, 8]) {
      const { store, requestId } = await arrange('IN_PROGRESS');
      const clock = new MutableClock(new Date(Date.parse(NOW) + minutes * 60_000));
      const state = await checkErasureStatus(taskDeps(store, { getEraseStatus: async () => statusAnswer('in-progress') }, { clock }), { requestId, attempt: 1, poll });
      waits.push(state.poll!.waitSeconds);
    }

    expect(waits).toEqual([10, 30, 60]);
  });

  it('starts polling itself when the state carries none', async () => {
    const { store, requestId } = await arrange('SUBMITTED');

    const state = await checkErasureStatus(taskDeps(store, { getEraseStatus: async () => statusAnswer('in-progress') }), { requestId, attempt: 1 });

    expect(state.poll).toMatchObject({ startedAt: NOW, deadline: '2026-03-01T12:10:00.000Z', count: 1 });
  });

  it.each([
    ['a queued request (nothing submitted)', 'QUEUED', 1, 'RequestNotActiveError'],
    ['a cancelled request', 'CANCELLED', 1, 'RequestNotActiveError'],
    ['a superseded attempt', 'IN_PROGRESS', 2, 'StaleAttemptError'],
  ] as const)('refuses %s without asking the platform', async (_case, status, attempt, name) => {
    const { store, requestId, since } = await arrange(status);

    await expect(checkErasureStatus(taskDeps(store, { getEraseStatus: () => Promise.reject(new Error('must not be called')) }), { requestId, attempt })).rejects.toMatchObject({ name });
    expect(await since()).toEqual([]);
  });

  it('lets a retryable failure through for the state machine to retry, recording nothing', async () => {
    const { store, requestId, since } = await arrange('IN_PROGRESS');

    await expect(checkErasureStatus(taskDeps(store, { getEraseStatus: () => Promise.reject(new KoreRetryableError('503', 503, undefined)) }), { requestId, attempt: 1, poll })).rejects.toBeInstanceOf(KoreRetryableError);
    expect(await since()).toEqual([]);
  });
});
