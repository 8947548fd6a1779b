/**
 * SubmitErasure and CheckStatus take their turn from the shared Kore.ai call budget: without a
 * turn, or refused by the platform for its rate limit, they answer a wait instead of calling or
 * failing — and a submission waits before its intent is recorded, so the attempt keeps its one DELETE.
 */
import { describe, expect, it } from 'vitest';
import type { CallBudget, CallPriority } from '../../../functions/domain/call-budget';
import { KoreRetryableError, type KorePlatform } from '../../../functions/domain/kore';
import { deriveKeys, encryptSubjectId } from '../../../functions/domain/subject';
import { checkErasureStatus } from '../../../functions/workflow/check-erasure-status';
import { submitErasure } from '../../../functions/workflow/submit-erasure';
import type { ErasureTaskDeps } from '../../../functions/workflow/task-deps';
import { FakeSnapshots, InMemoryAuditStore, MutableClock, makeRequest } from '../staff/fakes';

const keys = deriveKeys('k'.repeat(32));
const SUBJECT = 'alice@example.com';

/** A budget that answers from a script and remembers who asked and who was refused. */
class ScriptedBudget implements CallBudget {
  readonly asked: CallPriority[] = [];
  readonly refusals: Array<number | undefined> = [];
  constructor(private readonly answers: Array<number | 'grant'>) {}
  async take(priority: CallPriority) {
    this.asked.push(priority);
    const next = this.answers.shift() ?? 'grant';
    return next === 'grant' ? ({ granted: true } as const) : ({ granted: false, waitMs: next } as const);
  }
  async takeUpTo(priority: CallPriority) {
    const turn = await this.take(priority);
    return turn.granted ? ({ granted: true, calls: 1 } as const) : turn;
  }
  async refused(retryAfterMs?: number) {
    this.refusals.push(retryAfterMs);
    return { waitMs: retryAfterMs ?? 10_000 };
  }
}

function request(status: 'QUEUED' | 'SUBMITTED'): { store: InMemoryAuditStore; requestId: string } {
  const store = new InMemoryAuditStore();
  const requestId = 'req-0001';
  store.seed([makeRequest({ requestId, status, attempt: 1, ...(status === 'SUBMITTED' ? { koreRequestId: 'eud-7' } : {}), subjectCipher: encryptSubjectId(SUBJECT, keys.cipherKey) })]);
  return { store, requestId };
}

function deps(store: InMemoryAuditStore, kore: Partial<KorePlatform>, budget: CallBudget): ErasureTaskDeps {
  return {
    store,
    snapshots: new FakeSnapshots(undefined),
    kore: kore as KorePlatform,
    claims: { claimOpenRequest: async () => ({ claimed: true }), releaseOpenRequest: async () => undefined },
    notices: { notify: async () => undefined },
    clock: new MutableClock(new Date('2026-03-01T12:00:00.000Z')),
    subjectKeys: keys,
    poll: { initialSeconds: 10, maxSeconds: 60, fraction: 0.25, deadlineSeconds: 600 },
    snapshotMaxAgeSeconds: 3600,
    sleep: async () => undefined,
    budget,
  };
}

const rateLimited = () => new KoreRetryableError('Kore.ai eraseUsersData answered 429: rate limit reached', 429, undefined, { rateLimited: true });

describe('SubmitErasure and the call budget', () => {
  it('answers a wait, sends nothing and records nothing while the budget has no turn for it', async () => {
    const { store, requestId } = request('QUEUED');
    let deletes = 0;
    const budget = new ScriptedBudget([12_300]);
    const d = deps(store, { eraseUsersData: async () => ((deletes += 1), { koreRequestId: 'eud-1', status: 'in-progress' }) }, budget);

    const state = await submitErasure(d, { requestId, attempt: 1 });

    expect(state).toEqual({ requestId, attempt: 1, budgetWait: { waitSeconds: 13, reason: 'budget' } });
    expect(deletes).toBe(0);
    expect(await store.getTimeline(requestId)).toEqual([]);
    expect(budget.asked).toEqual(['erase']);
  });

  it('sends the DELETE once the budget grants the turn after the wait', async () => {
    const { store, requestId } = request('QUEUED');
    const sent: string[][] = [];
    const d = deps(store, { eraseUsersData: async (userIds) => (sent.push(userIds), { koreRequestId: 'eud-1', status: 'in-progress' }) }, new ScriptedBudget([5_000, 'grant']));

    const waiting = await submitErasure(d, { requestId, attempt: 1 });
    const submitted = await submitErasure(d, waiting);

    expect(submitted).toMatchObject({ koreRequestId: 'eud-1' });
    expect(submitted).not.toHaveProperty('budgetWait');
    expect(sent).toEqual([[SUBJECT]]);
    expect((await store.getTimeline(requestId)).map((e) => e.type)).toEqual(['ERASURE_SUBMITTING', 'ERASURE_SUBMITTED']);
  });

  it('absorbs a rate-limit refusal by the platform: records it, makes every caller wait, and submits again after the wait', async () => {
    const { store, requestId } = request('QUEUED');
    const answers: Array<() => Promise<{ koreRequestId: string; status: string }>> = [() => Promise.reject(rateLimited()), async () => ({ koreRequestId: 'eud-2', status: 'in-progress' })];
    const budget = new ScriptedBudget([]);
    const d = deps(store, { eraseUsersData: () => answers.shift()!() }, budget);

    const waiting = await submitErasure(d, { requestId, attempt: 1 });
    expect(waiting).toEqual({ requestId, attempt: 1, budgetWait: { waitSeconds: 10, reason: 'rate-limited' } });
    expect(budget.refusals).toEqual([undefined]);

    const submitted = await submitErasure(d, waiting);
    expect(submitted).toMatchObject({ koreRequestId: 'eud-2' });
    const timeline = await store.getTimeline(requestId);
    expect(timeline.map((e) => e.type)).toEqual(['ERASURE_SUBMITTING', 'ERASURE_CALL_FAILED', 'ERASURE_SUBMITTING', 'ERASURE_SUBMITTED']);
    expect(timeline[1]!.details).toMatchObject({ rateLimited: true, retryable: true });
  });

  it('takes no turn when the attempt already has its job (nothing is sent)', async () => {
    const { store, requestId } = request('SUBMITTED');
    const budget = new ScriptedBudget([]);

    await submitErasure(deps(store, {}, budget), { requestId, attempt: 1 });

    expect(budget.asked).toEqual([]);
  });
});

describe('CheckStatus and the call budget', () => {
  const answer = { koreRequestId: 'eud-7', users: [{ userId: SUBJECT, status: 'SUCCESS' }], rawBody: '{}' };

  it('waits as between two polls, records nothing and asks nothing while the budget has no turn for it', async () => {
    const { store, requestId } = request('SUBMITTED');
    let asked = 0;
    const budget = new ScriptedBudget([2_500]);
    const d = deps(store, { getEraseStatus: async () => ((asked += 1), answer) }, budget);

    const state = await checkErasureStatus(d, { requestId, attempt: 1 });

    expect(state.poll).toMatchObject({ outcome: 'RUNNING', waitSeconds: 3, count: 0 });
    expect(asked).toBe(0);
    expect(await store.getTimeline(requestId)).toEqual([]);
    expect(budget.asked).toEqual(['status']);
  });

  it('absorbs a rate-limit refusal of the status call by waiting, with the platform\'s Retry-After when it sent one', async () => {
    const { store, requestId } = request('SUBMITTED');
    const budget = new ScriptedBudget([]);
    const d = deps(store, { getEraseStatus: async () => Promise.reject(new KoreRetryableError('429', 429, 4_000, { rateLimited: true })) }, budget);

    const state = await checkErasureStatus(d, { requestId, attempt: 1 });

    expect(state.poll).toMatchObject({ outcome: 'RUNNING', waitSeconds: 4 });
    expect(budget.refusals).toEqual([4_000]);
  });

  it('still throws other retryable errors for the state machine to retry', async () => {
    const { store, requestId } = request('SUBMITTED');
    const d = deps(store, { getEraseStatus: async () => Promise.reject(new KoreRetryableError('Kore.ai getEraseStatus answered 503', 503, undefined)) }, new ScriptedBudget([]));

    await expect(checkErasureStatus(d, { requestId, attempt: 1 })).rejects.toMatchObject({ name: 'KoreRetryableError' });
  });
});
