/**
 * Ops fixing what failed, through the API only: a request fails at Kore.ai (an outage longer than
 * the workflow's retries), shows up in the ops list, is retried and completes; the timeline shows
 * both attempts and who retried. Conflicting actions answer 409.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedErasures, freshEmail, json, startE2eRuntime, submitAndVerify, waitForStatus, type E2eRuntime } from './support';

let runtime: E2eRuntime;

beforeAll(async () => {
  runtime = await startE2eRuntime();
});
afterAll(async () => runtime?.close());

const asOps = (token: string, body?: unknown) => ({
  method: body === undefined ? 'GET' : 'POST',
  headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});

describe('ops through the API', () => {
  it('retries a request that failed at Kore.ai and sees it complete, with both attempts and the actor', async () => {
    const email = freshEmail('outage');
    runtime.simulator!.setFaults({ rate500: 1 });
    let requestId: string;
    try {
      requestId = await submitAndVerify(runtime.url, email);
      const failed = await waitForStatus(runtime, requestId, ['FAILED'], 60_000);
      expect(failed.request.failureReason).toBe('KoreRetryableError');
    } finally {
      runtime.simulator!.setFaults({ rate500: 0 });
    }

    const list = await json<{ items: { requestId: string }[] }>(await fetch(`${runtime.url}/ops/requests?status=failed`, asOps(runtime.opsToken)));
    expect(list.items.map((r) => r.requestId)).toContain(requestId);

    const asAuditor = await fetch(`${runtime.url}/ops/requests/${requestId}/retry`, asOps(runtime.auditorToken, { reason: 'platform outage over' }));
    expect(asAuditor.status).toBe(403);
    const retried = await fetch(`${runtime.url}/ops/requests/${requestId}/retry`, asOps(runtime.opsToken, { reason: 'platform outage over' }));
    expect(retried.status).toBe(200);

    const done = await waitForStatus(runtime, requestId, ['COMPLETED']);
    expect(done.request.attempt).toBe(2);
    const retry = done.timeline.find((e) => e.type === 'RETRY_REQUESTED')!;
    expect(retry).toMatchObject({ actor: 'staff:e2e-ops', attempt: 2 });
    expect(retry.details.reason).toBe('platform outage over');
    expect(new Set(done.timeline.filter((e) => e.type === 'ERASURE_SUBMITTING').map((e) => e.attempt))).toEqual(new Set([1, 2]));
    expect(done.chain.ok).toBe(true);
    expect(acceptedErasures(runtime, email)).toBe(1); // attempt 1 never got through; attempt 2 sent one

    const again = await fetch(`${runtime.url}/ops/requests/${requestId}/retry`, asOps(runtime.opsToken, { reason: 'by mistake' }));
    expect(again.status).toBe(409);
    const cancel = await fetch(`${runtime.url}/ops/requests/${requestId}/cancel`, asOps(runtime.opsToken, { reason: 'by mistake' }));
    expect(cancel.status).toBe(409);
  });

  it('resumes watching the Kore.ai job when a timed-out attempt is retried, without a second DELETE', async () => {
    const email = freshEmail('slowjob');
    const slow = await startE2eRuntime({ simulator: { jobDurationMs: 6000 }, env: { POLL_DEADLINE_SECONDS: '2' } });
    try {
      const requestId = await submitAndVerify(slow.url, email);
      await waitForStatus(slow, requestId, ['TIMED_OUT']);
      const retried = await fetch(`${slow.url}/ops/requests/${requestId}/retry`, asOps(slow.opsToken, { reason: 'job still running at Kore.ai' }));
      expect(retried.status).toBe(200);
      // Each attempt waits 2 s at most; the job ends after 6 s: retry until it is seen done.
      let detail = await waitForStatus(slow, requestId, ['COMPLETED', 'TIMED_OUT'], 30_000);
      for (let i = 0; i < 5 && detail.request.status === 'TIMED_OUT'; i++) {
        await fetch(`${slow.url}/ops/requests/${requestId}/retry`, asOps(slow.opsToken, { reason: 'job still running at Kore.ai' }));
        detail = await waitForStatus(slow, requestId, ['COMPLETED', 'TIMED_OUT'], 30_000);
      }
      expect(detail.request.status).toBe('COMPLETED');
      expect(detail.timeline.filter((e) => e.type === 'ERASURE_SUBMITTED' && e.details.resumed === true).length).toBeGreaterThanOrEqual(1);
      expect(acceptedErasures(slow, email)).toBe(1);
    } finally {
      await slow.close();
    }
  });
});
