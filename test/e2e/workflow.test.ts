/**
 * The erasure workflow end to end: the synthesized state machine run locally, real handlers over
 * HTTP, the Kore.ai simulator. Each outcome the issue names, and exactly one DELETE per attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ACCOUNT_OWNER, DEMO_BOTS, DEMO_CO_DEVELOPERS } from '../../infra/local/kore-sim';
import { acceptedErasures, auditDetail, confirmLink, freshEmail, json, mailedRequestId, startE2eRuntime, submitAndVerify, submitJson, verificationLink, waitForStatus, type E2eRuntime } from './support';

let runtime: E2eRuntime;
const failingUser = freshEmail('fails');
const stuckUser = freshEmail('stuck');

beforeAll(async () => {
  runtime = await startE2eRuntime({
    simulator: { failUsers: [failingUser], neverFinishUsers: [stuckUser] },
    env: { POLL_DEADLINE_SECONDS: '4', VERIFY_LAG_SECONDS: '0' },
  });
});
afterAll(async () => runtime?.close());

describe('the erasure workflow', () => {
  it('takes an eligible request to COMPLETED with the full, verifiable event chain', async () => {
    const email = freshEmail();
    const requestId = await submitAndVerify(runtime.url, email);
    const detail = await waitForStatus(runtime, requestId, ['COMPLETED']);

    expect(detail.chain.ok).toBe(true);
    const types = detail.timeline.map((e) => e.type);
    expect(types.filter((t) => t !== 'NOTICE_SENT').slice(0, 4)).toEqual(['REQUEST_RECEIVED', 'VERIFICATION_SENT', 'IDENTITY_VERIFIED', 'ERASURE_QUEUED']);
    expect(types).toContain('ERASURE_SUBMITTING');
    expect(types).toContain('ERASURE_SUBMITTED');
    expect(types).toContain('STATUS_CHECKED');
    expect(types).toContain('ERASURE_COMPLETED');
    // The plain address stays for the read-back of the erasure, then goes.
    expect(types).not.toContain('SUBJECT_ID_DROPPED');
    await runtime.verify();
    expect((await auditDetail(runtime, requestId)).timeline.map((e) => e.type).slice(-2)).toEqual(['ERASURE_VERIFIED', 'SUBJECT_ID_DROPPED']);
    const statuses = detail.timeline.map((e) => e.status);
    expect(statuses).toEqual(expect.arrayContaining(['RECEIVED', 'AWAITING_VERIFICATION', 'VERIFIED', 'QUEUED', 'SUBMITTED', 'COMPLETED']));
    const completed = detail.timeline.find((e) => e.type === 'ERASURE_COMPLETED')!;
    expect(completed.details.koreRequestId).toBe(detail.request.koreRequestId);
    expect(completed.details.finalStatusSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(acceptedErasures(runtime, email)).toBe(1);
    // The subject was told, and the plain address is gone from the request.
    const mails = (await json<{ kind: string; requestId?: string }[]>(await fetch(`${runtime.url}/dev/outbox.json`))).filter((m) => m.requestId === requestId);
    expect(mails.map((m) => m.kind)).toContain('completion');
  });

  it('ends a job whose user erasure FAILED at Kore.ai as FAILED, kept for a retry', async () => {
    const requestId = await submitAndVerify(runtime.url, failingUser);
    const detail = await waitForStatus(runtime, requestId, ['FAILED']);
    expect(detail.request.failureReason).toBe('USER_ERASURE_FAILED');
    expect(detail.timeline.at(-1)!.type).toBe('NOTICE_SENT');
    expect(detail.timeline.some((e) => e.type === 'ERASURE_FAILED')).toBe(true);
    expect(detail.chain.ok).toBe(true);
    expect(acceptedErasures(runtime, failingUser)).toBe(1);
  });

  it.each([
    ['an account owner', DEMO_ACCOUNT_OWNER.email, 'ACCOUNT_OWNER', [] as string[]],
    ['a co-developer', DEMO_CO_DEVELOPERS[0]!.email, 'BOT_CO_DEVELOPER', [DEMO_BOTS.support.botId]],
  ])('rejects %s, naming the rule and the bots, and never calls Kore.ai', async (_who, email, rule, botIds) => {
    const requestId = await submitAndVerify(runtime.url, email);
    const detail = await waitForStatus(runtime, requestId, ['REJECTED']);
    expect(detail.request.rejection).toEqual({ rule, botIds, source: 'snapshot' });
    expect(detail.chain.ok).toBe(true);
    expect(acceptedErasures(runtime, email)).toBe(0);
  });

  it('ends a job that never finishes as TIMED_OUT once the poll deadline passes', async () => {
    const requestId = await submitAndVerify(runtime.url, stuckUser);
    const detail = await waitForStatus(runtime, requestId, ['TIMED_OUT'], 40_000);
    expect(detail.request.failureReason).toBe('POLL_DEADLINE_PASSED');
    const polls = detail.timeline.filter((e) => e.type === 'STATUS_CHECKED');
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(polls.every((e) => e.details.outcome === 'RUNNING' || e.details.outcome === 'TIMED_OUT')).toBe(true);
    expect(acceptedErasures(runtime, stuckUser)).toBe(1);
  });

  it('retries through a Kore.ai outage of 429s and 500s and still sends exactly one DELETE', async () => {
    const email = freshEmail('outage');
    runtime.simulator!.setFaults({ rate429: 0.35, rate500: 0.35, retryAfterSeconds: 0, seed: 7 });
    try {
      const requestId = await submitAndVerify(runtime.url, email);
      const detail = await waitForStatus(runtime, requestId, ['COMPLETED'], 60_000);
      const failedCalls = detail.timeline.filter((e) => e.type === 'ERASURE_CALL_FAILED');
      const faultsSeen = runtime.simulator!.calls().filter((c) => c.outcome === 'fault-429' || c.outcome === 'fault-500').length;
      expect(faultsSeen).toBeGreaterThan(0);
      expect(failedCalls.every((e) => e.details.retryable === true)).toBe(true);
      expect(acceptedErasures(runtime, email)).toBe(1);
      expect(detail.chain.ok).toBe(true);
    } finally {
      runtime.simulator!.setFaults({ rate429: 0, rate500: 0 });
    }
  });

  it('rejects a subject the platform itself refuses (privileged after the snapshot) without retrying', async () => {
    // The subject became a bot owner after the roles snapshot was taken: the intake lets them
    // through, the workflow's re-check too, and Kore.ai refuses the DELETE under its own rules.
    const email = freshEmail('late-owner');
    const account = runtime.simulator!.account as { refusalOf: (id: string) => string | undefined };
    const original = account.refusalOf.bind(account);
    account.refusalOf = (id) => (id.toLowerCase() === email ? 'bot-owner' : original(id));
    try {
      const requestId = await submitAndVerify(runtime.url, email);
      const detail = await waitForStatus(runtime, requestId, ['REJECTED']);
      expect(detail.request.rejection).toEqual({ rule: 'PLATFORM_RULES', botIds: [], source: 'platform' });
      const refusedCalls = runtime.simulator!.calls().filter((c) => c.outcome === 'refused' && c.userIds?.includes(email));
      expect(refusedCalls).toHaveLength(1);
      expect(detail.timeline.find((e) => e.type === 'ERASURE_CALL_FAILED')?.details).toMatchObject({ refused: true, retryable: false });
    } finally {
      account.refusalOf = original;
    }
  });

  it('starting the same attempt twice is harmless: one execution, one DELETE', async () => {
    const email = freshEmail('twice');
    const requestId = await submitAndVerify(runtime.url, email);
    const second = await runtime.workflow.startErasure(requestId, 1);
    expect(second.started).toBe(false);
    await waitForStatus(runtime, requestId, ['COMPLETED']);
    expect(runtime.workflow.list().filter((e) => e.name.startsWith(requestId)).length).toBe(1);
    expect(acceptedErasures(runtime, email)).toBe(1);
  });

  it('a verification link works once', async () => {
    const email = freshEmail('once');
    expect((await submitJson(runtime.url, { email })).status).toBe(202);
    const submitted = { requestId: await mailedRequestId(runtime.url, email) };
    const link = await verificationLink(runtime.url, submitted.requestId);
    // Opening the link only shows the confirmation page, however often (mail scanners fetch links).
    for (let i = 0; i < 3; i++) expect((await fetch(link, { redirect: 'manual' })).status).toBe(200);
    expect((await auditDetail(runtime, submitted.requestId)).request.status).toBe('AWAITING_VERIFICATION');
    expect((await confirmLink(link)).status).toBe(303);
    expect((await confirmLink(link, 'application/json')).status).toBe(410);
    const detail = await auditDetail(runtime, submitted.requestId);
    expect(detail.timeline.filter((e) => e.type === 'IDENTITY_VERIFIED')).toHaveLength(1);
  });
});
