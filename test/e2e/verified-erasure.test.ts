/**
 * Verified erasure end to end: after Kore.ai says SUCCESS, verify-erasures reads the subject's
 * sessions back (Sessions History) through the deployed bundles and the simulator, and the
 * outcome reaches the timeline, the receipt, the status page, the ops lists and the alarm metric.
 * The verification runs are invoked by the test (`runtime.verify()`), so nothing depends on a timer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditDetail, freshEmail, inbox, json, submitAndVerify, startE2eRuntime, waitForStatus, type E2eRuntime } from './support';

let runtime: E2eRuntime;
const LAG_MS = 1_000;

beforeAll(async () => {
  runtime = await startE2eRuntime({ env: { VERIFY_LAG_SECONDS: String(LAG_MS / 1000) } });
});
afterAll(async () => runtime?.close());

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const asOps = (token: string, body?: unknown) => ({
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});

/** Runs verify-erasures once the lag has passed. */
async function verifyAfterLag() {
  await pause(LAG_MS + 100);
  return runtime.verify();
}

/** The subject's status page as JSON, through the link of the completion mail. */
async function statusView(email: string, requestId: string): Promise<{ status: string; verification?: { outcome: string; summary: string }; receipt?: string }> {
  const mail = (await inbox(runtime.url, email)).find((m) => m.requestId === requestId && m.kind === 'completion');
  const link = mail?.text.match(/https?:\/\/\S+\/requests\/[\w-]+\?token=[\w.-]+/)?.[0];
  if (!link) throw new Error('No status link in the completion mail');
  return json(await fetch(link, { headers: { accept: 'application/json' } }));
}

const receiptClaims = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown> & { verification?: Record<string, unknown> };

describe('verified erasure', () => {
  it('reads a normal erasure back: COMPLETED, then verified on its timeline, its receipt and the status page', async () => {
    const email = freshEmail('verified');
    const requestId = await submitAndVerify(runtime.url, email);
    const completed = await waitForStatus(runtime, requestId, ['COMPLETED']);
    expect(completed.timeline.find((e) => e.type === 'ERASURE_COMPLETED')!.details.verificationDueAt).toEqual(expect.any(String));
    expect(completed.timeline.some((e) => e.type === 'SUBJECT_ID_DROPPED')).toBe(false);

    expect((await verifyAfterLag()).verified).toBeGreaterThanOrEqual(1);

    const detail = await auditDetail(runtime, requestId);
    expect(detail.request.status).toBe('COMPLETED');
    const verified = detail.timeline.find((e) => e.type === 'ERASURE_VERIFIED')!;
    expect(verified).toMatchObject({ actor: 'system:verifier', status: 'COMPLETED', details: { outcome: 'verified', sessions: 0, verifiedAttempt: 1 } });
    expect(detail.timeline.at(-1)!.type).toBe('SUBJECT_ID_DROPPED');
    expect(detail.chain.ok).toBe(true);
    expect(JSON.stringify(detail.timeline)).not.toContain(email);

    const view = await statusView(email, requestId);
    expect(view.verification?.outcome).toBe('verified');
    const claims = receiptClaims(view.receipt!);
    expect(claims.verification).toMatchObject({ outcome: 'verified', readBackSha256: verified.details.readBackSha256, windowFrom: verified.details.windowFrom, windowTo: verified.details.windowTo });
    expect(claims.verification!.readBackSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(claims)).not.toContain(email);
    // The read-back asked Kore.ai's Sessions History for this subject.
    expect(runtime.simulator!.calls().filter((c) => c.route === '/api/public/getSessions' && c.userIds?.includes(email)).length).toBeGreaterThanOrEqual(1);
  });

  it('finds sessions a SUCCESS left behind: data-found after one re-check, flagged for ops, the alarm metric, and a retry that erases again', async () => {
    const email = freshEmail('left-behind');
    runtime.simulator!.setFaults({ sessionsLeftBehind: true });
    let requestId: string;
    try {
      requestId = await submitAndVerify(runtime.url, email);
      await waitForStatus(runtime, requestId, ['COMPLETED']);
    } finally {
      runtime.simulator!.setFaults({ sessionsLeftBehind: false });
    }
    expect((await verifyAfterLag()).rechecks).toBeGreaterThanOrEqual(1);
    expect((await auditDetail(runtime, requestId)).timeline.at(-1)).toMatchObject({ type: 'VERIFICATION_RECHECK' });
    expect((await verifyAfterLag()).dataFound).toBeGreaterThanOrEqual(1);

    const detail = await auditDetail(runtime, requestId);
    expect(detail.request.status).toBe('COMPLETED');
    const found = detail.timeline.find((e) => e.type === 'ERASURE_VERIFIED')!;
    expect(found.details).toMatchObject({ outcome: 'data-found', sessions: 3 });
    expect((found.details.botIds as string[]).length).toBe(3);
    // Ops see it in their list, the alarm's metric counted it, the subject is told.
    const list = await json<{ items: { requestId: string; verification?: { stage: string } }[] }>(await fetch(`${runtime.url}/ops/requests?status=data-found`, { headers: { authorization: `Bearer ${runtime.opsToken}` } }));
    expect(list.items.find((r) => r.requestId === requestId)?.verification?.stage).toBe('data-found');
    expect(runtime.metrics().custom.filter((m) => m.name === 'ErasureDataFound').reduce((sum, m) => sum + m.value, 0)).toBeGreaterThanOrEqual(1);
    expect((await statusView(email, requestId)).verification?.outcome).toBe('data-found');

    // The retry starts a new attempt, whose job (no fault now) removes the sessions.
    const retried = await fetch(`${runtime.url}/ops/requests/${requestId}/retry`, asOps(runtime.opsToken, { reason: 'sessions still there after SUCCESS' }));
    expect(retried.status).toBe(200);
    const again = await waitForStatus(runtime, requestId, ['COMPLETED']);
    expect(again.request.attempt).toBe(2);
    await verifyAfterLag();
    const last = (await auditDetail(runtime, requestId)).timeline.filter((e) => e.type === 'ERASURE_VERIFIED').at(-1)!;
    expect(last.details).toMatchObject({ outcome: 'verified', verifiedAttempt: 2 });
  });

  it('ends not-verified: scope-missing when the app lacks the Bot Sessions scope, and the erasure itself stays COMPLETED', async () => {
    const email = freshEmail('no-scope');
    runtime.simulator!.setFaults({ sessionsScopeMissing: true });
    try {
      const requestId = await submitAndVerify(runtime.url, email);
      await waitForStatus(runtime, requestId, ['COMPLETED']);
      expect((await verifyAfterLag()).notVerified).toBeGreaterThanOrEqual(1);
      const detail = await auditDetail(runtime, requestId);
      expect(detail.request.status).toBe('COMPLETED');
      expect(detail.timeline.find((e) => e.type === 'ERASURE_VERIFIED')!.details).toMatchObject({ outcome: 'not-verified', reason: 'scope-missing' });
      expect((await statusView(email, requestId)).verification?.outcome).toBe('not-verified');
    } finally {
      runtime.simulator!.setFaults({ sessionsScopeMissing: false });
    }
  });

  it('verifies now on an ops request, recorded with the actor; refused for auditors and once the subject id is gone', async () => {
    const email = freshEmail('verify-now');
    const requestId = await submitAndVerify(runtime.url, email);
    await waitForStatus(runtime, requestId, ['COMPLETED']);

    expect((await fetch(`${runtime.url}/ops/requests/${requestId}/verify`, asOps(runtime.auditorToken, { reason: 'check it' }))).status).toBe(403);
    const asked = await fetch(`${runtime.url}/ops/requests/${requestId}/verify`, asOps(runtime.opsToken, { reason: 'subject asked for proof' }));
    expect(asked.status).toBe(202);
    const requested = (await auditDetail(runtime, requestId)).timeline.find((e) => e.type === 'VERIFICATION_REQUESTED')!;
    expect(requested).toMatchObject({ actor: 'staff:e2e-ops', status: 'COMPLETED', details: { reason: 'subject asked for proof' } });

    // Due at once: no lag to wait for.
    expect((await runtime.verify()).verified).toBeGreaterThanOrEqual(1);
    expect((await auditDetail(runtime, requestId)).timeline.some((e) => e.type === 'ERASURE_VERIFIED' && e.details.outcome === 'verified')).toBe(true);
    const late = await fetch(`${runtime.url}/ops/requests/${requestId}/verify`, asOps(runtime.opsToken, { reason: 'again' }));
    expect(late.status).toBe(409);
  });
});
