/**
 * SubmitErasure under the state machine's retries: a run that died (Lambda timeout, crash) after
 * recording its intent must never lead to a second DELETE, which is what makes retrying
 * `Sandbox.Timedout`/`Lambda.Unknown` safe; and a Retry-After is waited out only as long as the
 * stack's Lambda timeout allows for.
 */
import { describe, expect, it } from 'vitest';
import { KoreRetryableError, type KoreEraseAccepted, type KorePlatform } from '../../../functions/domain/kore';
import { submitErasure } from '../../../functions/workflow/submit-erasure';
import { MAX_INLINE_RETRY_AFTER_MS } from '../../../functions/workflow/task-deps';
import { arrange, taskDeps } from './task-fixtures';

describe('submitErasure retried after its Lambda died', () => {
  it('sends no second DELETE when a run died after recording its intent: the attempt fails as outcome unknown', async () => {
    const { store, requestId, since } = await arrange('QUEUED');
    let deletes = 0;
    // The first run records ERASURE_SUBMITTING, sends the DELETE and never returns (the Lambda times out).
    const hanging = taskDeps(store, {
      eraseUsersData: () => {
        deletes += 1;
        return new Promise<KoreEraseAccepted>(() => undefined);
      },
    });
    void submitErasure(hanging, { requestId, attempt: 1 });
    await expect.poll(async () => (await since()).map((e) => e.type)).toEqual(['ERASURE_SUBMITTING']);

    const retry = taskDeps(store, {
      eraseUsersData: async () => {
        deletes += 1;
        return { koreRequestId: 'eud-2', status: 'in-progress' };
      },
    });

    await expect(submitErasure(retry, { requestId, attempt: 1 })).rejects.toMatchObject({ name: 'SubmissionOutcomeUnknownError' });
    expect(deletes).toBe(1);
  });

  it('sends the DELETE when the run that died had not recorded its intent (so had sent nothing)', async () => {
    const { store, requestId } = await arrange('QUEUED');
    const sent: string[][] = [];
    const retry = taskDeps(store, {
      eraseUsersData: async (userIds) => {
        sent.push(userIds);
        return { koreRequestId: 'eud-1', status: 'in-progress' };
      },
    });

    const state = await submitErasure(retry, { requestId, attempt: 1 });

    expect(state.koreRequestId).toBe('eud-1');
    expect(sent).toEqual([['alice@example.com']]);
  });
});

describe('submitErasure: two runs of one attempt side by side', () => {
  it('sends one DELETE when a run checked the timeline before the other recorded its intent', async () => {
    const { store, requestId, since } = await arrange('QUEUED');
    let deletes = 0;
    // Run B's DELETE is under way (intent recorded, no answer yet) when run A goes on.
    let answerB!: (accepted: KoreEraseAccepted) => void;
    const kore = {
      eraseUsersData: () => {
        deletes += 1;
        return deletes === 1 ? new Promise<KoreEraseAccepted>((resolve) => (answerB = resolve)) : Promise.resolve({ koreRequestId: 'eud-second', status: 'in-progress' });
      },
    };
    // Run A reads the timeline (no intent yet), then stalls until B has recorded its intent.
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    const slowGetTimeline = async (id: string) => {
      const timeline = await store.getTimeline(id);
      await stalled;
      return timeline;
    };
    const slowReader = new Proxy(store, {
      get: (target, property) => {
        if (property === 'getTimeline') return slowGetTimeline;
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const runA = submitErasure({ ...taskDeps(store, kore), store: slowReader }, { requestId, attempt: 1 });
    const runB = submitErasure(taskDeps(store, kore), { requestId, attempt: 1 });
    await expect.poll(async () => (await since()).map((e) => e.type)).toEqual(['ERASURE_SUBMITTING']);
    release();

    // A finds the timeline moved, checks again and sees B's intent: it sends nothing.
    await expect(runA).rejects.toMatchObject({ name: 'SubmissionOutcomeUnknownError' });
    answerB({ koreRequestId: 'eud-first', status: 'in-progress' });
    expect((await runB).koreRequestId).toBe('eud-first');
    expect(deletes).toBe(1);
    expect((await since()).map((e) => e.type)).toEqual(['ERASURE_SUBMITTING', 'ERASURE_SUBMITTED']);
  });
});

describe('submitErasure answered after its attempt ended', () => {
  it('records nothing when the DELETE answer comes after a retry failed the attempt as outcome unknown', async () => {
    const { store, requestId, since } = await arrange('QUEUED');
    // The first run sends the DELETE and outlives its timeout; its answer comes late.
    let answer!: (accepted: KoreEraseAccepted) => void;
    const slow = taskDeps(store, { eraseUsersData: () => new Promise<KoreEraseAccepted>((resolve) => (answer = resolve)) });
    const late = submitErasure(slow, { requestId, attempt: 1 });
    await expect.poll(async () => (await since()).map((e) => e.type)).toEqual(['ERASURE_SUBMITTING']);
    // Meanwhile the retry found the intent unanswered and the attempt was recorded FAILED.
    await expect(submitErasure(taskDeps(store, {}), { requestId, attempt: 1 })).rejects.toMatchObject({ name: 'SubmissionOutcomeUnknownError' });
    await store.appendEvent(requestId, (current) => ({
      event: { type: 'ERASURE_FAILED', at: '2026-03-01T12:01:00.000Z', actor: 'system:workflow', attempt: current.attempt, status: 'FAILED', details: { reason: 'SubmissionOutcomeUnknownError' } },
    }));

    answer({ koreRequestId: 'eud-late', status: 'in-progress' });

    await expect(late).rejects.toMatchObject({ name: 'RequestNotActiveError' });
    expect((await since()).map((e) => e.type)).toEqual(['ERASURE_SUBMITTING', 'ERASURE_FAILED']);
    expect((await store.getRequest(requestId))?.status).toBe('FAILED');
  });
});

describe('submitErasure and Retry-After', () => {
  it.each([
    [MAX_INLINE_RETRY_AFTER_MS, [MAX_INLINE_RETRY_AFTER_MS]],
    [MAX_INLINE_RETRY_AFTER_MS + 1, []],
  ])('waits out a Retry-After of %i ms only up to the limit the Lambda timeout covers', async (retryAfterMs, waited) => {
    const { store, requestId } = await arrange('QUEUED');
    const sleeps: number[] = [];
    const throttled = taskDeps(
      store,
      {
        eraseUsersData: async () => {
          throw new KoreRetryableError('Kore.ai eraseUsersData answered 429', 429, retryAfterMs);
        },
      },
      { sleep: async (ms) => void sleeps.push(ms) },
    );

    await expect(submitErasure(throttled, { requestId, attempt: 1 })).rejects.toMatchObject({ name: 'KoreRetryableError' });
    expect(sleeps).toEqual(waited);
  });
});
