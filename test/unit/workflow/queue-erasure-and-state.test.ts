/** Queueing an attempt (the one way into QUEUED) and the state machine's input check. */
import { describe, expect, it } from 'vitest';
import { IllegalTransitionError } from '../../../functions/domain/errors';
import type { RequestPatch } from '../../../functions/domain/ports';
import { canResumeKoreJob, queueErasure } from '../../../functions/workflow/queue-erasure';
import { parseWorkflowState } from '../../../functions/workflow/workflow-state';
import { FakeWorkflow, MutableClock, makeRequest } from '../../support/staff-fakes';
import { arrange, NOW } from './task-fixtures';

const retried = async (patch: RequestPatch, to: 'FAILED' | 'TIMED_OUT' = 'FAILED') => {
  const arranged = await arrange('SUBMITTED');
  await arranged.store.advance(arranged.requestId, { type: to === 'FAILED' ? 'ERASURE_FAILED' : 'ERASURE_TIMED_OUT', actor: 'system:workflow', status: to, details: {} }, patch);
  return arranged;
};

describe('queueErasure', () => {
  it('queues a verified request as attempt 1 and starts its execution', async () => {
    const { store } = await arrange('QUEUED');
    const fresh = await store.createRequest({ ...makeRequest({ requestId: 'req-new' }), status: 'RECEIVED' }, { type: 'REQUEST_RECEIVED', at: NOW, actor: 'subject', attempt: 0, status: 'RECEIVED', details: {} });
    await store.advance(fresh.request.requestId, { type: 'IDENTITY_VERIFIED', actor: 'subject', status: 'VERIFIED', details: {} });
    const workflow = new FakeWorkflow();

    const { request, started } = await queueErasure({ store, workflow, clock: new MutableClock(new Date(NOW)) }, 'req-new', 'system:intake', { via: 'test' });

    expect(started).toBe(true);
    expect(request).toMatchObject({ status: 'QUEUED', attempt: 1 });
    expect(workflow.starts).toEqual([{ requestId: 'req-new', attempt: 1 }]);
    expect((await store.getTimeline('req-new')).at(-1)).toMatchObject({ type: 'ERASURE_QUEUED', attempt: 1, actor: 'system:intake', details: { via: 'test', from: 'VERIFIED', resumesKoreJob: false } });
  });

  it.each([
    ['a platform failure: a new DELETE', { failureReason: 'USER_ERASURE_FAILED' }, 'FAILED', false],
    ['a workflow error after the DELETE: the same job', { failureReason: 'Lambda.Unknown' }, 'FAILED', true],
    ['a timed-out attempt: the same job', { failureReason: 'POLL_DEADLINE_PASSED' }, 'TIMED_OUT', true],
  ] as const)('retries %s', async (_case, patch, from, resumes) => {
    const { store, requestId } = await retried(patch, from);

    const { request } = await queueErasure({ store, workflow: new FakeWorkflow(), clock: new MutableClock(new Date(NOW)) }, requestId, 'staff:alice');

    expect(request).toMatchObject({ status: 'QUEUED', attempt: 2 });
    expect(request.koreRequestId).toBe(resumes ? 'eud-7' : undefined);
    expect(request.failureReason).toBeUndefined();
    expect((await store.getTimeline(requestId)).at(-1)!.details).toMatchObject({ from, resumesKoreJob: resumes });
  });

  it.each([
    ['a status the lifecycle does not allow', 'SUBMITTED', undefined],
    ['a status outside what the caller expects', 'FAILED', ['REJECTED'] as const],
  ])('refuses %s, starting nothing', async (_case, status, expectedFrom) => {
    const { store, requestId, since } = status === 'FAILED' ? await retried({ failureReason: 'USER_ERASURE_FAILED' }) : await arrange('SUBMITTED');
    const before = (await since()).length;
    const workflow = new FakeWorkflow();

    await expect(queueErasure({ store, workflow, clock: new MutableClock(new Date(NOW)) }, requestId, 'staff:alice', {}, expectedFrom)).rejects.toBeInstanceOf(IllegalTransitionError);
    expect(await since()).toHaveLength(before);
    expect(workflow.starts).toEqual([]);
  });

  it('leaves the request QUEUED for the sweeper when the execution cannot start', async () => {
    const { store, requestId } = await retried({ failureReason: 'USER_ERASURE_FAILED' });
    const workflow = new FakeWorkflow();
    workflow.failStarts = true;

    await expect(queueErasure({ store, workflow, clock: new MutableClock(new Date(NOW)) }, requestId, 'staff:alice')).rejects.toMatchObject({ name: 'WorkflowStartError' });
    expect(await store.getRequest(requestId)).toMatchObject({ status: 'QUEUED', attempt: 2 });
  });
});

describe('canResumeKoreJob', () => {
  it.each([
    [{ status: 'TIMED_OUT', koreRequestId: 'eud-1' }, true],
    [{ status: 'FAILED', koreRequestId: 'eud-1', failureReason: 'KoreAuthError' }, true],
    [{ status: 'FAILED', koreRequestId: 'eud-1', failureReason: 'USER_ERASURE_FAILED' }, false],
    [{ status: 'FAILED' }, false],
    [{ status: 'REJECTED', koreRequestId: 'eud-1' }, false],
  ] as const)('%j → %s', (fields, expected) => {
    expect(canResumeKoreJob(makeRequest({ requestId: 'r', ...fields }))).toBe(expected);
  });
});

describe('parseWorkflowState', () => {
  it('passes a state with a request id and a positive attempt through', () => {
    const state = { requestId: 'req-1', attempt: 2, koreRequestId: 'eud-1' };
    expect(parseWorkflowState(state)).toBe(state);
  });

  it.each([null, undefined, 'req-1', {}, { requestId: 'req-1' }, { requestId: 1, attempt: 1 }, { requestId: 'req-1', attempt: 0 }, { requestId: 'req-1', attempt: 1.5 }, { requestId: 'req-1', attempt: '1' }])(
    'refuses %j with a TypeError',
    (input) => {
      expect(() => parseWorkflowState(input)).toThrow(TypeError);
    },
  );
});
