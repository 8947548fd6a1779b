import { describe, expect, it } from 'vitest';
import { KorePermanentError, KoreRetryableError, KoreScopeMissingError, type KoreSessionsHistory, type KoreSessionsQuery } from '../../../functions/domain/kore';
import { DEFAULT_VERIFICATION_POLICY, type Verification } from '../../../functions/domain/verification';
import { recordOutcome } from '../../../functions/workflow/record-outcome';
import { verifyErasures, type VerifyErasuresDeps } from '../../../functions/workflow/verify-erasures';
import { MutableClock } from '../../support/staff-fakes';
import { NOW, RecordingClaims, ScriptedBudget, SUBJECT, arrange, keys, taskDeps } from './task-fixtures';

const policy = { ...DEFAULT_VERIFICATION_POLICY, lookBackDays: 14, lagSeconds: 60, maxWaitSeconds: 3600 };
const due: Verification = { stage: 'pending', attempt: 1, dueAt: NOW };

/** Sessions History answering from a script: a count of sessions per call (in bot `st-a`), or an error to throw. */
class ScriptedSessions implements KoreSessionsHistory {
  readonly asked: KoreSessionsQuery[] = [];
  constructor(private readonly answers: Array<number | Error> = []) {}
  async getSessions(query: KoreSessionsQuery) {
    this.asked.push(query);
    const next = this.answers.shift() ?? 0;
    if (next instanceof Error) throw next;
    const sessions = Array.from({ length: next }, (_, i) => ({ botId: i % 2 ? 'st-b' : 'st-a' }));
    return { sessions, moreAvailable: false, rawBody: JSON.stringify({ sessions }) };
  }
}

function deps(store: VerifyErasuresDeps['store'], sessions: KoreSessionsHistory, overrides: Partial<VerifyErasuresDeps> = {}): VerifyErasuresDeps {
  return { store, claims: new RecordingClaims(), sessions, clock: new MutableClock(new Date(NOW)), subjectKeys: keys, policy, ...overrides };
}

describe('verify-erasures', () => {
  it('verifies an erasure whose read-back finds nothing, reading every window of the look-back with the subject id, and drops the id', async () => {
    const { store, requestId, since } = await arrange('COMPLETED', { patch: { verification: due } });
    const sessions = new ScriptedSessions([0, 0]);
    const budget = new ScriptedBudget();
    const report = await verifyErasures(deps(store, sessions, { budget }));
    expect(report).toMatchObject({ due: 1, verified: 1, dataFound: 0 });
    expect(sessions.asked.map((q) => [q.userId, q.dateFrom, q.dateTo])).toEqual([
      [SUBJECT, '2026-02-22T12:00:00.000Z', NOW],
      [SUBJECT, '2026-02-15T12:00:00.000Z', '2026-02-22T12:00:00.000Z'],
    ]);
    expect(budget.asked).toEqual(['verify', 'verify']);
    const events = await since();
    expect(events.map((e) => e.type)).toEqual(['ERASURE_VERIFIED', 'SUBJECT_ID_DROPPED']);
    expect(events[0]!.details).toMatchObject({ outcome: 'verified', sessions: 0, windowFrom: '2026-02-15T12:00:00.000Z', windowTo: NOW, verifiedAttempt: 1 });
    expect(events[0]!.details.readBackSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(events)).not.toContain(SUBJECT);
    const request = await store.getRequest(requestId);
    expect(request?.verification).toMatchObject({ stage: 'verified' });
    expect(request?.subjectCipher).toBeUndefined();
    expect(request?.status).toBe('COMPLETED');
  });

  it('re-checks once a lag later before data-found stands, counts sessions and bots only, and keeps the id for a retry', async () => {
    const { store, requestId, since } = await arrange('COMPLETED', { patch: { verification: due } });
    const clock = new MutableClock(new Date(NOW));
    const sessions = new ScriptedSessions([3, 0, 2, 0]);
    const first = await verifyErasures(deps(store, sessions, { clock }));
    expect(first).toMatchObject({ rechecks: 1, dataFound: 0 });
    // Not due again before the lag has passed.
    expect(await verifyErasures(deps(store, sessions, { clock }))).toMatchObject({ due: 0 });
    clock.set(new Date(Date.parse(NOW) + 60_000));
    const second = await verifyErasures(deps(store, sessions, { clock }));
    expect(second).toMatchObject({ dataFound: 1 });
    const events = await since();
    expect(events.map((e) => e.type)).toEqual(['VERIFICATION_RECHECK', 'ERASURE_VERIFIED']);
    expect(events[0]!.details).toMatchObject({ sessions: 3, botIds: ['st-a', 'st-b'] });
    expect(events[1]!.details).toMatchObject({ outcome: 'data-found', sessions: 2, botIds: ['st-a', 'st-b'] });
    const request = await store.getRequest(requestId);
    expect(request?.verification?.stage).toBe('data-found');
    expect(request?.subjectCipher).toBeDefined();
  });

  it('ends not-verified: scope-missing when the app lacks the Bot Sessions scope, and the erasure stays COMPLETED', async () => {
    const { store, requestId, since } = await arrange('COMPLETED', { patch: { verification: due } });
    const report = await verifyErasures(deps(store, new ScriptedSessions([new KoreScopeMissingError('no scope', 403)])));
    expect(report).toMatchObject({ notVerified: 1 });
    expect((await since())[0]!.details).toMatchObject({ outcome: 'not-verified', reason: 'scope-missing' });
    expect(await store.getRequest(requestId)).toMatchObject({ status: 'COMPLETED', verification: { stage: 'not-verified', reason: 'scope-missing' } });
  });

  it('ends not-verified: platform-error on an error that retrying does not mend', async () => {
    const { store, since } = await arrange('COMPLETED', { patch: { verification: due } });
    await verifyErasures(deps(store, new ScriptedSessions([new KorePermanentError('bad', 400)])));
    expect((await since())[0]!.details).toMatchObject({ outcome: 'not-verified', reason: 'platform-error' });
  });

  it('waits without a turn of the budget, stops the run there, and gives up as budget-exhausted only past the longest wait', async () => {
    const store = (await arrange('COMPLETED', { requestId: 'req-a', patch: { verification: due } })).store;
    await arrange('COMPLETED', { requestId: 'req-b', store, patch: { verification: due } });
    const sessions = new ScriptedSessions();
    const clock = new MutableClock(new Date(NOW));
    const budget = new ScriptedBudget([5000, 5000, 5000]);
    expect(await verifyErasures(deps(store, sessions, { clock, budget }))).toMatchObject({ due: 2, waiting: 2, notVerified: 0 });
    expect(budget.asked).toEqual(['verify']);
    expect(sessions.asked).toHaveLength(0);
    clock.set(new Date(Date.parse(NOW) + 3_600_000));
    expect(await verifyErasures(deps(store, sessions, { clock, budget: new ScriptedBudget([5000]) }))).toMatchObject({ notVerified: 2 });
    expect((await store.getRequest('req-b'))?.verification).toMatchObject({ stage: 'not-verified', reason: 'budget-exhausted' });
  });

  it('stops listing at the first refused turn: a run under a burst reads one page, not the whole list', async () => {
    const store = (await arrange('COMPLETED', { requestId: 'req-000', patch: { verification: due } })).store;
    for (let i = 1; i < 130; i++) await arrange('COMPLETED', { requestId: `req-${String(i).padStart(3, '0')}`, store, patch: { verification: due } });
    const pages: unknown[] = [];
    const listByStatus = store.listByStatus.bind(store);
    store.listByStatus = async (query) => {
      pages.push(query.cursor);
      return listByStatus(query);
    };
    const report = await verifyErasures(deps(store, new ScriptedSessions(), { budget: new ScriptedBudget([5000]) }));
    expect(pages).toHaveLength(1);
    expect(report).toMatchObject({ due: 100, waiting: 100 });
  });

  it('tells the budget when the platform refuses for its rate limit, and waits', async () => {
    const { store } = await arrange('COMPLETED', { patch: { verification: due } });
    const budget = new ScriptedBudget();
    const report = await verifyErasures(deps(store, new ScriptedSessions([new KoreRetryableError('limit', 429, 2000, { rateLimited: true })]), { budget }));
    expect(report).toMatchObject({ waiting: 1 });
    expect(budget.refusals).toEqual([2000]);
  });

  it('leaves alone completed requests not chosen for read-back, and those whose read-back is not due', async () => {
    const store = (await arrange('COMPLETED', { requestId: 'req-a' })).store;
    await arrange('COMPLETED', { requestId: 'req-b', store, patch: { verification: { ...due, dueAt: '2026-03-01T13:00:00.000Z' } } });
    const sessions = new ScriptedSessions();
    expect(await verifyErasures(deps(store, sessions))).toMatchObject({ due: 0 });
    expect(sessions.asked).toHaveLength(0);
  });
});

describe('record-outcome and verification', () => {
  it('marks a completed erasure for read-back one lag later and keeps its subject id until then', async () => {
    const { store, requestId } = await arrange('IN_PROGRESS');
    await recordOutcome(taskDeps(store, {}, { verification: policy }), { requestId, attempt: 1, outcome: 'COMPLETED', state: { requestId, attempt: 1 } } as never);
    const request = await store.getRequest(requestId);
    expect(request?.verification).toEqual({ stage: 'pending', attempt: 1, dueAt: '2026-03-01T12:01:00.000Z' });
    expect(request?.subjectCipher).toBeDefined();
    const completed = (await store.getTimeline(requestId)).find((e) => e.type === 'ERASURE_COMPLETED');
    expect(completed?.details.verificationDueAt).toBe('2026-03-01T12:01:00.000Z');
  });

  it('drops the subject id at completion as before when no verification is configured or the request is not sampled', async () => {
    for (const verification of [undefined, { ...policy, sampleShare: 0 }]) {
      const { store, requestId } = await arrange('IN_PROGRESS');
      await recordOutcome(taskDeps(store, {}, verification ? { verification } : {}), { requestId, attempt: 1, outcome: 'COMPLETED', state: { requestId, attempt: 1 } } as never);
      const request = await store.getRequest(requestId);
      expect(request?.verification).toBeUndefined();
      expect(request?.subjectCipher).toBeUndefined();
    }
  });
});
