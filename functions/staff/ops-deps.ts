/**
 * Ops use cases: what needs attention (failed, timed out, stuck, overdue, needs review), and the actions that
 * fix it without touching the database — retry, cancel, re-check eligibility, extend a deadline,
 * revoke a request's status links, refresh the roles snapshot; one action a file beside this one.
 * Every action on a request is an audit event carrying the staff actor and the reason; a
 * conflicting action is refused with 409 naming the current status.
 *
 * This module: what the actions need, their lists and limits, and the rules they share.
 */
import { ReasonRequiredError, StatusConflictError } from '../domain/errors';
import { extendDeadline } from '../domain/deadlines';
import { canTransition, isFinal } from '../domain/lifecycle';
import { verificationNeedsSubjectId } from '../domain/verification';
import type { ErasureRequest, RequestStatus, SnapshotInfo } from '../domain/model';
import type { SnapshotReader, WorkflowStarter } from '../domain/ports';
import { type AuditDeps } from './audit-deps';
import { type Logger } from '../domain/ports';

export interface OpsDeps extends AuditDeps {
  workflow: WorkflowStarter;
  snapshots: SnapshotReader;
  /** Tells the subject about a change of their request (mail + NOTICE_SENT); owned by the notices code. */
  notifySubject: (request: ErasureRequest, kind: 'extended', details: { reason: string }) => Promise<void>;
  /** Rebuilds the privileged-identity snapshot now and says which one is current. */
  refreshRolesSnapshot: () => Promise<SnapshotInfo>;
  /** A request untouched this long in VERIFIED/QUEUED/SUBMITTED/IN_PROGRESS with no running execution is stuck. Default 15 min. */
  stuckAfterMs?: number;
  logger?: Logger;
}

export const OPS_LISTS = ['failed', 'timed-out', 'stuck', 'overdue', 'needs-review', 'data-found'] as const;

export type OpsList = (typeof OPS_LISTS)[number];

export const DEFAULT_STUCK_AFTER_MS = 15 * 60_000;

/** Most requests one bulk retry touches. */
export const MAX_BULK = 100;

export const RETRYABLE: readonly RequestStatus[] = ['FAILED', 'TIMED_OUT'];

export function requireReason(reason: string | undefined): string {
  const trimmed = (reason ?? '').trim();
  if (trimmed === '') {
    throw new ReasonRequiredError();
  }
  return trimmed;
}

export function conflict(current: RequestStatus, what: string): StatusConflictError {
  return new StatusConflictError(current, what);
}

export interface ActionResult {
  request: ErasureRequest;
}

/** Which ops actions the lifecycle allows for a request now (for the console's buttons). */
export function allowedActions(
  request: Pick<ErasureRequest, 'status' | 'receivedAt' | 'dueAt' | 'extended'> & Partial<Pick<ErasureRequest, 'verification' | 'subjectCipher'>>,
  now: Date,
): { retry: boolean; cancel: boolean; recheck: boolean; extend: boolean; 'revoke-links': boolean; verify: boolean } {
  let extend = false;
  if (!isFinal(request.status) && !request.extended) {
    try {
      extendDeadline(request.receivedAt, request.dueAt, now, 'probe');
      extend = true;
    } catch {
      extend = false;
    }
  }
  return {
    retry: RETRYABLE.includes(request.status) || (request.status === 'COMPLETED' && canTransition('COMPLETED', 'QUEUED', request)),
    cancel: canTransition(request.status, 'CANCELLED'),
    recheck: request.status === 'REJECTED',
    extend,
    // Any request may have had its status link forwarded.
    'revoke-links': true,
    verify: canVerifyNow(request),
  };
}

/**
 * "Verify now" reads a COMPLETED erasure back at once; it needs the subject id, which a completed
 * request keeps exactly while its verification waits or found data (listings do not show the id).
 */
export function canVerifyNow(request: Partial<Pick<ErasureRequest, 'status' | 'verification'>>): boolean {
  return request.status === 'COMPLETED' && verificationNeedsSubjectId(request.verification);
}
