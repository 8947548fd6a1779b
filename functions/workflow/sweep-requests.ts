/**
 * The sweeper: the scheduled safety net that moves on every request the happy path left behind.
 *
 * - QUEUED / SUBMITTED / IN_PROGRESS with no running execution: start the attempt's execution,
 *   or redrive it when it stopped (crash, Lambda failure) — the tasks pick up from the trail.
 * - VERIFIED for too long (the process died between verification and queueing): continue it.
 * - AWAITING_VERIFICATION past the link's lifetime: EXPIRED.
 * - RECEIVED for too long (intake died before the verification mail): CANCELLED.
 * Before acting on a request it brings the request's projection up to its event chain: a process
 * that died between appending an event and updating the projection leaves the projection behind
 * (e.g. IN_PROGRESS under an ERASURE_COMPLETED event), and only the chain is the truth.
 * It also counts overdue requests, for the alarm.
 */
import { isOverdue } from '../domain/deadlines';
import { FINAL_STATUSES, isFinal } from '../domain/lifecycle';
import { REQUEST_STATUSES, type ErasureRequest, type RequestStatus } from '../domain/model';
import type { AuditStore, Clock, OpenRequestClaims, WorkflowStarter } from '../domain/ports';
import { endForGood } from './erasure-tasks';

export interface SweepDeps {
  store: AuditStore;
  workflow: WorkflowStarter;
  claims: OpenRequestClaims;
  clock: Clock;
  /** Eligibility check and queueing of a VERIFIED request (the intake's second half). */
  continueVerified(requestId: string): Promise<void>;
  /** Sends a request awaiting verification its link once more, when the intake's rules say so. */
  remindUnverified?(requestId: string): Promise<boolean>;
  /** A request untouched this long is considered stuck (0 at start-up: nothing survived). */
  stuckAfterSeconds: number;
  /** Lifetime of a verification link. */
  verificationTtlSeconds: number;
  /** RECEIVED this long without a verification mail means the intake was interrupted. */
  receivedStaleSeconds: number;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

export interface SweepReport {
  /** Projections found behind their chain and brought up to date. */
  repaired: number;
  /** Verification links sent once more to requests still awaiting verification. */
  reminded: number;
  started: number;
  redriven: number;
  continued: number;
  expired: number;
  cancelled: number;
  overdue: number;
  errors: number;
}

const ACTOR = 'system:sweeper' as const;

async function* allWithStatus(store: AuditStore, status: RequestStatus): AsyncGenerator<ErasureRequest> {
  let cursor: string | undefined;
  do {
    const page = await store.listByStatus({ status, limit: 200, cursor });
    yield* page.items;
    cursor = page.cursor;
  } while (cursor);
}

/** One pass of the sweeper. Errors on one request are counted and logged by name; the pass goes on. */
export async function sweepRequests(deps: SweepDeps): Promise<SweepReport> {
  const report: SweepReport = { repaired: 0, reminded: 0, started: 0, redriven: 0, continued: 0, expired: 0, cancelled: 0, overdue: 0, errors: 0 };
  const now = deps.clock.now();
  const olderThan = (request: ErasureRequest, seconds: number) => now.getTime() - Date.parse(request.updatedAt) >= seconds * 1000;
  /**
   * Runs `work` on the request as its chain says it is. A projection that lagged is repaired first;
   * when the chain had already moved the request on, there is nothing to do here this round — but a
   * request that has in fact ended gets its end-of-life steps (plain id dropped, claim released).
   */
  const guarded = async (listed: ErasureRequest, work: (request: ErasureRequest) => Promise<void>) => {
    try {
      const { request, repaired } = await deps.store.repairProjection(listed.requestId);
      if (repaired) report.repaired++;
      if (request.status !== listed.status) {
        if (isFinal(request.status)) await endForGood(deps, request);
        return;
      }
      await work(request);
    } catch (error) {
      report.errors++;
      deps.log?.('sweep step failed', { requestId: listed.requestId, status: listed.status, error: error instanceof Error ? error.name : 'Error' });
    }
  };

  for (const status of ['QUEUED', 'SUBMITTED', 'IN_PROGRESS'] as const) {
    for await (const request of allWithStatus(deps.store, status)) {
      if (!olderThan(request, deps.stuckAfterSeconds)) continue;
      await guarded(request, async (current) => {
        const state = await deps.workflow.executionState(current.requestId, current.attempt);
        if (state === 'RUNNING') return;
        if (state === 'NONE') {
          await deps.workflow.startErasure(current.requestId, current.attempt);
          report.started++;
        } else {
          await deps.workflow.redrive(current.requestId, current.attempt);
          report.redriven++;
        }
      });
    }
  }

  for await (const request of allWithStatus(deps.store, 'VERIFIED')) {
    if (!olderThan(request, deps.stuckAfterSeconds)) continue;
    await guarded(request, async (current) => {
      await deps.continueVerified(current.requestId);
      report.continued++;
    });
  }

  const endStale = async (status: 'AWAITING_VERIFICATION' | 'RECEIVED', to: 'EXPIRED' | 'CANCELLED', ageSeconds: number, reason: string) => {
    for await (const request of allWithStatus(deps.store, status)) {
      if (!olderThan(request, ageSeconds)) continue;
      await guarded(request, async (listed) => {
        const { request: ended } = await deps.store.appendEvent(listed.requestId, (current) => {
          if (current.status !== status) throw new Error('moved on');
          return {
            event: {
              type: to === 'EXPIRED' ? 'REQUEST_EXPIRED' : 'REQUEST_CANCELLED',
              at: now.toISOString(),
              actor: ACTOR,
              attempt: current.attempt,
              status: to,
              details: { reason },
            },
          };
        });
        await endForGood(deps, ended);
        if (to === 'EXPIRED') report.expired++;
        else report.cancelled++;
      });
    }
  };
  await endStale('AWAITING_VERIFICATION', 'EXPIRED', deps.verificationTtlSeconds, 'NEVER_VERIFIED');
  if (deps.remindUnverified) {
    for await (const request of allWithStatus(deps.store, 'AWAITING_VERIFICATION')) {
      await guarded(request, async (current) => {
        if (await deps.remindUnverified!(current.requestId)) report.reminded++;
      });
    }
  }
  await endStale('RECEIVED', 'CANCELLED', deps.receivedStaleSeconds, 'INTAKE_INTERRUPTED');

  for (const status of REQUEST_STATUSES.filter((s) => !FINAL_STATUSES.includes(s))) {
    for await (const request of allWithStatus(deps.store, status)) {
      if (request.channel !== 'canary' && isOverdue(request.dueAt, now, request.status)) report.overdue++;
    }
  }
  return report;
}
