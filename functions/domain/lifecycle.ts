/**
 * The request lifecycle: every legal transition, in one table, each named by the audit event
 * that records it. Anything not in the table is illegal and throws.
 *
 * RECEIVED → AWAITING_VERIFICATION → VERIFIED → (REJECTED | QUEUED) → SUBMITTED → IN_PROGRESS →
 * (COMPLETED | FAILED | TIMED_OUT), plus CANCELLED and EXPIRED.
 * FAILED and TIMED_OUT can be retried (back to QUEUED, a new attempt); REJECTED can be re-checked
 * (back to QUEUED once the subject is eligible, e.g. after an ownership transfer). COMPLETED can be
 * retried only when reading the platform back found the data still there (`data-found`): the one
 * transition that needs a fact of the request besides its status.
 */
import { IllegalTransitionError } from './errors';
import type { AuditEventType, RequestStatus } from './model';

interface Transition {
  from: RequestStatus;
  to: RequestStatus;
  event: AuditEventType;
  /** A transition that starts a new attempt (attempt + 1). */
  newAttempt?: boolean;
  /** Legal only for a request whose completed erasure was read back with its data still found. */
  onlyAfterDataFound?: true;
}

/** The facts of a request besides its status that a transition may depend on. */
export interface TransitionFacts {
  verification?: { stage: string };
}

function allowedBy(transition: Transition, facts: TransitionFacts | undefined): boolean {
  return !transition.onlyAfterDataFound || facts?.verification?.stage === 'data-found';
}

/** The one place where legal moves are listed. */
export const TRANSITIONS: readonly Transition[] = [
  { from: 'RECEIVED', to: 'AWAITING_VERIFICATION', event: 'VERIFICATION_SENT' },
  // Submission on behalf: staff checked the identity themselves.
  { from: 'RECEIVED', to: 'VERIFIED', event: 'IDENTITY_VERIFIED' },
  { from: 'RECEIVED', to: 'CANCELLED', event: 'REQUEST_CANCELLED' },
  { from: 'AWAITING_VERIFICATION', to: 'VERIFIED', event: 'IDENTITY_VERIFIED' },
  { from: 'AWAITING_VERIFICATION', to: 'EXPIRED', event: 'REQUEST_EXPIRED' },
  { from: 'AWAITING_VERIFICATION', to: 'CANCELLED', event: 'REQUEST_CANCELLED' },
  { from: 'VERIFIED', to: 'QUEUED', event: 'ERASURE_QUEUED', newAttempt: true },
  { from: 'VERIFIED', to: 'REJECTED', event: 'REQUEST_REJECTED' },
  { from: 'VERIFIED', to: 'CANCELLED', event: 'REQUEST_CANCELLED' },
  // The workflow re-checks eligibility and the platform may refuse the DELETE itself.
  { from: 'QUEUED', to: 'REJECTED', event: 'REQUEST_REJECTED' },
  { from: 'QUEUED', to: 'SUBMITTED', event: 'ERASURE_SUBMITTED' },
  { from: 'QUEUED', to: 'FAILED', event: 'ERASURE_FAILED' },
  { from: 'QUEUED', to: 'CANCELLED', event: 'REQUEST_CANCELLED' },
  { from: 'SUBMITTED', to: 'IN_PROGRESS', event: 'STATUS_CHECKED' },
  { from: 'SUBMITTED', to: 'COMPLETED', event: 'ERASURE_COMPLETED' },
  { from: 'SUBMITTED', to: 'FAILED', event: 'ERASURE_FAILED' },
  { from: 'SUBMITTED', to: 'TIMED_OUT', event: 'ERASURE_TIMED_OUT' },
  { from: 'IN_PROGRESS', to: 'COMPLETED', event: 'ERASURE_COMPLETED' },
  { from: 'IN_PROGRESS', to: 'FAILED', event: 'ERASURE_FAILED' },
  { from: 'IN_PROGRESS', to: 'TIMED_OUT', event: 'ERASURE_TIMED_OUT' },
  { from: 'FAILED', to: 'QUEUED', event: 'RETRY_REQUESTED', newAttempt: true },
  { from: 'FAILED', to: 'CANCELLED', event: 'REQUEST_CANCELLED' },
  { from: 'TIMED_OUT', to: 'QUEUED', event: 'RETRY_REQUESTED', newAttempt: true },
  { from: 'TIMED_OUT', to: 'CANCELLED', event: 'REQUEST_CANCELLED' },
  { from: 'REJECTED', to: 'QUEUED', event: 'RECHECK_REQUESTED', newAttempt: true },
  { from: 'REJECTED', to: 'CANCELLED', event: 'REQUEST_CANCELLED' },
  // The platform said SUCCESS but its data was read back still there: ops erase again.
  { from: 'COMPLETED', to: 'QUEUED', event: 'RETRY_REQUESTED', newAttempt: true, onlyAfterDataFound: true },
];

/** Statuses nothing leaves: the request has ended for good (COMPLETED unless its data was found still there). */
export const FINAL_STATUSES: readonly RequestStatus[] = ['COMPLETED', 'CANCELLED', 'EXPIRED'];

/** Statuses that wait for staff (retry, re-check or cancel). */
export const NEEDS_ACTION_STATUSES: readonly RequestStatus[] = ['FAILED', 'TIMED_OUT', 'REJECTED'];

/** Statuses in which the workflow (or the sweeper) is expected to be moving the request on. */
export const ACTIVE_WORKFLOW_STATUSES: readonly RequestStatus[] = ['QUEUED', 'SUBMITTED', 'IN_PROGRESS'];

/** True once nothing can happen to the request any more; the plain subject id is dropped then. */
export function isFinal(status: RequestStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** The transition from `from` to `to` for a request with `facts`, or undefined when there is none. */
export function findTransition(from: RequestStatus, to: RequestStatus, facts?: TransitionFacts): Transition | undefined {
  return TRANSITIONS.find((t) => t.from === from && t.to === to && allowedBy(t, facts));
}

/** True when the lifecycle allows moving from `from` to `to` (for a request with `facts`). */
export function canTransition(from: RequestStatus, to: RequestStatus, facts?: TransitionFacts): boolean {
  return findTransition(from, to, facts) !== undefined;
}

/**
 * The transition from `from` to `to` for a request with `facts`.
 * @throws IllegalTransitionError when the lifecycle does not allow it.
 */
export function assertTransition(from: RequestStatus, to: RequestStatus, facts?: TransitionFacts): Transition {
  const transition = findTransition(from, to, facts);
  if (!transition) throw new IllegalTransitionError(from, to);
  return transition;
}

/** The statuses reachable in one step from `from` (for a request with `facts`). */
export function nextStatuses(from: RequestStatus, facts?: TransitionFacts): RequestStatus[] {
  return TRANSITIONS.filter((t) => t.from === from && allowedBy(t, facts)).map((t) => t.to);
}
