/**
 * RecordOutcome: the one place an attempt ends. Each outcome's status, reason and notice; the end
 * of life of a request that ended for good; and the runs that must record nothing.
 */
import { describe, expect, it } from 'vitest';
import type { RecordOutcomeInput } from '../../../functions/workflow/workflow-state';
import { recordOutcome, rejectionFromCause } from '../../../functions/workflow/record-outcome';
import { arrange, NOW, RecordingClaims, RecordingNotices, SUBJECT, taskDeps } from './task-fixtures';

const poll = { startedAt: NOW, deadline: NOW, count: 4, waitSeconds: 10, outcome: 'SUCCESS' as const, responseSha256: 'ab'.repeat(32) };

describe('recordOutcome', () => {
  it.each([
    ['COMPLETED', 'COMPLETED', 'ERASURE_COMPLETED', undefined, 'completed'],
    ['FAILED', 'FAILED', 'ERASURE_FAILED', 'USER_ERASURE_FAILED', 'failed-needs-staff'],
    ['TIMED_OUT', 'TIMED_OUT', 'ERASURE_TIMED_OUT', 'POLL_DEADLINE_PASSED', 'failed-needs-staff'],
    ['ERROR', 'FAILED', 'ERASURE_FAILED', 'KoreAuthError', 'failed-needs-staff'],
  ] as const)('records %s as %s (%s), with its reason, and tells the subject', async (outcome, status, type, reason, kind) => {
    const { store, requestId, since } = await arrange('IN_PROGRESS');
    const notices = new RecordingNotices();
    const input: RecordOutcomeInput = { requestId, attempt: 1, outcome, state: { requestId, attempt: 1, poll, ...(outcome === 'ERROR' ? { error: { Error: 'KoreAuthError' } } : {}) } };

    expect(await recordOutcome(taskDeps(store, {}, { notices }), input)).toEqual({ recorded: true, status });

    const [event] = await since();
    expect(event).toMatchObject({ type, status, details: { koreRequestId: 'eud-7', polls: 4, finalStatusSha256: poll.responseSha256, ...(reason ? { reason } : {}) } });
    const request = (await store.getRequest(requestId))!;
    expect(request.failureReason).toBe(reason);
    expect(notices.sent).toEqual([{ requestId, status, subjectId: SUBJECT, kind }]);
  });

  it('ends a completed request for good: completion time, subject id dropped, claim released', async () => {
    const { store, requestId, since } = await arrange('IN_PROGRESS');
    const claims = new RecordingClaims();

    await recordOutcome(taskDeps(store, {}, { claims }), { requestId, attempt: 1, outcome: 'COMPLETED', state: { requestId, attempt: 1 } });

    expect((await since()).map((e) => e.type)).toEqual(['ERASURE_COMPLETED', 'SUBJECT_ID_DROPPED']);
    const request = (await store.getRequest(requestId))!;
    expect(request).toMatchObject({ status: 'COMPLETED', completedAt: NOW });
    expect(request.subjectCipher).toBeUndefined();
    expect(claims.released).toEqual([requestId]);
  });

  it('keeps the subject id of a failed request, for a retry', async () => {
    const { store, requestId } = await arrange('IN_PROGRESS');
    const claims = new RecordingClaims();

    await recordOutcome(taskDeps(store, {}, { claims }), { requestId, attempt: 1, outcome: 'FAILED', state: { requestId, attempt: 1 } });

    expect((await store.getRequest(requestId))!.subjectCipher).toBeDefined();
    expect(claims.released).toEqual([]);
  });

  it.each([
    ['the rejection SubmitErasure returned', { rejection: { rule: 'BOT_OWNER', botIds: ['st-1'], source: 'snapshot' as const } }, { rule: 'BOT_OWNER', botIds: ['st-1'], source: 'snapshot' }],
    ['a platform refusal without details', {}, { rule: 'PLATFORM_RULES', botIds: [], source: 'platform' }],
  ])('records a rejection from %s', async (_case, extra, rejection) => {
    const { store, requestId, since } = await arrange('QUEUED');
    const notices = new RecordingNotices();

    await recordOutcome(taskDeps(store, {}, { notices }), { requestId, attempt: 1, outcome: 'REJECTED', state: { requestId, attempt: 1, ...extra } });

    expect((await since())[0]).toMatchObject({ type: 'REQUEST_REJECTED', status: 'REJECTED', details: rejection });
    expect((await store.getRequest(requestId))!.rejection).toEqual(rejection);
    expect(notices.sent.map((n) => n.kind)).toEqual(['rejected']);
  });

  it.each([
    ['an unknown request', 'req-missing', 1, 'COMPLETED', undefined],
    ['a superseded attempt', 'req-0001', 2, 'COMPLETED', undefined],
    ['a stale-attempt error', 'req-0001', 1, 'ERROR', 'StaleAttemptError'],
    ['a request-not-active error', 'req-0001', 1, 'ERROR', 'RequestNotActiveError'],
  ] as const)('records nothing for %s', async (_case, id, attempt, outcome, error) => {
    const { store, since } = await arrange('IN_PROGRESS');
    const notices = new RecordingNotices();

    const result = await recordOutcome(taskDeps(store, {}, { notices }), { requestId: id, attempt, outcome, state: { requestId: id, attempt, ...(error ? { error: { Error: error } } : {}) } });

    expect(result.recorded).toBe(false);
    expect(await since()).toEqual([]);
    expect(notices.sent).toEqual([]);
  });

  it('records nothing over a request that has ended otherwise (cancelled by ops)', async () => {
    const { store, requestId, since } = await arrange('CANCELLED');

    expect(await recordOutcome(taskDeps(store, {}), { requestId, attempt: 1, outcome: 'FAILED', state: { requestId, attempt: 1 } })).toEqual({ recorded: false, status: 'CANCELLED' });
    expect(await since()).toEqual([]);
  });

  it('run twice, records the outcome once and only finishes what the first run left', async () => {
    const { store, requestId, since } = await arrange('IN_PROGRESS');
    const notices = new RecordingNotices();
    const d = taskDeps(store, {}, { notices });
    const input: RecordOutcomeInput = { requestId, attempt: 1, outcome: 'COMPLETED', state: { requestId, attempt: 1 } };

    await recordOutcome(d, input);
    expect(await recordOutcome(d, input)).toEqual({ recorded: true, status: 'COMPLETED' });

    expect((await since()).map((e) => e.type)).toEqual(['ERASURE_COMPLETED', 'SUBJECT_ID_DROPPED']);
    expect(notices.sent).toHaveLength(1);
  });
});

describe('rejectionFromCause', () => {
  const wrapped = (inner: unknown) => JSON.stringify({ errorType: 'IneligibleSubjectError', errorMessage: JSON.stringify(inner) });
  it.each([
    ['Lambda-wrapped cause', { Error: 'IneligibleSubjectError', Cause: wrapped({ rule: 'ACCOUNT_OWNER', botIds: ['st-1'] }) }, { rule: 'ACCOUNT_OWNER', botIds: ['st-1'], source: 'snapshot' }],
    ['bare cause', { Error: 'IneligibleSubjectError', Cause: JSON.stringify({ rule: 'BOT_OWNER' }) }, { rule: 'BOT_OWNER', botIds: [], source: 'snapshot' }],
    ['garbled cause', { Error: 'IneligibleSubjectError', Cause: '{not json' }, { rule: 'PLATFORM_RULES', botIds: [], source: 'platform' }],
    ['another error', { Error: 'KoreRefusedError', Cause: wrapped({ rule: 'ACCOUNT_OWNER' }) }, { rule: 'PLATFORM_RULES', botIds: [], source: 'platform' }],
    ['no error', undefined, { rule: 'PLATFORM_RULES', botIds: [], source: 'platform' }],
  ])('reads a %s', (_case, error, rejection) => {
    expect(rejectionFromCause(error)).toEqual(rejection);
  });
});
