/** The canary: each bot's last canary judged, the next one started unless the last still runs. */
import { describe, expect, it } from 'vitest';
import type { RequestStatus } from '../../../functions/domain/model';
import { detectSubjectKind, hashSubject, normaliseSubjectId } from '../../../functions/domain/subject';
import { runCanary, type CanaryDeps } from '../../../functions/workflow/run-canary';
import { InMemoryAuditStore } from '../../support/in-memory-audit-store';
import { FakeClaims } from '../../support/intake-fakes';
import { FakeWorkflow, MutableClock } from '../../support/staff-fakes';
import { keys, NOW } from './task-fixtures';

const CANARY_USER = 'canary@example.com';
const canaryHash = hashSubject(normaliseSubjectId(CANARY_USER, detectSubjectKind(CANARY_USER)), keys.hmacKey);

function canaryDeps(minutesLater = 0, store = new InMemoryAuditStore(), claims = new FakeClaims()): CanaryDeps & { store: InMemoryAuditStore; workflow: FakeWorkflow; claims: FakeClaims } {
  return { store, claims, workflow: new FakeWorkflow(), clock: new MutableClock(new Date(Date.parse(NOW) + minutesLater * 60_000)), subjectKeys: keys, canaryUserId: CANARY_USER, canaryBotIds: ['st-b', 'st-a', 'st-b'], maxCanarySeconds: 7200 };
}

/** Runs the canary once at NOW and moves its request for `st-a` to `status`. */
async function previousCanary(status: RequestStatus): Promise<{ deps: ReturnType<typeof canaryDeps>; requestId: string }> {
  const deps = canaryDeps();
  const { canaries } = await runCanary(deps);
  const requestId = canaries.find((c) => c.botId === 'st-a')!.startedRequestId!;
  const path: Partial<Record<RequestStatus, [string, RequestStatus][]>> = {
    COMPLETED: [['ERASURE_SUBMITTED', 'SUBMITTED'], ['ERASURE_COMPLETED', 'COMPLETED']],
    FAILED: [['ERASURE_SUBMITTED', 'SUBMITTED'], ['ERASURE_FAILED', 'FAILED']],
    SUBMITTED: [['ERASURE_SUBMITTED', 'SUBMITTED']],
  };
  for (const [type, to] of path[status] ?? []) await deps.store.advance(requestId, { type: type as never, actor: 'system:workflow', status: to, details: {} });
  return { deps, requestId };
}

describe('runCanary', () => {
  it('starts one canary per configured bot when none ran before: verified, queued and started, marked canary', async () => {
    const deps = canaryDeps();

    const report = await runCanary(deps);

    expect(report.failed).toBe(0);
    expect(report.canaries.map((c) => [c.botId, c.previous])).toEqual([
      ['st-a', 'none'],
      ['st-b', 'none'],
    ]);
    for (const { botId, startedRequestId } of report.canaries) {
      const request = (await deps.store.getRequest(startedRequestId!))!;
      expect(request).toMatchObject({ channel: 'canary', status: 'QUEUED', attempt: 1, scope: { botIds: [botId] }, scopeKey: botId, subjectHash: canaryHash });
      expect((await deps.store.getTimeline(startedRequestId!)).map((e) => e.type)).toEqual(['REQUEST_RECEIVED', 'IDENTITY_VERIFIED', 'ERASURE_QUEUED']);
    }
    expect(deps.workflow.starts).toHaveLength(2);
  });

  it.each([
    // previous status, minutes later, verdict, next started, previous ends as, failed bots (st-b's canary stays QUEUED)
    ['COMPLETED', 0, 'ok', true, 'COMPLETED', 0],
    ['FAILED', 0, 'failed', true, 'CANCELLED', 1],
    ['SUBMITTED', 60, 'running', false, 'SUBMITTED', 0],
    ['SUBMITTED', 121, 'failed', true, 'SUBMITTED', 2], // cannot be cancelled: only its claim is released
  ] as const)('judges a previous canary %s after %i min as %s', async (status, minutes, verdict, startsNext, previousEndsAs, failed) => {
    const { deps, requestId } = await previousCanary(status);
    const next = { ...deps, clock: new MutableClock(new Date(Date.parse(NOW) + minutes * 60_000 + 1)) };

    const report = await runCanary(next);

    const a = report.canaries.find((c) => c.botId === 'st-a')!;
    expect(a).toMatchObject({ previous: verdict, previousRequestId: requestId });
    expect(a.startedRequestId !== undefined).toBe(startsNext);
    expect(report.failed).toBe(failed);
    expect((await deps.store.getRequest(requestId))!.status).toBe(previousEndsAs);
    if (previousEndsAs === 'CANCELLED') expect((await deps.store.getTimeline(requestId)).find((e) => e.type === 'REQUEST_CANCELLED')!.details).toEqual({ reason: 'CANARY_SUPERSEDED' });
  });

  it('starts nothing for a bot whose claim another request holds', async () => {
    const deps = canaryDeps();
    await deps.claims.claimOpenRequest(canaryHash, 'st-a', 'req-other');

    const report = await runCanary(deps);

    expect(report.canaries.find((c) => c.botId === 'st-a')!.startedRequestId).toBeUndefined();
    expect(report.canaries.find((c) => c.botId === 'st-b')!.startedRequestId).toBeDefined();
  });
});
