/**
 * SubmitErasure and CheckStatus take their turn from the shared Kore.ai call budget: without a
 * turn, or refused by the platform for its rate limit, they answer a wait instead of calling or
 * failing — and a submission waits before its intent is recorded, so the attempt keeps its one DELETE.
 */
import { describe, expect, it } from 'vitest';
import { KoreRetryableError, type KorePlatform } from '../../../functions/domain/kore';
import { checkErasureStatus } from '../../../functions/workflow/check-erasure-status';
import { submitErasure } from '../../../functions/workflow/submit-erasure';
import { arrange, ScriptedBudget, SUBJECT, taskDeps } from './task-fixtures';

const rateLimited = () => new KoreRetryableError('Kore.ai eraseUsersData answered 429: rate limit reached', 429, undefined, { rateLimited: true });

describe('SubmitErasure and the call budget', () => {
  it('answers a wait, sends nothing and records nothing while the budget has no turn for it', async () => {
    const { store, requestId, since } = await arrange('QUEUED');
    let deletes = 0;
    const budget = new ScriptedBudget([12_300]);
    const d = taskDeps(store, { eraseUsersData: async () => ((deletes += 1), { koreRequestId: 'eud-1', status: 'in-progress' }) }, { budget: budget });

    const state = await submitErasure(d, { requestId, attempt: 1 });

    expect(state).toEqual({ requestId, attempt: 1, budgetWait: { waitSeconds: 13, reason: 'budget' } });
    expect(deletes).toBe(0);
    expect(await since()).toEqual([]);
    expect(budget.asked).toEqual(['erase']);
  });

  it('sends the DELETE once the budget grants the turn after the wait', async () => {
    const { store, requestId, since } = await arrange('QUEUED');
    const sent: string[][] = [];
    const d = taskDeps(store, { eraseUsersData: async (userIds) => (sent.push(userIds), { koreRequestId: 'eud-1', status: 'in-progress' }) }, { budget: new ScriptedBudget([5_000, 'grant']) });

    const waiting = await submitErasure(d, { requestId, attempt: 1 });
    const submitted = await submitErasure(d, waiting);

    expect(submitted).toMatchObject({ koreRequestId: 'eud-1' });
    expect(submitted).not.toHaveProperty('budgetWait');
    expect(sent).toEqual([[SUBJECT]]);
    expect((await since()).map((e) => e.type)).toEqual(['ERASURE_SUBMITTING', 'ERASURE_SUBMITTED']);
  });

  it('absorbs a rate-limit refusal by the platform: records it, makes every caller wait, and submits again after the wait', async () => {
    const { store, requestId, since } = await arrange('QUEUED');
    const answers: Array<() => Promise<{ koreRequestId: string; status: string }>> = [() => Promise.reject(rateLimited()), async () => ({ koreRequestId: 'eud-2', status: 'in-progress' })];
    const budget = new ScriptedBudget([]);
    const d = taskDeps(store, { eraseUsersData: () => answers.shift()!() }, { budget: budget });

    const waiting = await submitErasure(d, { requestId, attempt: 1 });
    expect(waiting).toEqual({ requestId, attempt: 1, budgetWait: { waitSeconds: 10, reason: 'rate-limited' } });
    expect(budget.refusals).toEqual([undefined]);

    const submitted = await submitErasure(d, waiting);
    expect(submitted).toMatchObject({ koreRequestId: 'eud-2' });
    const timeline = await since();
    expect(timeline.map((e) => e.type)).toEqual(['ERASURE_SUBMITTING', 'ERASURE_CALL_FAILED', 'ERASURE_SUBMITTING', 'ERASURE_SUBMITTED']);
    expect(timeline[1]!.details).toMatchObject({ rateLimited: true, retryable: true });
  });

  it('takes no turn when the attempt already has its job (nothing is sent)', async () => {
    const { store, requestId } = await arrange('SUBMITTED');
    const budget = new ScriptedBudget([]);

    await submitErasure(taskDeps(store, {}, { budget: budget }), { requestId, attempt: 1 });

    expect(budget.asked).toEqual([]);
  });
});

describe('CheckStatus and the call budget', () => {
  const answer = { koreRequestId: 'eud-7', users: [{ userId: SUBJECT, status: 'SUCCESS' }], rawBody: '{}' };

  it('waits as between two polls, records nothing and asks nothing while the budget has no turn for it', async () => {
    const { store, requestId, since } = await arrange('SUBMITTED');
    let asked = 0;
    const budget = new ScriptedBudget([2_500]);
    const d = taskDeps(store, { getEraseStatus: async () => ((asked += 1), answer) }, { budget: budget });

    const state = await checkErasureStatus(d, { requestId, attempt: 1 });

    expect(state.poll).toMatchObject({ outcome: 'RUNNING', waitSeconds: 3, count: 0 });
    expect(asked).toBe(0);
    expect(await since()).toEqual([]);
    expect(budget.asked).toEqual(['status']);
  });

  it('absorbs a rate-limit refusal of the status call by waiting, with the platform\'s Retry-After when it sent one', async () => {
    const { store, requestId } = await arrange('SUBMITTED');
    const budget = new ScriptedBudget([]);
    const d = taskDeps(store, { getEraseStatus: async () => Promise.reject(new KoreRetryableError('429', 429, 4_000, { rateLimited: true })) }, { budget: budget });

    const state = await checkErasureStatus(d, { requestId, attempt: 1 });

    expect(state.poll).toMatchObject({ outcome: 'RUNNING', waitSeconds: 4 });
    expect(budget.refusals).toEqual([4_000]);
  });

  it('still throws other retryable errors for the state machine to retry', async () => {
    const { store, requestId } = await arrange('SUBMITTED');
    const d = taskDeps(store, { getEraseStatus: async () => Promise.reject(new KoreRetryableError('Kore.ai getEraseStatus answered 503', 503, undefined)) }, { budget: new ScriptedBudget([]) });

    await expect(checkErasureStatus(d, { requestId, attempt: 1 })).rejects.toMatchObject({ name: 'KoreRetryableError' });
  });
});
