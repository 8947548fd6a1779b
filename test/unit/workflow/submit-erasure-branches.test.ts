/**
 * SubmitErasure branch by branch: what each state of the request and each answer of the platform
 * leads to, and what is recorded. (Retries after a dead run: submit-erasure.test.ts; the call
 * budget: call-budget-waits.test.ts; lost answers: lost-answers-and-unknown-statuses.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { KoreAuthError, KoreRefusedError } from '../../../functions/domain/kore';
import { submitErasure, submissionEventsOf } from '../../../functions/workflow/submit-erasure';
import { FakeSnapshots } from '../../support/staff-fakes';
import { arrange, NOW, SUBJECT, taskDeps } from './task-fixtures';

const accepted = async () => ({ koreRequestId: 'eud-new', status: 'in-progress' });
const SNAPSHOT = { version: 'snap-1', takenAt: '2026-03-01T11:00:00.000Z', userCount: 10, identityCount: 1 };

describe('submitErasure', () => {
  it('sends the DELETE for the subject and the scope, records intent and answer, and starts polling', async () => {
    const { store, requestId, since } = await arrange('QUEUED', { scope: { botIds: ['st-1'] } });
    const calls: [string[], string[]][] = [];

    const state = await submitErasure(taskDeps(store, { eraseUsersData: async (u, b) => (calls.push([u, b]), accepted()) }), { requestId, attempt: 1 });

    expect(calls).toEqual([[[SUBJECT], ['st-1']]]);
    expect(state).toEqual({ requestId, attempt: 1, koreRequestId: 'eud-new', poll: { startedAt: NOW, deadline: '2026-03-01T12:10:00.000Z', count: 0, waitSeconds: 10, outcome: 'RUNNING' } });
    const events = await since();
    expect(events.map((e) => [e.type, e.status])).toEqual([
      ['ERASURE_SUBMITTING', 'QUEUED'],
      ['ERASURE_SUBMITTED', 'SUBMITTED'],
    ]);
    expect(events[0]!.details).toMatchObject({ try: 1, botIds: ['st-1'], eligibility: { checked: false, reason: 'NO_SNAPSHOT' } });
    expect(await store.getRequest(requestId)).toMatchObject({ status: 'SUBMITTED', koreRequestId: 'eud-new' });
  });

  it.each([
    ['SUBMITTED', undefined],
    ['IN_PROGRESS', { startedAt: NOW, deadline: NOW, count: 3, waitSeconds: 30, outcome: 'RUNNING' as const }],
  ] as const)('carries on polling, sending nothing, when run again on a %s request', async (status, poll) => {
    const { store, requestId, since } = await arrange(status);

    const state = await submitErasure(taskDeps(store, {}), { requestId, attempt: 1, ...(poll ? { poll } : {}) });

    expect(state).toMatchObject({ requestId, attempt: 1, koreRequestId: 'eud-7', poll: poll ?? { startedAt: NOW, count: 0 } });
    expect(await since()).toEqual([]);
  });

  it('resumes the Kore.ai job a previous attempt started instead of deleting again', async () => {
    const { store, requestId, since } = await arrange('QUEUED', { patch: { koreRequestId: 'eud-old' } });

    const state = await submitErasure(taskDeps(store, {}), { requestId, attempt: 1 });

    expect(state).toMatchObject({ koreRequestId: 'eud-old', poll: { count: 0 } });
    expect((await since()).map((e) => [e.type, e.details])).toEqual([['ERASURE_SUBMITTED', { koreRequestId: 'eud-old', resumed: true }]]);
  });

  it.each([
    ['an unknown request', 'req-missing', 1, 'RequestNotActiveError'],
    ['a superseded attempt', 'req-0001', 2, 'StaleAttemptError'],
  ])('refuses %s, recording nothing', async (_case, id, attempt, name) => {
    const { store, since } = await arrange('QUEUED');

    await expect(submitErasure(taskDeps(store, {}), { requestId: id, attempt })).rejects.toMatchObject({ name });
    expect(await since()).toEqual([]);
  });

  it('refuses a request that is no longer queued (cancelled meanwhile)', async () => {
    const { store, requestId } = await arrange('CANCELLED');

    await expect(submitErasure(taskDeps(store, {}), { requestId, attempt: 1 })).rejects.toMatchObject({ name: 'RequestNotActiveError' });
  });

  it('returns a rejection, sending nothing, when the re-check finds the subject privileged', async () => {
    const { store, requestId, since } = await arrange('QUEUED');
    const { subjectHash } = (await store.getRequest(requestId))!;
    const snapshots = new FakeSnapshots(SNAPSHOT);
    snapshots.identities.set(subjectHash, { subjectHash, accountOwner: false, accountMember: true, ownedBotIds: [], coDeveloperBotIds: ['st-9'] });
    const d = taskDeps(store, { eraseUsersData: () => Promise.reject(new Error('must not be called')) }, { snapshots });

    const state = await submitErasure(d, { requestId, attempt: 1 });

    expect(state).toEqual({ requestId, attempt: 1, rejection: { rule: 'BOT_CO_DEVELOPER', botIds: ['st-9'], source: 'snapshot' } });
    expect(await since()).toEqual([]);
  });

  it('records the eligibility it checked with the intent when the subject is not privileged', async () => {
    const { store, requestId, since } = await arrange('QUEUED');

    await submitErasure(taskDeps(store, { eraseUsersData: accepted }, { snapshots: new FakeSnapshots(SNAPSHOT) }), { requestId, attempt: 1 });

    expect((await since())[0]!.details.eligibility).toEqual({ checked: true, snapshotVersion: 'snap-1', snapshotAgeSeconds: 3600, snapshotFresh: true, eligible: true });
  });

  it('fails as SubjectIdUnavailableError when the plain subject id is gone', async () => {
    const { store, requestId, since } = await arrange('QUEUED', { patch: { subjectCipher: null } });

    await expect(submitErasure(taskDeps(store, {}), { requestId, attempt: 1 })).rejects.toMatchObject({ name: 'SubjectIdUnavailableError' });
    expect(await since()).toEqual([]);
  });

  it('returns a platform rejection when Kore.ai refuses the subject, recording the refusal', async () => {
    const { store, requestId, since } = await arrange('QUEUED');
    const d = taskDeps(store, { eraseUsersData: () => Promise.reject(new KoreRefusedError('Kore.ai refused: bot owner', 400)) });

    const state = await submitErasure(d, { requestId, attempt: 1 });

    expect(state).toEqual({ requestId, attempt: 1, rejection: { rule: 'PLATFORM_RULES', botIds: [], source: 'platform' } });
    expect((await since()).at(-1)).toMatchObject({ type: 'ERASURE_CALL_FAILED', details: { error: 'KoreRefusedError', refused: true, retryable: false, httpStatus: 400 } });
  });

  it('lets an auth failure through after recording it', async () => {
    const { store, requestId, since } = await arrange('QUEUED');
    const d = taskDeps(store, { eraseUsersData: () => Promise.reject(new KoreAuthError('Kore.ai answered 401', 401)) });

    await expect(submitErasure(d, { requestId, attempt: 1 })).rejects.toMatchObject({ name: 'KoreAuthError' });
    expect((await since()).map((e) => e.type)).toEqual(['ERASURE_SUBMITTING', 'ERASURE_CALL_FAILED']);
  });

  it('counts the tries of an attempt in its intents', async () => {
    const { store, requestId, since } = await arrange('QUEUED');
    await store.advance(requestId, { type: 'ERASURE_SUBMITTING', actor: 'system:workflow', status: 'QUEUED', details: { try: 1 } });
    await store.advance(requestId, { type: 'ERASURE_CALL_FAILED', actor: 'system:workflow', status: 'QUEUED', details: { retryable: true } });

    await submitErasure(taskDeps(store, { eraseUsersData: accepted }), { requestId, attempt: 1 });

    expect((await since()).slice(2).map((e) => [e.type, e.details.try])).toEqual([
      ['ERASURE_SUBMITTING', 2],
      ['ERASURE_SUBMITTED', 2],
    ]);
  });
});

describe('submissionEventsOf', () => {
  it('keeps the submission events of one attempt only', async () => {
    const { store, requestId } = await arrange('SUBMITTED');
    await store.advance(requestId, { type: 'STATUS_CHECKED', actor: 'system:workflow', status: 'IN_PROGRESS', details: {} });
    const timeline = await store.getTimeline(requestId);

    expect(submissionEventsOf(timeline, 1).map((e) => e.type)).toEqual(['ERASURE_SUBMITTED']);
    expect(submissionEventsOf(timeline, 2)).toEqual([]);
  });
});
