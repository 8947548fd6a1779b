/**
 * The sweeper, status by status: what it does with a request the happy path left behind, by how
 * long it has been untouched and what its execution says; plus discarding half-created requests,
 * ending for good what a crash left, and counting overdue requests.
 */
import { describe, expect, it } from 'vitest';
import type { ErasureRequest, RequestStatus } from '../../../functions/domain/model';
import type { ExecutionState, WorkflowStarter } from '../../../functions/domain/ports';
import { sweepRequests, type SweepDeps, type SweepReport } from '../../../functions/workflow/sweep-requests';
import { InMemoryAuditStore } from '../../support/in-memory-audit-store';
import { createWithHistory, makeRequest, MutableClock } from '../../support/staff-fakes';
import { arrange, NOW, RecordingClaims } from './task-fixtures';
import { recordingLogger } from '../../support/recording-logger';

/** A workflow whose executions are in the state a test sets; it remembers starts and redrives. */
class ScriptedWorkflow implements WorkflowStarter {
  readonly calls: string[] = [];
  constructor(private readonly state: ExecutionState) {}
  async startErasure(requestId: string, attempt: number) {
    this.calls.push(`start ${requestId}-${attempt}`);
    return { started: true, executionId: `${requestId}-${attempt}` };
  }
  async isRunning() {
    return this.state === 'RUNNING';
  }
  async executionState() {
    return this.state;
  }
  async redrive(requestId: string, attempt: number) {
    this.calls.push(`redrive ${requestId}-${attempt}`);
  }
}

const MINUTE = 60_000;

function sweepDeps(store: InMemoryAuditStore, minutesLater: number, overrides: Partial<SweepDeps> = {}): SweepDeps & { continued: string[]; reminded: string[]; claims: RecordingClaims; workflow: ScriptedWorkflow } {
  const continued: string[] = [];
  const reminded: string[] = [];
  return {
    store,
    workflow: new ScriptedWorkflow('NONE'),
    claims: new RecordingClaims(),
    clock: new MutableClock(new Date(Date.parse(NOW) + minutesLater * MINUTE)),
    continueVerified: async (id) => void continued.push(id),
    remindUnverified: async (id) => (reminded.push(id), true),
    stuckAfterSeconds: 10 * 60,
    verificationTtlSeconds: 60 * 60,
    receivedStaleSeconds: 30 * 60,
    continued,
    reminded,
    ...overrides,
  } as SweepDeps & { continued: string[]; reminded: string[]; claims: RecordingClaims; workflow: ScriptedWorkflow };
}

const EMPTY: SweepReport = { repaired: 0, discarded: 0, reminded: 0, started: 0, redriven: 0, continued: 0, expired: 0, cancelled: 0, overdue: 0, errors: 0 };

/** A request walked to `status` by real events, last touched at NOW. */
async function inStatus(status: RequestStatus): Promise<{ store: InMemoryAuditStore; request: ErasureRequest }> {
  if (status === 'QUEUED' || status === 'SUBMITTED' || status === 'IN_PROGRESS') {
    const { store, requestId } = await arrange(status);
    return { store, request: (await store.getRequest(requestId))! };
  }
  const store = new InMemoryAuditStore({ clock: new MutableClock(new Date(NOW)) });
  const path = { RECEIVED: [], AWAITING_VERIFICATION: [{ type: 'VERIFICATION_SENT', status: 'AWAITING_VERIFICATION' }], VERIFIED: [{ type: 'IDENTITY_VERIFIED', status: 'VERIFIED' }] } as const;
  const request = await createWithHistory(store, { requestId: 'req-0001', receivedAt: '2026-02-20T12:00:00.000Z', subjectCipher: 'cipher' }, [...path[status as keyof typeof path]]);
  return { store, request };
}

describe('sweepRequests', () => {
  it.each([
    // status, minutes untouched, execution, what happens, report
    ['QUEUED', 5, 'NONE', [], {}],
    ['QUEUED', 11, 'NONE', ['start req-0001-1'], { started: 1 }],
    ['SUBMITTED', 11, 'RUNNING', [], {}],
    ['SUBMITTED', 11, 'FAILED', ['redrive req-0001-1'], { redriven: 1 }],
    ['IN_PROGRESS', 11, 'TIMED_OUT', ['redrive req-0001-1'], { redriven: 1 }],
    ['IN_PROGRESS', 11, 'NONE', ['start req-0001-1'], { started: 1 }],
  ] as const)('%s untouched %i min with execution %s: %j', async (status, minutes, execution, calls, counts) => {
    const { store } = await inStatus(status);
    const deps = sweepDeps(store, minutes, { workflow: new ScriptedWorkflow(execution) });

    expect(await sweepRequests(deps)).toEqual({ ...EMPTY, ...counts });
    expect((deps.workflow as ScriptedWorkflow).calls).toEqual(calls);
  });

  it.each([
    [5, [], {}],
    [11, ['req-0001'], { continued: 1 }],
  ] as const)('continues a VERIFIED request untouched %i min: %j', async (minutes, continued, counts) => {
    const { store } = await inStatus('VERIFIED');
    const deps = sweepDeps(store, minutes);

    expect(await sweepRequests(deps)).toEqual({ ...EMPTY, ...counts });
    expect(deps.continued).toEqual(continued);
  });

  it('reminds a subject whose link is still valid, and expires the request once it is not', async () => {
    const { store, request } = await inStatus('AWAITING_VERIFICATION');
    const early = sweepDeps(store, 30);
    expect(await sweepRequests(early)).toEqual({ ...EMPTY, reminded: 1 });
    expect(early.reminded).toEqual([request.requestId]);

    const late = sweepDeps(store, 61);
    expect(await sweepRequests(late)).toEqual({ ...EMPTY, expired: 1 });
    expect(await store.getRequest(request.requestId)).toMatchObject({ status: 'EXPIRED' });
    expect((await store.getTimeline(request.requestId)).slice(-2).map((e) => [e.type, e.details])).toEqual([
      ['REQUEST_EXPIRED', { reason: 'NEVER_VERIFIED' }],
      ['SUBJECT_ID_DROPPED', {}],
    ]);
    expect(late.claims.released).toEqual([request.requestId]);
  });

  it('cancels a RECEIVED request the intake left behind, only once it is stale', async () => {
    const { store, request } = await inStatus('RECEIVED');
    expect(await sweepRequests(sweepDeps(store, 29))).toEqual(EMPTY);

    expect(await sweepRequests(sweepDeps(store, 31))).toEqual({ ...EMPTY, cancelled: 1 });
    expect((await store.getTimeline(request.requestId)).map((e) => e.type)).toContain('REQUEST_CANCELLED');
  });

  it('discards a creation that died before its first event, releasing its claim', async () => {
    const store = new InMemoryAuditStore({ clock: new MutableClock(new Date(NOW)) });
    store.seed([makeRequest({ requestId: 'req-half', updatedAt: NOW, receivedAt: NOW })]);
    const deps = sweepDeps(store, 31);

    expect(await sweepRequests(deps)).toEqual({ ...EMPTY, discarded: 1 });
    expect(await store.getRequest('req-half')).toBeUndefined();
    expect(deps.claims.released).toEqual(['req-half']);
  });

  it('counts overdue open requests, not canaries', async () => {
    const { store } = await inStatus('QUEUED');
    await arrange('QUEUED', { store, requestId: 'req-canary' });
    store.requests.set('req-canary', { ...store.requests.get('req-canary')!, channel: 'canary' });
    const deps = sweepDeps(store, 60 * 24 * 40, { workflow: new ScriptedWorkflow('RUNNING') });

    expect((await sweepRequests(deps)).overdue).toBe(1);
  });

  it('counts a failing step, logs it by name and goes on with the others', async () => {
    const { store } = await inStatus('VERIFIED');
    await arrange('QUEUED', { store, requestId: 'req-0002' });
    const logger = recordingLogger();
    const deps = sweepDeps(store, 11, {
      continueVerified: async () => Promise.reject(Object.assign(new Error('boom alice@example.com'), { name: 'StoreUnavailableError' })),
      logger,
    });

    expect(await sweepRequests(deps)).toEqual({ ...EMPTY, errors: 1, started: 1 });
    expect(logger.lines).toEqual([{ level: 'warn', message: 'sweep step failed', requestId: 'req-0001', status: 'VERIFIED', error: 'StoreUnavailableError' }]);
  });
});
