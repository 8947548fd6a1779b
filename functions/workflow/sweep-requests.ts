/**
 * The sweeper: the scheduled safety net that moves on every request the happy path left behind.
 *
 * - QUEUED / SUBMITTED / IN_PROGRESS with no running execution: start the attempt's execution,
 *   or redrive it when it stopped (crash, Lambda failure) — the tasks pick up from the trail.
 * - VERIFIED for too long (the process died between verification and queueing): continue it.
 * - AWAITING_VERIFICATION past the link's lifetime: EXPIRED.
 * - RECEIVED for too long (intake died before the verification mail): CANCELLED; a request whose
 *   creation died before its first event (no audit record, only the encrypted address) is
 *   discarded and its claim released.
 * Before acting on a request it brings the request's projection up to its event chain: a process
 * that died between appending an event and updating the projection leaves the projection behind
 * (e.g. IN_PROGRESS under an ERASURE_COMPLETED event), and only the chain is the truth.
 * It also counts overdue requests, for the alarm.
 */
import { isOverdue } from '../domain/deadlines';
import { IllegalTransitionError } from '../domain/errors';
import { FINAL_STATUSES, isFinal } from '../domain/lifecycle';
import { REQUEST_STATUSES, type ErasureRequest, type RequestStatus } from '../domain/model';
import type { AuditStore, Clock, Logger, OpenRequestClaims, WorkflowStarter } from '../domain/ports';
import { endForGood } from './task-deps';

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
  logger?: Logger;
}

export interface SweepReport {
  /** Projections found behind their chain and brought up to date. */
  repaired: number;
  /** Creations that died before their first event, removed with their claim. */
  discarded: number;
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

/** The statuses the happy path moves on by itself, so a request can be left behind in them. */
const SWEPT_STATUSES: readonly RequestStatus[] = ['RECEIVED', 'AWAITING_VERIFICATION', 'VERIFIED', 'QUEUED', 'SUBMITTED', 'IN_PROGRESS'];

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
  const report: SweepReport = { repaired: 0, discarded: 0, reminded: 0, started: 0, redriven: 0, continued: 0, expired: 0, cancelled: 0, overdue: 0, errors: 0 };
  const now = deps.clock.now();
  const olderThan = (request: ErasureRequest, seconds: number) => now.getTime() - Date.parse(request.updatedAt) >= seconds * 1000;
  const end = async (request: ErasureRequest, to: 'EXPIRED' | 'CANCELLED', reason: string) => {
    const { request: ended } = await deps.store.appendEvent(request.requestId, (current) => {
      if (current.status !== request.status) throw new IllegalTransitionError(current.status, to);
      return {
        event: { type: to === 'EXPIRED' ? 'REQUEST_EXPIRED' : 'REQUEST_CANCELLED', at: now.toISOString(), actor: ACTOR, attempt: current.attempt, status: to, details: { reason } },
      };
    });
    await endForGood(deps, ended);
    if (to === 'EXPIRED') report.expired++;
    else report.cancelled++;
  };

  /** What the sweeper does for a request, by the status its chain says it is in. */
  const handle = async (request: ErasureRequest) => {
    switch (request.status) {
      case 'QUEUED':
      case 'SUBMITTED':
      case 'IN_PROGRESS': {
        if (!olderThan(request, deps.stuckAfterSeconds)) return;
        const state = await deps.workflow.executionState(request.requestId, request.attempt);
        if (state === 'RUNNING') return;
        if (state === 'NONE') {
          await deps.workflow.startErasure(request.requestId, request.attempt);
          report.started++;
        } else {
          await deps.workflow.redrive(request.requestId, request.attempt);
          report.redriven++;
        }
        return;
      }
      case 'VERIFIED':
        if (!olderThan(request, deps.stuckAfterSeconds)) return;
        await deps.continueVerified(request.requestId);
        report.continued++;
        return;
      case 'AWAITING_VERIFICATION':
        if (olderThan(request, deps.verificationTtlSeconds)) await end(request, 'EXPIRED', 'NEVER_VERIFIED');
        else if (deps.remindUnverified && (await deps.remindUnverified(request.requestId))) report.reminded++;
        return;
      case 'RECEIVED':
        if (!olderThan(request, deps.receivedStaleSeconds)) return;
        if (request.lastSeq > 0) await end(request, 'CANCELLED', 'INTAKE_INTERRUPTED');
        else if (await deps.store.discardUnfinishedRequest(request.requestId)) {
          await deps.claims.releaseOpenRequest(request.subjectHash, request.scopeKey, request.requestId);
          report.discarded++;
        }
        return;
      default:
        // The chain says the request has ended: its end-of-life steps, in case a crash skipped them.
        if (isFinal(request.status)) await endForGood(deps, request);
    }
  };

  // Every request the happy path may have left behind, read as its chain says it is: a projection
  // a crashed writer left behind is repaired first, and the request is handled by its true status.
  for (const status of SWEPT_STATUSES) {
    for await (const listed of allWithStatus(deps.store, status)) {
      try {
        const { request, repaired } = await deps.store.repairProjection(listed.requestId);
        if (repaired) report.repaired++;
        await handle(request);
      } catch (error) {
        report.errors++;
        deps.logger?.warn('sweep step failed', { requestId: listed.requestId, status: listed.status, error: error instanceof Error ? error.name : 'Error' });
      }
    }
  }

  for (const status of REQUEST_STATUSES.filter((s) => !FINAL_STATUSES.includes(s))) {
    for await (const request of allWithStatus(deps.store, status)) {
      if (request.channel !== 'canary' && isOverdue(request.dueAt, now, request.status)) report.overdue++;
    }
  }
  return report;
}
