/**
 * What SubmitErasure and CheckStatus do with the answers the platform's documentation leaves open:
 * a DELETE whose answer is lost after it went out (the platform may have taken the job), and a
 * per-user status word nobody documented.
 */
import { describe, expect, it } from 'vitest';
import { KoreOutcomeUnknownError, KorePermanentError, KoreRetryableError, type KoreEraseStatus, type KorePlatform } from '../../../functions/domain/kore';
import { checkErasureStatus } from '../../../functions/workflow/check-erasure-status';
import { submitErasure } from '../../../functions/workflow/submit-erasure';
import { listForOps } from '../../../functions/staff/list-for-ops';
import { type OpsDeps } from '../../../functions/staff/ops-deps';
import { FakeWorkflow, MutableClock } from '../../support/staff-fakes';
import { arrange, statusAnswer, SUBJECT, taskDeps } from './task-fixtures';

describe('a DELETE whose answer was lost', () => {
  it('fails the attempt as SubmissionOutcomeUnknownError instead of a retryable error, recording that the outcome is unknown', async () => {
    const { store, requestId, since } = await arrange('QUEUED');
    const d = taskDeps(store, { eraseUsersData: async () => Promise.reject(new KoreOutcomeUnknownError('Kore.ai eraseUsersData timed out after the request may have been received')) });

    const error = await submitErasure(d, { requestId, attempt: 1 }).then(() => new Error('resolved'), (e: unknown) => e as Error);

    expect(error.name).toBe('SubmissionOutcomeUnknownError');
    expect(error).not.toBeInstanceOf(KoreRetryableError);
    const failed = (await since()).at(-1)!;
    expect(failed).toMatchObject({ type: 'ERASURE_CALL_FAILED', details: { error: 'KoreOutcomeUnknownError', retryable: false, outcomeUnknown: true } });
  });

  it('never sends the DELETE again when the state machine runs the task once more after the lost answer', async () => {
    const { store, requestId } = await arrange('QUEUED');
    let deletes = 0;
    const d = taskDeps(store, {
      eraseUsersData: async () => {
        deletes += 1;
        if (deletes === 1) throw new KoreOutcomeUnknownError('Kore.ai eraseUsersData failed without an answer (ECONNRESET) after the request may have been received');
        return { koreRequestId: 'eud-9', status: 'in-progress' };
      },
    });

    await submitErasure(d, { requestId, attempt: 1 }).catch(() => undefined);
    const second = await submitErasure(d, { requestId, attempt: 1 }).then(() => new Error('resolved'), (e: unknown) => e as Error);

    expect(deletes).toBe(1);
    expect(second).toMatchObject({ name: 'SubmissionOutcomeUnknownError' });
  });

  // A rate-limit refusal proves the same, and is waited out instead (call-budget-waits.test.ts).
  it('still lets the state machine retry an answer that proves the job was not taken (503), and sends the DELETE again then', async () => {
    const { store, requestId, since } = await arrange('QUEUED');
    let deletes = 0;
    const d = taskDeps(store, {
      eraseUsersData: async () => {
        deletes += 1;
        if (deletes === 1) throw new KoreRetryableError('Kore.ai eraseUsersData answered 503', 503, undefined);
        return { koreRequestId: 'eud-9', status: 'in-progress' };
      },
    });

    const first = await submitErasure(d, { requestId, attempt: 1 }).then(() => new Error('resolved'), (e: unknown) => e as Error);
    const second = await submitErasure(d, { requestId, attempt: 1 });

    expect(first).toBeInstanceOf(KoreRetryableError);
    expect((await since()).find((e) => e.type === 'ERASURE_CALL_FAILED')?.details).toMatchObject({ retryable: true, httpStatus: 503 });
    expect(second.koreRequestId).toBe('eud-9');
    expect(deletes).toBe(2);
  });
});

describe('an unrecognised 4xx from the DELETE', () => {
  it('is recorded with the platform\'s sanitised message and stays a KorePermanentError, not a rejection', async () => {
    const { store, requestId, since } = await arrange('QUEUED');
    const d = taskDeps(store, { eraseUsersData: async () => Promise.reject(new KorePermanentError('Kore.ai eraseUsersData answered 400', 400, 'Invalid input for <email>')) });

    const error = await submitErasure(d, { requestId, attempt: 1 }).then(() => new Error('resolved'), (e: unknown) => e as Error);

    expect(error.name).toBe('KorePermanentError');
    const failed = (await since()).at(-1)!;
    expect(failed.details).toMatchObject({ error: 'KorePermanentError', refused: false, platformMessage: 'Invalid input for <email>', httpStatus: 400 });
    expect(JSON.stringify(failed)).not.toContain(SUBJECT);
  });
});

describe('a status word the desk has never seen', () => {
  it('is recorded verbatim, flags the request for review and keeps polling', async () => {
    const { store, requestId, since } = await arrange('SUBMITTED', { requestId: 'req-0002' });
    const d = taskDeps(store, { getEraseStatus: async () => statusAnswer('QUEUED_FOR_PURGE') });

    const state = await checkErasureStatus(d, { requestId, attempt: 1, koreRequestId: 'eud-7' });

    expect(state.poll?.outcome).toBe('RUNNING');
    const checked = (await since()).at(-1)!;
    expect(checked.details).toMatchObject({ userStatuses: { QUEUED_FOR_PURGE: 1 }, unknownStatuses: ['QUEUED_FOR_PURGE'] });
    expect((await store.getRequest(requestId))?.needsReview).toBe('UNKNOWN_KORE_STATUS');
  });

  it('ends as TIMED_OUT at the deadline, never as success or failure', async () => {
    const { store, requestId } = await arrange('SUBMITTED', { requestId: 'req-0002' });
    const clock = new MutableClock(new Date('2026-03-01T12:00:00.000Z'));
    const d = taskDeps(store, { getEraseStatus: async () => statusAnswer('Done') }, { clock });
    const first = await checkErasureStatus(d, { requestId, attempt: 1, koreRequestId: 'eud-7' });

    clock.set('2026-03-01T12:10:01.000Z');
    const last = await checkErasureStatus(d, first);

    expect(first.poll?.outcome).toBe('RUNNING');
    expect(last.poll?.outcome).toBe('TIMED_OUT');
  });

  it('is lifted once the platform answers known words again', async () => {
    const { store, requestId } = await arrange('SUBMITTED', { requestId: 'req-0002' });
    let word = 'QUEUED_FOR_PURGE';
    const d = taskDeps(store, { getEraseStatus: async () => statusAnswer(word) });
    const state = await checkErasureStatus(d, { requestId, attempt: 1, koreRequestId: 'eud-7' });

    word = 'in-progress';
    await checkErasureStatus(d, state);

    expect((await store.getRequest(requestId))?.needsReview).toBeUndefined();
  });

  it('puts the request on the ops list needs-review, and only it', async () => {
    const { store, requestId } = await arrange('SUBMITTED', { requestId: 'req-0002' });
    await arrange('IN_PROGRESS', { store, requestId: 'req-0003' });
    const d = taskDeps(store, { getEraseStatus: async () => statusAnswer('PENDING_APPROVAL') });
    await checkErasureStatus(d, { requestId, attempt: 1, koreRequestId: 'eud-7' });
    const ops = { store, clock: d.clock, workflow: new FakeWorkflow(), snapshots: d.snapshots } as unknown as OpsDeps;

    const page = await listForOps(ops, 'needs-review');

    expect(page.items.map((r) => r.requestId)).toEqual([requestId]);
  });
});
