import { describe, expect, it } from 'vitest';
import { canTransition } from '../../../functions/domain/lifecycle';
import { REQUEST_STATUSES, type AuditEventInput, type RequestStatus } from '../../../functions/domain/model';
import type { RequestPatch } from '../../../functions/domain/ports';
import { createWithHistory, makeRequest, subjectHashOf, TO_FAILED } from '../../support/staff-fakes';
import { apiEvent, createHarness, jsonOf, NOW, type Harness } from '../../support/staff-harness';

type Step = { type: AuditEventInput['type']; status: RequestStatus; patch?: RequestPatch };

/** A legal path from RECEIVED to each status. */
const PATHS: Record<RequestStatus, Step[]> = {
  RECEIVED: [],
  AWAITING_VERIFICATION: [{ type: 'VERIFICATION_SENT', status: 'AWAITING_VERIFICATION' }],
  VERIFIED: [{ type: 'IDENTITY_VERIFIED', status: 'VERIFIED' }],
  REJECTED: [
    { type: 'IDENTITY_VERIFIED', status: 'VERIFIED' },
    { type: 'REQUEST_REJECTED', status: 'REJECTED', patch: { rejection: { rule: 'BOT_OWNER', botIds: ['st-1'], source: 'snapshot' } } },
  ],
  QUEUED: [
    { type: 'IDENTITY_VERIFIED', status: 'VERIFIED' },
    { type: 'ERASURE_QUEUED', status: 'QUEUED', patch: { attempt: 1 } },
  ],
  SUBMITTED: [...TO_FAILED.slice(0, 4)],
  IN_PROGRESS: [...TO_FAILED.slice(0, 4), { type: 'STATUS_CHECKED', status: 'IN_PROGRESS' }],
  COMPLETED: [...TO_FAILED.slice(0, 4), { type: 'ERASURE_COMPLETED', status: 'COMPLETED', patch: { completedAt: '2026-02-25T00:00:00.000Z' } }],
  FAILED: [...TO_FAILED],
  TIMED_OUT: [...TO_FAILED.slice(0, 4), { type: 'ERASURE_TIMED_OUT', status: 'TIMED_OUT' }],
  CANCELLED: [{ type: 'REQUEST_CANCELLED', status: 'CANCELLED' }],
  EXPIRED: [
    { type: 'VERIFICATION_SENT', status: 'AWAITING_VERIFICATION' },
    { type: 'REQUEST_EXPIRED', status: 'EXPIRED' },
  ],
};

const RECEIVED_AT = '2026-02-20T10:00:00.000Z';

async function withRequest(status: RequestStatus, extra: Parameters<typeof createWithHistory>[1] = { requestId: 'req-1' }): Promise<Harness> {
  const h = await createHarness();
  await createWithHistory(h.store, { receivedAt: RECEIVED_AT, dueAt: '2026-03-20T10:00:00.000Z', subjectCipher: 'v1.cipher', ...extra }, PATHS[status]);
  return h;
}

async function act(h: Harness, action: string, body: Record<string, unknown> = { reason: 'because' }, id = 'req-1', sub = 'alice') {
  return h.opsApi(apiEvent({ method: 'POST', path: `/ops/requests/${id}/${action}`, body, token: await h.tokens.valid('ops', sub) }));
}

describe('retry', () => {
  it.each(['FAILED', 'TIMED_OUT'] as const)('starts a new attempt of a %s request, recording the actor and the reason', async (status) => {
    const h = await withRequest(status);
    const result = await act(h, 'retry', { reason: 'platform outage over' });
    expect(result.statusCode, result.body).toBe(200);
    expect(jsonOf(result)).toMatchObject({ request: { status: 'QUEUED', attempt: 2 }, started: true });
    const last = h.store.events.get('req-1')!.at(-1)!;
    expect(last).toMatchObject({ type: 'RETRY_REQUESTED', actor: 'staff:alice', attempt: 2, status: 'QUEUED', details: { reason: 'platform outage over', from: status } });
    expect(h.workflow.starts).toEqual([{ requestId: 'req-1', attempt: 2 }]);
  });

  it('resumes the Kore.ai job after a time-out instead of deleting again', async () => {
    const h = await withRequest('TIMED_OUT');
    await act(h, 'retry');
    expect(h.store.events.get('req-1')!.at(-1)!.details).toMatchObject({ resumesKoreJob: true });
    expect(h.store.requests.get('req-1')!.koreRequestId).toBe('eud-1');
  });

  it.each(REQUEST_STATUSES.filter((s) => s !== 'FAILED' && s !== 'TIMED_OUT'))('refuses to retry a %s request with 409 naming the status', async (status) => {
    const h = await withRequest(status);
    const before = h.store.events.get('req-1')!.length;
    const result = await act(h, 'retry');
    expect(result.statusCode).toBe(409);
    expect(jsonOf(result)).toMatchObject({ status: 409, currentStatus: status, title: `The request is ${status}` });
    expect(h.store.events.get('req-1')).toHaveLength(before);
    expect(h.workflow.starts).toEqual([]);
  });

  it('lets exactly one of many concurrent retries win: one new attempt, one workflow start', async () => {
    const h = await withRequest('FAILED');
    const token = await h.tokens.valid('ops', 'alice');
    const results = await Promise.all(
      Array.from({ length: 6 }, () => h.opsApi(apiEvent({ method: 'POST', path: '/ops/requests/req-1/retry', body: { reason: 'again' }, token }))),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.statusCode === 409)) expect(jsonOf(r).currentStatus).toBe('QUEUED');
    expect(h.workflow.starts).toEqual([{ requestId: 'req-1', attempt: 2 }]);
    expect(h.store.events.get('req-1')!.filter((e) => e.type === 'RETRY_REQUESTED')).toHaveLength(1);
  });

  it('keeps the request QUEUED for the sweeper when the workflow cannot be started', async () => {
    const h = await withRequest('FAILED');
    h.workflow.failStarts = true;
    const result = await act(h, 'retry');
    expect(result.statusCode).toBe(200);
    expect(jsonOf(result)).toMatchObject({ request: { status: 'QUEUED' }, started: false });
  });

  it.each([
    ['no reason', {}],
    ['a blank reason', { reason: '   ' }],
    ['a reason too long', { reason: 'x'.repeat(1001) }],
  ])('answers 400 for %s', async (_n, body) => {
    const h = await withRequest('FAILED');
    const result = await act(h, 'retry', body);
    expect(result.statusCode).toBe(400);
    expect(jsonOf<{ errors: { field: string }[] }>(result).errors[0]!.field).toBe('reason');
  });

  it('answers 404 for an unknown request', async () => {
    const h = await withRequest('FAILED');
    expect((await act(h, 'retry', { reason: 'x' }, 'nope')).statusCode).toBe(404);
  });
});

describe('bulk retry', () => {
  it('retries by ids and reports each outcome', async () => {
    const h = await createHarness();
    await createWithHistory(h.store, { requestId: 'f1' }, [...TO_FAILED]);
    await createWithHistory(h.store, { requestId: 't1' }, PATHS.TIMED_OUT);
    await createWithHistory(h.store, { requestId: 'c1' }, PATHS.COMPLETED);
    const result = await h.opsApi(apiEvent({ method: 'POST', path: '/ops/retry', body: { reason: 'outage', ids: ['f1', 't1', 'c1', 'missing'] }, token: await h.tokens.valid('ops', 'bob') }));
    expect(result.statusCode, result.body).toBe(200);
    expect(jsonOf(result).outcomes).toEqual([
      { requestId: 'f1', outcome: 'retried', status: 'QUEUED', attempt: 2, started: true },
      { requestId: 't1', outcome: 'retried', status: 'QUEUED', attempt: 2, started: true },
      { requestId: 'c1', outcome: 'conflict', status: 'COMPLETED' },
      { requestId: 'missing', outcome: 'not-found' },
    ]);
    expect(h.store.events.get('f1')!.at(-1)).toMatchObject({ actor: 'staff:bob', details: { reason: 'outage' } });
  });

  it('retries by status, at most the limit, and says when more are left', async () => {
    const h = await createHarness();
    for (let i = 0; i < 3; i++) await createWithHistory(h.store, { requestId: `f${i}`, receivedAt: `2026-01-0${i + 1}T00:00:00.000Z` }, [...TO_FAILED]);
    const result = await h.opsApi(apiEvent({ method: 'POST', path: '/ops/retry', body: { reason: 'outage', status: 'failed', limit: 2 }, token: await h.tokens.valid('ops') }));
    expect(jsonOf(result)).toMatchObject({ more: true, outcomes: [{ requestId: 'f0', outcome: 'retried' }, { requestId: 'f1', outcome: 'retried' }] });
  });

  it.each([
    ['more than 100 ids', { reason: 'r', ids: Array.from({ length: 101 }, (_, i) => `id${i}`) }],
    ['both ids and status', { reason: 'r', ids: ['a'], status: 'FAILED' }],
    ['neither ids nor status', { reason: 'r' }],
    ['a status that cannot be retried', { reason: 'r', status: 'COMPLETED' }],
  ])('answers 400 for %s', async (_n, body) => {
    const h = await createHarness();
    const result = await h.opsApi(apiEvent({ method: 'POST', path: '/ops/retry', body, token: await h.tokens.valid('ops') }));
    expect(result.statusCode).toBe(400);
  });
});

describe('cancel', () => {
  it.each(REQUEST_STATUSES)('cancels a %s request only where the lifecycle allows it', async (status) => {
    const h = await withRequest(status);
    const before = h.store.events.get('req-1')!.length;
    const result = await act(h, 'cancel', { reason: 'subject withdrew' });
    if (canTransition(status, 'CANCELLED')) {
      expect(result.statusCode, result.body).toBe(200);
      expect(jsonOf(result)).toMatchObject({ request: { status: 'CANCELLED' } });
      expect(h.store.events.get('req-1')!.at(-1)).toMatchObject({ type: 'REQUEST_CANCELLED', actor: 'staff:alice', details: { reason: 'subject withdrew', from: status } });
      expect(h.store.requests.get('req-1')!.subjectCipher).toBeUndefined();
    } else {
      expect(result.statusCode).toBe(409);
      expect(jsonOf(result).currentStatus).toBe(status);
      expect(h.store.events.get('req-1')).toHaveLength(before);
    }
  });
});

describe('re-check eligibility', () => {
  it('queues a REJECTED request whose subject is now eligible', async () => {
    const h = await withRequest('REJECTED');
    const result = await act(h, 'recheck', { reason: 'bots transferred' });
    expect(result.statusCode, result.body).toBe(200);
    expect(jsonOf(result)).toMatchObject({ eligible: true, started: true, request: { status: 'QUEUED', attempt: 1 } });
    expect(h.store.events.get('req-1')!.at(-1)).toMatchObject({
      type: 'RECHECK_REQUESTED',
      actor: 'staff:alice',
      details: { reason: 'bots transferred', eligibility: { eligible: true, snapshotVersion: 'snap-1', snapshotAgeSeconds: 3600 } },
    });
    expect(h.workflow.starts).toEqual([{ requestId: 'req-1', attempt: 1 }]);
  });

  it('records the decision and leaves a still-ineligible request REJECTED', async () => {
    const h = await withRequest('REJECTED');
    const hash = h.store.requests.get('req-1')!.subjectHash;
    h.snapshots.identities.set(hash, { subjectHash: hash, accountOwner: false, accountMember: true, ownedBotIds: [], coDeveloperBotIds: ['st-9'] });
    const result = await act(h, 'recheck', { reason: 'asked again' });
    expect(result.statusCode).toBe(200);
    expect(jsonOf(result)).toMatchObject({ eligible: false, request: { status: 'REJECTED', rejection: { rule: 'BOT_CO_DEVELOPER', botIds: ['st-9'] } } });
    expect(h.store.events.get('req-1')!.at(-1)).toMatchObject({
      type: 'ELIGIBILITY_CHECKED',
      status: 'REJECTED',
      actor: 'staff:alice',
      details: { reason: 'asked again', eligible: false, rule: 'BOT_CO_DEVELOPER', snapshotAgeSeconds: 3600 },
    });
    expect(h.workflow.starts).toEqual([]);
  });

  it.each(['FAILED', 'COMPLETED', 'QUEUED'] as const)('refuses to re-check a %s request with 409', async (status) => {
    const h = await withRequest(status);
    const result = await act(h, 'recheck');
    expect(result.statusCode).toBe(409);
    expect(jsonOf(result).currentStatus).toBe(status);
  });

  it('answers 503 while there is no roles snapshot', async () => {
    const h = await withRequest('REJECTED');
    h.snapshots.info = undefined;
    expect((await act(h, 'recheck')).statusCode).toBe(503);
  });
});

describe('extend the deadline', () => {
  it('moves the deadline to three months after receipt, records why and tells the subject', async () => {
    const h = await withRequest('IN_PROGRESS');
    const result = await act(h, 'extend', { reason: 'many bots involved' });
    expect(result.statusCode, result.body).toBe(200);
    expect(jsonOf(result)).toMatchObject({ notified: true, request: { dueAt: '2026-05-20T10:00:00.000Z', extended: { reason: 'many bots involved', by: 'staff:alice', at: NOW } } });
    expect(h.store.events.get('req-1')!.at(-1)).toMatchObject({
      type: 'DEADLINE_EXTENDED',
      status: 'IN_PROGRESS',
      actor: 'staff:alice',
      details: { reason: 'many bots involved', previousDueAt: '2026-03-20T10:00:00.000Z', dueAt: '2026-05-20T10:00:00.000Z' },
    });
    expect(h.notices.map((n) => [n.request.requestId, n.kind, n.details.reason])).toEqual([['req-1', 'extended', 'many bots involved']]);
  });

  it('refuses a second extension with 409', async () => {
    const h = await withRequest('IN_PROGRESS');
    await act(h, 'extend', { reason: 'first' });
    const again = await act(h, 'extend', { reason: 'second' });
    expect(again.statusCode).toBe(409);
    expect(jsonOf(again).detail).toMatch(/already been extended/);
    expect(h.notices).toHaveLength(1);
  });

  it('refuses once the first month has run out', async () => {
    const h = await withRequest('IN_PROGRESS');
    h.clock.set('2026-03-20T10:00:00.001Z');
    const result = await act(h, 'extend', { reason: 'late' });
    expect(result.statusCode).toBe(409);
    expect(jsonOf(result).detail).toMatch(/first month/);
  });

  it.each(['COMPLETED', 'CANCELLED', 'EXPIRED'] as const)('refuses for a %s request', async (status) => {
    const h = await withRequest(status);
    const result = await act(h, 'extend', { reason: 'x' });
    expect(result.statusCode).toBe(409);
    expect(jsonOf(result).currentStatus).toBe(status);
  });

  it('reports when the subject could not be told yet', async () => {
    const h = await withRequest('IN_PROGRESS');
    h.deps.notifySubject = async () => {
      throw new Error('mail down');
    };
    const api = (await import('../../../functions/adapters/http/staff/ops-api')).createOpsApi({ ...h.deps, auth: h.tokens.auth });
    const result = await api(apiEvent({ method: 'POST', path: '/ops/requests/req-1/extend', body: { reason: 'x' }, token: await h.tokens.valid('ops') }));
    expect(jsonOf(result)).toMatchObject({ notified: false, request: { extended: { reason: 'x' } } });
  });
});

describe('ops lists', () => {
  it('lists failed, timed out, stuck and overdue requests', async () => {
    const h = await createHarness();
    const old = '2026-01-05T00:00:00.000Z';
    h.store.seed([
      makeRequest({ requestId: 'failed', status: 'FAILED', receivedAt: '2026-02-01T13:00:00.000Z', dueAt: '2026-03-01T13:00:00.000Z' }),
      makeRequest({ requestId: 'canary-failed', status: 'FAILED', channel: 'canary', receivedAt: '2026-02-02T00:00:00.000Z', dueAt: '2026-03-02T00:00:00.000Z' }),
      makeRequest({ requestId: 'timed-out', status: 'TIMED_OUT', receivedAt: '2026-02-03T00:00:00.000Z', dueAt: '2026-03-03T00:00:00.000Z' }),
      makeRequest({ requestId: 'stuck-queued', status: 'QUEUED', attempt: 1, receivedAt: '2026-02-10T00:00:00.000Z', updatedAt: '2026-03-01T11:00:00.000Z', dueAt: '2026-03-10T00:00:00.000Z' }),
      makeRequest({ requestId: 'stuck-verified', status: 'VERIFIED', receivedAt: '2026-02-11T00:00:00.000Z', updatedAt: '2026-03-01T11:40:00.000Z', dueAt: '2026-03-11T00:00:00.000Z' }),
      makeRequest({ requestId: 'running', status: 'IN_PROGRESS', attempt: 1, receivedAt: '2026-02-12T00:00:00.000Z', updatedAt: '2026-03-01T10:00:00.000Z', dueAt: '2026-03-12T00:00:00.000Z' }),
      makeRequest({ requestId: 'fresh', status: 'QUEUED', attempt: 1, receivedAt: '2026-02-13T00:00:00.000Z', updatedAt: '2026-03-01T11:50:00.000Z', dueAt: '2026-03-13T00:00:00.000Z' }),
      makeRequest({ requestId: 'overdue', status: 'IN_PROGRESS', attempt: 1, receivedAt: old, updatedAt: '2026-03-01T11:59:00.000Z', dueAt: '2026-02-05T00:00:00.000Z' }),
      makeRequest({ requestId: 'done-late', status: 'COMPLETED', receivedAt: old, dueAt: '2026-02-05T00:00:00.000Z' }),
    ]);
    h.workflow.running.add('running-1');
    h.workflow.running.add('overdue-1');
    const token = await h.tokens.valid('ops');
    const ids = async (status: string) => {
      const result = await h.opsApi(apiEvent({ path: '/ops/requests', query: `status=${status}`, token }));
      expect(result.statusCode, result.body).toBe(200);
      return jsonOf<{ items: { requestId: string }[] }>(result).items.map((i) => i.requestId);
    };
    expect(await ids('failed')).toEqual(['failed', 'canary-failed']);
    expect(await ids('timed-out')).toEqual(['timed-out']);
    expect(await ids('stuck')).toEqual(['stuck-queued', 'stuck-verified']);
    expect(await ids('overdue')).toEqual(['overdue']);
    expect((await h.opsApi(apiEvent({ path: '/ops/requests', query: 'status=everything', token }))).statusCode).toBe(400);
  });
});

describe('roles refresh and submission on behalf', () => {
  it('refreshes the roles snapshot and reports it', async () => {
    const h = await createHarness();
    const result = await h.opsApi(apiEvent({ method: 'POST', path: '/ops/roles/refresh', body: { reason: 'ownership moved' }, token: await h.tokens.valid('ops') }));
    expect(result.statusCode).toBe(200);
    expect(jsonOf(result)).toMatchObject({ snapshot: { version: 'snap-2', takenAt: NOW }, snapshotAgeSeconds: 0 });
    expect(h.refreshes).toBe(1);
  });

  it('hands a submission on behalf to the intake with the staff actor', async () => {
    const seen: unknown[] = [];
    const h = await createHarness({
      submitOnBehalf: async (body, actor) => {
        seen.push([body, actor]);
        return { requestId: 'req-9', status: 'VERIFIED' };
      },
    });
    const result = await h.opsApi(apiEvent({ method: 'POST', path: '/ops/requests', body: { subject: 'x@y.example', reason: 'letter' }, token: await h.tokens.valid('ops', 'carol') }));
    expect(result.statusCode).toBe(202);
    expect(seen).toEqual([[{ subject: 'x@y.example', reason: 'letter' }, 'staff:carol']]);
  });
});

describe('the subject hash helper of the fakes', () => {
  it('hashes equal ids of another case alike (guards the fixtures themselves)', () => {
    expect(subjectHashOf('A@B.example')).toBe(subjectHashOf('a@b.example'));
  });
});
