/** Ops and auditors and the verified erasure: verify now, retry after data-found, the data-found list, the report's counts. */
import { describe, expect, it } from 'vitest';
import type { AuditEventInput, RequestStatus } from '../../../functions/domain/model';
import type { RequestPatch } from '../../../functions/domain/ports';
import type { Verification } from '../../../functions/domain/verification';
import { createWithHistory, TO_FAILED } from '../../support/staff-fakes';
import { apiEvent, createHarness, jsonOf, NOW, type Harness } from '../../support/staff-harness';

type Step = { type: AuditEventInput['type']; status: RequestStatus; patch?: RequestPatch };
const completedWith = (verification?: Verification): Step[] => [
  ...TO_FAILED.slice(0, 4),
  { type: 'ERASURE_COMPLETED', status: 'COMPLETED', patch: { completedAt: '2026-02-25T00:00:00.000Z', ...(verification ? { verification } : {}) } },
];
const dataFound: Verification = { stage: 'data-found', attempt: 1, at: '2026-02-26T00:00:00.000Z', sessions: 2, botIds: ['st-a'] };

async function withCompleted(requests: Array<{ id: string; verification?: Verification; cipher?: boolean }>): Promise<Harness> {
  const h = await createHarness();
  for (const r of requests) {
    await createWithHistory(h.store, { requestId: r.id, receivedAt: '2026-02-20T10:00:00.000Z', dueAt: '2026-03-20T10:00:00.000Z', ...(r.cipher === false ? {} : { subjectCipher: 'v1.cipher' }) }, completedWith(r.verification));
  }
  return h;
}

async function act(h: Harness, action: string, id: string, role: 'ops' | 'auditor' = 'ops', body: Record<string, unknown> = { reason: 'because' }) {
  return h.opsApi(apiEvent({ method: 'POST', path: `/ops/requests/${id}/${action}`, body, token: await h.tokens.valid(role, 'alice') }));
}

describe('verify now', () => {
  it('makes the read-back due now and records who asked and why', async () => {
    const h = await withCompleted([{ id: 'req-1', verification: { stage: 'pending', attempt: 1, dueAt: '2026-03-02T00:00:00.000Z' } }]);
    const result = await act(h, 'verify', 'req-1', 'ops', { reason: 'subject asked for proof' });
    expect(result.statusCode, result.body).toBe(202);
    expect(jsonOf(result)).toMatchObject({ request: { status: 'COMPLETED', verification: { stage: 'pending', dueAt: NOW } }, readBackDueAt: NOW });
    expect(h.store.events.get('req-1')!.at(-1)).toMatchObject({ type: 'VERIFICATION_REQUESTED', actor: 'staff:alice', status: 'COMPLETED', details: { reason: 'subject asked for proof', from: 'pending' } });
  });

  it('keeps a re-check a re-check, so data found twice still stands', async () => {
    const h = await withCompleted([{ id: 'req-1', verification: { stage: 'recheck', attempt: 1, dueAt: '2026-03-02T00:00:00.000Z', sessions: 1 } }]);
    await act(h, 'verify', 'req-1');
    expect((await h.store.getRequest('req-1'))?.verification).toEqual({ stage: 'recheck', attempt: 1, dueAt: NOW });
  });

  it.each([
    { why: 'the subject id is gone (the outcome stood)', cipher: false, status: 409 },
    { why: 'a reason is missing', cipher: true, status: 400, body: {} },
  ])('refuses when $why', async ({ cipher, status, body }) => {
    const h = await withCompleted([{ id: 'req-1', verification: { stage: 'verified', attempt: 1 }, cipher }]);
    const result = await act(h, 'verify', 'req-1', 'ops', body ?? { reason: 'again' });
    expect(result.statusCode, result.body).toBe(status);
  });

  it('is for ops only', async () => {
    const h = await withCompleted([{ id: 'req-1' }]);
    expect((await act(h, 'verify', 'req-1', 'auditor')).statusCode).toBe(403);
  });
});

describe('retry after data-found', () => {
  it('starts a new attempt of a COMPLETED request whose data was found, clearing its verification', async () => {
    const h = await withCompleted([{ id: 'req-1', verification: dataFound }]);
    const result = await act(h, 'retry', 'req-1', 'ops', { reason: 'sessions still there' });
    expect(result.statusCode, result.body).toBe(200);
    expect(jsonOf(result)).toMatchObject({ request: { status: 'QUEUED', attempt: 2 } });
    const request = await h.store.getRequest('req-1');
    expect(request?.verification).toBeUndefined();
    expect(h.store.events.get('req-1')!.at(-1)).toMatchObject({ type: 'RETRY_REQUESTED', actor: 'staff:alice', details: { from: 'COMPLETED', resumesKoreJob: false } });
  });

  it.each([undefined, { stage: 'verified', attempt: 1 } as Verification, { stage: 'pending', attempt: 1, dueAt: NOW } as Verification])('refuses a COMPLETED request without data found (%o) with 409', async (verification) => {
    const h = await withCompleted([{ id: 'req-1', ...(verification ? { verification } : {}) }]);
    const result = await act(h, 'retry', 'req-1');
    expect(result.statusCode).toBe(409);
    expect(jsonOf<{ detail: string }>(result).detail).toMatch(/data-found/);
  });
});

describe('what ops and auditors see', () => {
  it('lists data-found requests for ops, and counts every outcome in the report', async () => {
    const h = await withCompleted([
      { id: 'req-1', verification: dataFound },
      { id: 'req-2', verification: { stage: 'verified', attempt: 1 } },
      { id: 'req-3', verification: { stage: 'not-verified', attempt: 1, reason: 'scope-missing' } },
      { id: 'req-4', verification: { stage: 'pending', attempt: 1, dueAt: NOW } },
      { id: 'req-5' },
    ]);
    const token = await h.tokens.valid('ops', 'alice');
    const list = jsonOf<{ items: { requestId: string }[] }>(await h.opsApi(apiEvent({ method: 'GET', path: '/ops/requests', query: 'status=data-found', token })));
    expect(list.items.map((r) => r.requestId)).toEqual(['req-1']);
    const report = jsonOf<{ verification: Record<string, unknown> }>(await h.auditApi(apiEvent({ method: 'GET', path: '/audit/report', token: await h.tokens.valid('auditor', 'bob') })));
    expect(report.verification).toEqual({ verified: 1, dataFound: 1, notVerified: 1, pending: 1, notChosen: 1, notVerifiedByReason: { 'scope-missing': 1, 'budget-exhausted': 0, 'platform-error': 0 } });
    const dashboard = (await h.console(apiEvent({ method: 'GET', path: '/console', token }))).body ?? '';
    const section = dashboard.slice(dashboard.indexOf('Data found after completion'));
    expect(section).toContain('req-1');
    expect(section).toContain('data found (2 sessions in 1 bot)');
    expect(dashboard).toMatch(/<b class="bad">1<\/b>data found/);
  });
});
